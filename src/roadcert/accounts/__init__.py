"""Users, roles, web sessions, API tokens and the access policy every page and route applies."""

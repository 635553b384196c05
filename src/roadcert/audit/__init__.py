"""Audit events: who viewed, downloaded, verified or changed what, and when."""

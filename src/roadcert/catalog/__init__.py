"""The nine certificate types, their face items and the code tables."""

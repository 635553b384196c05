"""Payload codec and verification of e-certs."""

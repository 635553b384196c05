"""Faces of e-certs: PDF, PNG, QR and seal pictures."""

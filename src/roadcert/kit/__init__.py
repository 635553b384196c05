"""Identifiers, codecs and other pure rules: no I/O."""

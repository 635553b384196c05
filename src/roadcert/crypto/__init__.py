"""SM2/SM3/SM4, deterministic CBOR, X.509 certificates and the key store."""

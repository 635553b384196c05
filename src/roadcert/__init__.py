"""roadcert — 道路运输电子证照: road-transport ledger, SM2-signed e-certs, verification."""

__version__ = "0.1.0"

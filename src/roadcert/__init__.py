"""roadcert — 道路运输电子证照: the road-transport ledger, SM2-signed e-certs and their verification."""

__version__ = "0.1.0"

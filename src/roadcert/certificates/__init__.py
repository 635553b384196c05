"""E-cert issuance, versions, lifecycle and data quality."""

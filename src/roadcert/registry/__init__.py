"""The ledger (运政台账): authorities, operators, licences, vehicles, practitioners."""

"""Plain-data views of results, shared by the API and the CLI."""

from __future__ import annotations

from typing import Any

from roadcert.certificates.models import Ecert
from roadcert.certificates.operations import Outcome
from roadcert.certificates.service import Effect
from roadcert.db import Base
from roadcert.registry.quality import Finding
from roadcert.registry.service import snapshot

__all__ = ["ecert_summary", "effect", "finding", "outcome", "snapshot"]


def ecert_summary(ecert: Ecert) -> dict[str, Any]:
    """The short form of an e-cert used in lists."""
    return {
        "id": ecert.id,
        "identifier": ecert.identifier,
        "type_code": ecert.type_code,
        "version": ecert.version,
        "status": ecert.status,
        "number": ecert.number,
        "holder_name": ecert.holder_name,
        "holder_code": ecert.holder_code,
        "valid_until": ecert.valid_until.isoformat(),
        "operation": ecert.operation,
    }


def finding(f: Finding) -> dict[str, Any]:
    """A data-quality finding."""
    return {
        "field": f.field,
        "rule": f.rule,
        "message": f.message,
        "value": f.value,
        "severity": str(f.severity),
    }


def effect(e: Effect) -> dict[str, Any]:
    """What an operation did to e-certs."""
    return {
        "issued": [ecert_summary(x) for x in e.issued],
        "revoked": [ecert_summary(x) for x in e.revoked],
        "suspended": [ecert_summary(x) for x in e.suspended],
        "refused": [r.to_dict() for r in e.refused],
    }


def outcome(o: Outcome) -> dict[str, Any]:
    """A business operation's result."""
    record: Any = o.record
    return {
        "record": snapshot(record) if isinstance(record, Base) else record,
        "findings": [finding(f) for f in o.findings],
        "ecerts": effect(o.effect),
    }

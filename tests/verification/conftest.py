"""Helpers for the verification tests: real e-certs, their codes, offline bundles, pictures.

E-certs are issued through the services a clerk uses (``tests/factories.py``), their codes signed
by the authority's real SM2 signing key (``verification/codes.py``), and the offline bundle is
what ``roadcert keys export``, ``trust-list export`` and ``status-list export`` write.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image, ImageFilter
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from roadcert.certificates.models import Ecert
from roadcert.certificates.operations import Outcome
from roadcert.certificates.status import build_status_list
from roadcert.crypto import x509
from roadcert.crypto.trustlist import build_trust_list
from roadcert.registry.models import Authority, Operator
from roadcert.runtime import Services
from roadcert.verification import codes
from roadcert.verification.service import Verification, verify_cose
from roadcert.verification.sources import OfflineSource, OnlineSource, load_offline
from tests import factories as f

PARTS = ("signature", "issuer", "status", "validity", "identifier")
KINDS = ("008", "013", "071")  # one type of each group: licence, vehicle, qualification


@dataclass
class Issued:
    """A freshly issued e-cert and the ledger records behind it."""

    authority: Authority
    operator: Operator | None
    outcome: Outcome
    ecert: Ecert

    @property
    def record_id(self) -> int:
        """The id of the licence, vehicle or practitioner."""
        return int(self.outcome.record.id)


def issue(
    svc: Services, kind: str = "008", authority: Authority | None = None, **fields: Any
) -> Issued:
    """Issue one e-cert of ``kind`` (008 licence, 013 vehicle, 071 qualification) for real."""
    auth = authority or f.authority(svc)
    if kind == "071":
        outcome = f.practitioner(svc, auth, **fields)
        operator = None
    else:
        operator = f.operator(svc, auth)
        if kind == "008":
            outcome = f.licence(svc, auth, operator, **fields)
        else:
            licence = f.licence(svc, auth, operator).record
            outcome = f.vehicle(svc, auth, operator, licence, **fields)
    (ecert,) = outcome.effect.issued
    assert ecert.type_code.endswith(kind)
    return Issued(auth, operator, outcome, ecert)


def code(svc: Services, ecert: Ecert) -> bytes:
    """The e-cert's COSE_Sign1 code, signed now by its authority's signing key."""
    return codes.code_for(svc, ecert)


def text(svc: Services, ecert: Ecert) -> str:
    """The text of the e-cert's QR code."""
    return codes.text_for(svc, ecert, svc.keys.settings.verify_host)


def now() -> datetime:
    """The real time: the key hierarchy is created at it, so lists are built at it too."""
    return datetime.now(UTC)


def online(svc: Services, cose: bytes, at: datetime | None = None) -> Verification:
    """Verify against the database."""
    return verify_cose(cose, OnlineSource(svc), at or now())


def results(verification: Verification) -> dict[str, str]:
    """The five results by name."""
    return {name: str(getattr(verification, name).result) for name in PARTS}


def assert_all_ok(verification: Verification, ecert: Ecert | None = None) -> None:
    """Every part good, and the face data the code carries is the e-cert's."""
    assert results(verification) == {
        "signature": "VALID",
        "issuer": "TRUSTED",
        "status": "VALID",
        "validity": "VALID",
        "identifier": "VALID",
    }, verification.to_dict()
    assert verification.ok
    data = verification.to_dict()
    assert data["ok"] is True and set(PARTS) <= set(data)
    if ecert is not None:
        face = data["face"]
        assert face["identifier"] == ecert.identifier
        assert face["number"] == ecert.number
        assert face["holder_name"] == ecert.holder_name
        assert face["holder_code"] == ecert.holder_code
        assert face["valid_from"] == ecert.valid_from.isoformat()
        assert face["valid_until"] == ecert.valid_until.isoformat()
        assert face["type_code"] == ecert.type_code
        assert verification.claims is not None
        assert verification.claims.status_index == ecert.status_index


# -- offline ---------------------------------------------------------------------------------------


@dataclass
class Bundle:
    """What an offline verifier holds: trust list, the root (PEM of all trusted), status lists."""

    trust: bytes
    root_pem: bytes
    status: list[bytes] = field(default_factory=list)
    at: datetime = field(default_factory=now)


def bundle(svc: Services, *authorities: Authority, at: datetime | None = None) -> Bundle:
    """Export the lists as the CLI and the API do, at ``at`` (default: now)."""
    moment = at or now()
    settings = svc.keys.settings
    trust = build_trust_list(
        svc.session, svc.keys, moment, moment + timedelta(seconds=settings.trust_list_ttl)
    )
    # As `roadcert keys export` prints it: the root first, then every trusted certificate.
    pem = "".join(x509.to_pem(k.certificate) for k in svc.keys.trusted()).encode()
    lists = [
        build_status_list(svc.session, a, svc.keys, moment, settings.status_list_ttl)
        for a in authorities
    ]
    return Bundle(trust, pem, lists, moment)


@contextmanager
def no_database(svc: Services) -> Iterator[list[str]]:
    """Record every SQL statement sent on the test's connection or any new one of its engine."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    connection = svc.session.connection()
    targets: list[Connection | Engine] = [connection, connection.engine]
    for target in targets:
        event.listen(target, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        for target in targets:
            event.remove(target, "before_cursor_execute", record)


def offline(
    svc: Services, data: Bundle, cose: bytes, at: datetime | None = None
) -> tuple[Verification, OfflineSource]:
    """Load the bundle and verify with it, proving the database is not touched."""
    moment = at or data.at
    with no_database(svc) as statements:
        source = load_offline(data.trust, data.root_pem, data.status, moment)
        result = verify_cose(cose, source, moment)
    assert statements == [], statements
    assert result.mode == "offline"
    return result, source


# -- pictures --------------------------------------------------------------------------------------


def photo_of(png: bytes, *, scale: float = 1.13, angle: float = 3.0, quality: int = 72) -> bytes:
    """A JPEG like a phone photo of a code: scaled, slightly turned, blurred, on grey paper."""
    picture = Image.open(io.BytesIO(png)).convert("L")
    width, height = picture.size
    picture = picture.resize(
        (round(width * scale), round(height * scale)), Image.Resampling.BICUBIC
    )
    picture = picture.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    picture = picture.filter(ImageFilter.GaussianBlur(0.7))
    paper = Image.new("L", (picture.width + 120, picture.height + 90), 200)
    paper.paste(picture, (70, 40))
    buffer = io.BytesIO()
    paper.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def pdf_without_ecert() -> bytes:
    """A real one-page PDF (Pillow's writer) that carries no e-cert."""
    buffer = io.BytesIO()
    Image.new("RGB", (200, 100), (250, 250, 250)).save(buffer, format="PDF")
    return buffer.getvalue()

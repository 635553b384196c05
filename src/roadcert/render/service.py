"""Render an e-cert version's face on demand: its data, photo, freshly signed code and seal."""

from __future__ import annotations

from roadcert.catalog.types import CATALOGUE, ValueKind
from roadcert.certificates.models import Ecert
from roadcert.kit import regions
from roadcert.render import faces
from roadcert.runtime import Services
from roadcert.verification import codes, payload


def face_for(svc: Services, ecert: Ecert) -> faces.FaceDocument:
    """The face document of ``ecert``, with a code signed now and embedded in the PDF."""
    settings = svc.keys.settings
    describe = svc.issuance.describe(ecert, with_signature=False)
    photo: bytes | None = None
    for item in CATALOGUE[ecert.type_code].face:
        digest = ecert.face.get(item.key)
        if item.kind is ValueKind.PHOTO and digest:
            stored = svc.ledger.repo.photo_by_sm3(str(digest))
            photo = stored.content if stored else None
    cose = codes.code_for(svc, ecert)
    province = regions.name_of(settings.province_code) or ""
    return faces.face_document(
        describe, photo, payload.to_text(cose, settings.verify_host), province, cose
    )


def render(svc: Services, ecert: Ecert, fmt: str) -> bytes:
    """The face as ``pdf`` or ``png`` bytes."""
    document = face_for(svc, ecert)
    return faces.render_pdf(document) if fmt == "pdf" else faces.render_png(document)

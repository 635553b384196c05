"""One e-cert as a page: its face, print, save as PDF. For whoever may see it (policy)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from roadcert.accounts.policy import Principal, ensure_view_ecert
from roadcert.accounts.web import Caller, Svc
from roadcert.audit.web import record_ecert_event
from roadcert.catalog.types import CATALOGUE
from roadcert.certificates.models import Ecert
from roadcert.portal.pages import render
from roadcert.render.service import render as render_face
from roadcert.runtime import Services

router = APIRouter(prefix="/ecerts", include_in_schema=False)


def _visible(svc: Services, caller: Principal, ref: str) -> Ecert:
    ecert = svc.issuance.get(ref)
    ensure_view_ecert(caller, ecert.authority_id, ecert.holder_code)
    return ecert


def ecert_context(svc: Services, ecert: Ecert) -> dict[str, Any]:
    """What the e-cert page shows beside the face."""
    return {
        "title": CATALOGUE[ecert.type_code].name,
        "identifier": ecert.identifier,
        "type_name": CATALOGUE[ecert.type_code].name,
        "number": ecert.number,
        "holder_name": ecert.holder_name,
        "version": f"{ecert.version:03d}",
        "status": svc.issuance.effective_status(ecert).label,
        "valid_from": ecert.valid_from.isoformat(),
        "valid_until": ecert.valid_until.isoformat(),
        "issued_at": ecert.issued_at.strftime("%Y-%m-%d"),
        "activated_at": ecert.activated_at.strftime("%Y-%m-%d %H:%M")
        if ecert.activated_at
        else None,
    }


@router.get("/{ref}", response_class=HTMLResponse)
def ecert_page(request: Request, svc: Svc, caller: Caller, ref: str) -> HTMLResponse:
    ecert = _visible(svc, caller, ref)
    record_ecert_event(svc, request, caller, ecert, "certificates:ecert:viewed", via="page")
    return render(request, caller, "ecert.html", ecert_context(svc, ecert))


@router.get("/{ref}/face.png")
def ecert_face(svc: Svc, caller: Caller, ref: str) -> Response:
    ecert = _visible(svc, caller, ref)
    return Response(
        render_face(svc, ecert, "png"),
        media_type="image/png",
        headers={"Cache-Control": "private, no-store"},
    )


@router.get("/{ref}/download.pdf")
def ecert_download(request: Request, svc: Svc, caller: Caller, ref: str) -> Response:
    ecert = _visible(svc, caller, ref)
    data = render_face(svc, ecert, "pdf")
    record_ecert_event(svc, request, caller, ecert, "certificates:ecert:downloaded", format="pdf")
    name = f"{ecert.number}.pdf".replace('"', "")
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"ecert.pdf\"; filename*=UTF-8''{quote(name)}"
            ),
            "Cache-Control": "private, no-store",
        },
    )

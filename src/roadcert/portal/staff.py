"""Pages of an issuing authority's clerk (and the provincial admin): ledgers and e-certs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from roadcert.accounts.policy import Principal, authority_scope
from roadcert.accounts.web import Staff, Svc
from roadcert.catalog.types import CATALOGUE
from roadcert.certificates.models import EcertStatus
from roadcert.portal.pages import render
from roadcert.runtime import Services

router = APIRouter(prefix="/staff", include_in_schema=False)
PAGE_SIZE = 20


def ecert_list_context(
    svc: Services, caller: Principal, page: int, type_code: str | None
) -> dict[str, Any]:
    """One page of the e-certs of the clerk's authority (all of them for the admin)."""
    scope = authority_scope(caller)
    rows = svc.issuance.repo.search(
        type_code=type_code or None,
        authority_id=scope,
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE + 1,
    )
    return {
        "title": "电子证照",
        "type_code": type_code or "",
        "types": [(code, t.name) for code, t in CATALOGUE.items()],
        "counts": svc.issuance.repo.count_by_status(),
        "status_labels": {s.value: s.label for s in EcertStatus},
        "rows": [
            {
                "identifier": e.identifier,
                "type_name": CATALOGUE[e.type_code].name,
                "number": e.number,
                "holder_name": e.holder_name,
                "version": f"{e.version:03d}",
                "status": svc.issuance.effective_status(e).label,
                "valid_until": e.valid_until.isoformat(),
            }
            for e in rows[:PAGE_SIZE]
        ],
        "page": page,
        "has_next": len(rows) > PAGE_SIZE,
    }


@router.get("/ecerts", response_class=HTMLResponse)
def ecert_list(
    request: Request, svc: Svc, caller: Staff, page: int = 1, type_code: str | None = None
) -> HTMLResponse:
    context = ecert_list_context(svc, caller, max(page, 1), type_code)
    return render(request, caller, "staff_ecerts.html", context)

"""Pages. Views build a context dict; Jinja2 templates render it in Chinese."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from roadcert.catalog.types import CATALOGUE
from roadcert.certificates.models import EcertStatus
from roadcert.deps import get_services
from roadcert.runtime import Services

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
Svc = Annotated[Services, Depends(get_services)]
PAGE_SIZE = 100


def ecert_list_context(svc: Services, page: int, type_code: str | None) -> dict[str, Any]:
    """The e-cert list: one page of current e-certs with their Chinese status."""
    rows = svc.issuance.repo.search(
        type_code=type_code or None, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    return {
        "title": "电子证照",
        "page": page,
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
            for e in rows
        ],
        "has_next": len(rows) == PAGE_SIZE,
    }


@router.get("/", response_class=HTMLResponse)
def ecert_list(
    request: Request, svc: Svc, page: int = 1, type_code: str | None = None
) -> HTMLResponse:
    context = ecert_list_context(svc, max(page, 1), type_code)
    return templates.TemplateResponse(request, "ecerts.html", context)

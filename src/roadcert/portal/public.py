"""The public query pages and API (证照信息查询): no account, masked answers, rate limited.

``/query`` (a form posted back to itself, so that ID numbers and plates stay out of URLs and
server logs) and ``GET /api/public/query`` answer the same masked data (``registry/public.py``)
under the same per-IP limit (``portal/ratelimit.py``). The query text is never echoed back.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from roadcert.accounts.policy import Principal
from roadcert.accounts.web import MaybeCaller, Svc, client_ip
from roadcert.catalog import codes
from roadcert.errors import RoadcertError
from roadcert.portal.pages import render
from roadcert.portal.ratelimit import RateLimited, RateLimiter
from roadcert.registry.public import (
    MAX_QUERY_CHARS,
    NOT_FOUND,
    PublicQuery,
    PublicQueryService,
    QueryKind,
    parse_query,
)
from roadcert.runtime import Services

router = APIRouter()
QUERY_TAG = "public:query:run"
NO_STORE = {"Cache-Control": "no-store"}
KIND_DOC = "operator 经营业户 | vehicle 营运车辆 | practitioner 从业人员"
Q_DOC = "统一社会信用代码或业户全称、车牌号码、从业资格证号（完全一致）"
COLOUR_DOC = "车牌颜色代码（仅车辆，可省略）"


def run_query(
    svc: Services,
    request: Request,
    principal: Principal | None,
    kind: str | None,
    text: str | None,
    plate_color: str | None,
) -> tuple[PublicQuery, list[dict[str, Any]]]:
    """Check the limit, then the input, run the query and count it against the client.

    Only queries that ran are counted: a refused or mistyped one costs the client nothing.
    """
    ip = client_ip(request)
    RateLimiter(svc.session, QUERY_TAG, svc.audit.clock).check(ip)
    query = parse_query(kind, text, plate_color)
    results = PublicQueryService(svc.session, svc.issuance).run(query)
    svc.audit.record(
        QUERY_TAG,
        principal.actor if principal else "公众",
        f"query:{query.kind.value}",
        user_id=principal.user_id if principal else None,
        client_ip=ip,
        kind=query.kind.value,
        found=len(results),
    )
    return query, results


def query_context(
    kind: str | None,
    query: PublicQuery | None = None,
    results: list[dict[str, Any]] | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """The query page: the form (never refilled with the query text) and the masked results."""
    selected = query.kind.value if query else kind if kind in set(QueryKind) else "operator"
    return {
        "title": "证照信息查询",
        "kinds": [(k.value, k.label, k.hint) for k in QueryKind],
        "kind": selected,
        "plate_colors": codes.PlateColor.choices(),
        "max_chars": MAX_QUERY_CHARS,
        "ran": query is not None,
        "kind_label": query.kind.label if query else "",
        "results": results or [],
        "not_found": NOT_FOUND,
        "error": error,
    }


@router.get("/query", response_class=HTMLResponse, include_in_schema=False)
def query_form(request: Request, principal: MaybeCaller, kind: str | None = None) -> HTMLResponse:
    """The empty query form."""
    return render(request, principal, "query.html", query_context(kind))


@router.post("/query", response_class=HTMLResponse, include_in_schema=False)
def query_page(
    request: Request,
    svc: Svc,
    principal: MaybeCaller,
    kind: Annotated[str, Form()] = "",
    q: Annotated[str, Form()] = "",
    plate_color: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Run a query from the form. No CSRF token: it changes nothing but the client's count,
    which a page of another site could spend as well through the GET API."""
    try:
        query, results = run_query(svc, request, principal, kind, q, plate_color)
    except RateLimited as exc:
        page = render(request, principal, "query.html", query_context(kind, error=exc.message), 429)
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    except RoadcertError as exc:
        return render(
            request, principal, "query.html", query_context(kind, error=exc.message), exc.status
        )
    page = render(request, principal, "query.html", query_context(kind, query, results))
    page.headers.update(NO_STORE)
    return page


@router.get("/api/public/query", tags=["public 公众查询"], summary="证照信息查询（脱敏）")
def query_api(
    request: Request,
    svc: Svc,
    principal: MaybeCaller,
    kind: Annotated[str | None, Query(description=KIND_DOC)] = None,
    q: Annotated[str | None, Query(description=Q_DOC)] = None,
    plate_color: Annotated[str | None, Query(description=COLOUR_DOC)] = None,
) -> Response:
    """Masked facts and e-cert status of one operator, vehicle or practitioner.

    At most 10 queries a minute and 200 a day per client address: beyond that 429
    ``{code: "rate_limited", message}`` with a ``Retry-After`` header.
    """
    try:
        query, results = run_query(svc, request, principal, kind, q, plate_color)
    except RateLimited as exc:
        return JSONResponse(
            exc.to_dict(), status_code=exc.status, headers={"Retry-After": str(exc.retry_after)}
        )
    body = {
        "kind": query.kind.value,
        "kind_label": query.kind.label,
        "count": len(results),
        "results": results,
        "message": None if results else NOT_FOUND,
    }
    return JSONResponse(body, headers=NO_STORE)

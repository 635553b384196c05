"""Pages both holder roles share — 授权共享 and 访问记录 — and the pages their disclosures open
for others: a grantee's ``/shared/{token}`` and the ``/S/{code}`` page that checks a 亮证 code.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from roadcert.accounts.policy import Principal
from roadcert.accounts.web import Holder, MaybeCaller, Svc, client_ip
from roadcert.catalog.types import CATALOGUE
from roadcert.errors import BadInput, RoadcertError
from roadcert.portal.pages import redirect, render
from roadcert.registry.schemas import RecordId
from roadcert.render.service import render as render_face
from roadcert.runtime import Services
from roadcert.sharing.api import check_and_record, grant_answer, sharing
from roadcert.sharing.service import (
    ACCESS_LOG_LIMIT,
    GRANT_DURATIONS,
    GrantAccess,
    ShowCheck,
    china_time,
    ecert_rows,
    photo_of,
)
from roadcert.sharing.showing import ShowCodeRefused
from roadcert.verification.masking import sees_full_data

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store"}


# -- 访问记录 ------------------------------------------------------------------------------------


@router.get("/me/access", response_class=HTMLResponse)
def access_log(request: Request, svc: Svc, caller: Holder) -> HTMLResponse:
    rows = sharing(svc, request).access_log(caller)
    context = {"title": "访问记录", "rows": rows, "limit": ACCESS_LOG_LIMIT}
    return render(request, caller, "me_access.html", context)


# -- 授权共享 ------------------------------------------------------------------------------------


def shares_context(
    svc: Services, request: Request, caller: Principal, chosen: str | None
) -> dict[str, Any]:
    """The holder's grants and the form for a new one."""
    service = sharing(svc, request)
    certificates = [e for e in service.certificates(caller) if e.current_key is not None]
    return {
        "title": "授权共享",
        "grants": service.grants(caller),
        "certificates": [
            {
                "identifier": e.identifier,
                "label": f"{CATALOGUE[e.type_code].name}（{e.number}）",
            }
            for e in certificates
        ],
        "durations": GRANT_DURATIONS,
        "form": {"ecert": chosen or "", "grantee": "", "purpose": "", "hours": 24},
        "error": None,
        "new_link": None,
    }


@router.get("/me/shares", response_class=HTMLResponse)
def shares(request: Request, svc: Svc, caller: Holder, ecert: str | None = None) -> HTMLResponse:
    if ecert:
        sharing(svc, request).owned(caller, ecert)  # another holder's identifier: 403
    return render(request, caller, "me_shares.html", shares_context(svc, request, caller, ecert))


@router.post("/me/shares", response_class=HTMLResponse)
def create_share(
    request: Request,
    svc: Svc,
    caller: Holder,
    ecert: Annotated[str, Form(max_length=200)] = "",
    grantee: Annotated[str, Form(max_length=200)] = "",
    purpose: Annotated[str, Form(max_length=400)] = "",
    hours: Annotated[str, Form(max_length=10)] = "",
) -> HTMLResponse:
    form = {"ecert": ecert, "grantee": grantee, "purpose": purpose, "hours": hours}
    try:
        if not ecert:
            raise BadInput("请选择要共享的证照", code="share.ecert", field="ecert")
        if not hours.strip().isdigit():
            raise BadInput("请选择授权期限", code="share.duration", field="hours")
        grant, token = sharing(svc, request).create_grant(
            caller, ecert, grantee, purpose, int(hours), client_ip(request)
        )
    except BadInput as exc:
        context = shares_context(svc, request, caller, ecert) | {"error": exc.message, "form": form}
        return render(request, caller, "me_shares.html", context, status_code=exc.status)
    context = shares_context(svc, request, caller, None) | {
        "new_link": str(request.base_url) + f"shared/{token}",
        "new_grantee": grant.grantee,
        "flash": f"已授权 {grant.grantee} 查看，有效至 {china_time(grant.expires_at)}",
        "flash_kind": "ok",
    }
    page = render(request, caller, "me_shares.html", context)
    page.headers.update(NO_STORE)  # the link is in this page only: never cache it
    return page


@router.post("/me/shares/{grant_id}/withdraw")
def withdraw_share(request: Request, svc: Svc, caller: Holder, grant_id: RecordId) -> Response:
    grant = sharing(svc, request).withdraw(caller, grant_id, client_ip(request))
    return redirect("/me/shares", f"已撤回对 {grant.grantee} 的授权")


# -- what a grantee sees -----------------------------------------------------------------------

REFUSALS = {
    "withdrawn": "该授权已被持证人撤回，不能查看证照",
    "expired": "该授权已过期，不能查看证照",
    "unknown": "授权链接无效（地址不完整或不存在）",
}


def shared_context(svc: Services, access: GrantAccess, token: str) -> dict[str, Any]:
    """A live grant: the whole certificate; otherwise the refusal and a masked summary."""
    if access.live and access.grant is not None and access.ecert is not None:
        return {
            "title": "授权查看电子证照",
            "banner": (
                f"{access.ecert.holder_name} 授权 {access.grant.grantee} 查看，"
                f"有效至 {china_time(access.grant.expires_at)}"
            ),
            "purpose": access.grant.purpose,
            "ecert": ecert_rows(svc, access.ecert, full=True),
            "face_url": f"/shared/{token}/face.png",
        }
    summary = ecert_rows(svc, access.ecert, full=False) if access.ecert is not None else None
    return {
        "title": "无法查看",
        "message": REFUSALS.get(access.state, REFUSALS["unknown"]),
        "state": access.state,
        "summary": summary if access.state != "unknown" else None,
    }


@router.get("/shared/{token}", response_class=HTMLResponse)
def shared(request: Request, svc: Svc, caller: MaybeCaller, token: str) -> HTMLResponse:
    # Answered, not raised: a refusal is recorded, and raising would roll the record back.
    access = sharing(svc, request).open_grant(token, client_ip(request))
    context = shared_context(svc, access, token)
    if access.live:
        page = render(request, caller, "shared.html", context)
    else:
        status, _ = grant_answer(svc, access)
        page = render(request, caller, "shared_refused.html", context, status_code=status)
    page.headers.update(NO_STORE)
    return page


@router.get("/shared/{token}/face.png")
def shared_face(request: Request, svc: Svc, token: str) -> Response:
    # The page's own picture: opening the page was the recorded access.
    access = sharing(svc, request).open_grant(token, record=False)
    if not access.live or access.ecert is None:
        raise RoadcertError(REFUSALS.get(access.state, ""), code="share.refused", status=403)
    png = render_face(svc, access.ecert, "png")
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, no-store"})


# -- checking a 亮证 code ------------------------------------------------------------------------


def showcheck_context(
    svc: Services,
    principal: Principal | None,
    result: ShowCheck | None,
    error: RoadcertError | None,
) -> dict[str, Any]:
    """What the check page shows: the verdict, the separate results, the certificate data."""
    if result is None:
        return {
            "title": "亮证核验",
            "ok": False,
            "headline": error.message if error else "不是本系统的亮证码",
            "detail": (error.details.get("detail") if error else None) or "",
            "parts": [],
            "ecert": None,
            "photo": None,
            "full": False,
        }
    full = sees_full_data(principal)
    ecert = ecert_rows(svc, result.ecert, full=full) if result.ecert is not None else None
    photo = None
    if full and result.ecert is not None:
        found = photo_of(svc, result.ecert)
        if found is not None:
            content, media_type = found
            photo = f"data:{media_type};base64," + base64.b64encode(content).decode("ascii")
    shown = (
        {
            "issued": china_time(result.claims.issued_at),
            "expires": china_time(result.claims.expires_at),
        }
        if result.claims
        else None
    )
    return {
        "title": "亮证核验",
        "ok": result.ok,
        "headline": result.headline,
        "detail": "",
        "parts": [(name, part.to_dict()) for _, name, part in result.parts],
        "ecert": ecert,
        "photo": photo,
        "full": full,
        "shown": shown,
    }


@router.get("/S/{data}", response_class=HTMLResponse)
def check_show_code(request: Request, svc: Svc, caller: MaybeCaller, data: str) -> HTMLResponse:
    """The page a 亮证 code's URL opens (a phone camera, or the officer's scan page)."""
    try:
        result = check_and_record(svc, request, caller, data)
    except ShowCodeRefused as exc:
        context = showcheck_context(svc, caller, None, exc)
        return render(request, caller, "showcheck.html", context, status_code=exc.status)
    page = render(request, caller, "showcheck.html", showcheck_context(svc, caller, result, None))
    page.headers.update(NO_STORE)
    return page

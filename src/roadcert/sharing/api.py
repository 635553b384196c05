"""JSON API of sharing: show codes (make and check), grants, and a grantee's access by link."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from roadcert.accounts.policy import Principal
from roadcert.accounts.web import Holder, MaybeCaller, Svc, client_ip
from roadcert.audit.web import record_ecert_event
from roadcert.registry.schemas import RecordId
from roadcert.render import qr
from roadcert.runtime import Services
from roadcert.sharing.service import (
    MAX_GRANT_HOURS,
    MIN_GRANT_HOURS,
    GrantAccess,
    SharingService,
    ShowCheck,
    ShowCode,
    ecert_rows,
)
from roadcert.verification.masking import sees_full_data

router = APIRouter(tags=["sharing 亮证与授权共享"])

Ref = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
#: Pixels per QR module of the PNG a showing page displays (a version-11 code is 345 px wide).
SHOW_QR_SCALE = 5


class ShowCodeIn(BaseModel):
    """Make a show code for one of the caller's e-certs."""

    model_config = ConfigDict(extra="forbid")
    ecert: Ref = Field(description="证照标识（或编号 id）")
    refresh: bool = Field(
        False, description="true：showing page refreshing its code; not recorded again as 亮证"
    )


class ShowCodeCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[str, StringConstraints(max_length=2000)] = Field(description="亮证码内容")


class GrantIn(BaseModel):
    """Let a named party see one certificate for a while (seed 002 §6.3)."""

    model_config = ConfigDict(extra="forbid")
    ecert: Ref
    grantee: Annotated[str, StringConstraints(max_length=200)]
    purpose: Annotated[str, StringConstraints(max_length=400)] = ""
    hours: int = Field(ge=MIN_GRANT_HOURS, le=MAX_GRANT_HOURS, description="1 小时至 30 天")


def sharing(svc: Services, request: Request) -> SharingService:
    """The sharing service of this request, on the app's clock."""
    return SharingService(svc, request.app.state.runtime.clock)


def show_code_payload(code: ShowCode) -> dict[str, Any]:
    """A show code as the showing page needs it: the text, times and the QR as a PNG."""
    png = qr.encode_png(code.text, scale=SHOW_QR_SCALE)
    return code.to_dict() | {
        "png": "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
        "qr_version": qr.version_of(code.text),
    }


def check_and_record(
    svc: Services, request: Request, principal: Principal | None, text: str
) -> ShowCheck:
    """Check a show code; a good one is also a verification of the e-cert (which activates it)."""
    actor = principal.actor if principal else "公众"
    service = sharing(svc, request)
    # On SQLite the request's transaction holds the write lock from its start (db.py: BEGIN
    # IMMEDIATE), so racing checks queue; the unique nonce decides on both databases.
    result = service.check_show_code(text, actor, client_ip(request))
    if result.ok and result.ecert is not None:
        record_ecert_event(
            svc, request, principal, result.ecert, "verification:ecert:verified", via="show_code"
        )
    return result


def grant_answer(svc: Services, access: GrantAccess) -> tuple[int, dict[str, Any]]:
    """The JSON answer for a grant link: the certificate if live, a masked summary if not."""
    if access.live and access.grant is not None and access.ecert is not None:
        return 200, {
            "state": access.state,
            "grantee": access.grant.grantee,
            "expires_at": access.grant.expires_at.isoformat(),
            "ecert": svc.issuance.describe(access.ecert),
        }
    if access.state == "unknown" or access.ecert is None:
        return 404, {"code": "share.unknown", "message": "授权链接无效"}
    words = "已撤回" if access.state == "withdrawn" else "已过期"
    return 403, {
        "code": f"share.{access.state}",
        "message": f"该授权{words}，不能查看证照",
        "summary": ecert_rows(svc, access.ecert, full=False),
    }


@router.post("/api/show-codes", summary="生成亮证码（持证主体本人；约 45 秒内有效）")
def make_show_code(
    request: Request, response: Response, svc: Svc, caller: Holder, body: ShowCodeIn
) -> dict[str, Any]:
    response.headers["Cache-Control"] = "no-store"
    service = sharing(svc, request)
    code = service.make_show_code(caller, body.ecert)
    if not body.refresh:
        ecert = service.owned(caller, body.ecert)
        record_ecert_event(svc, request, caller, ecert, "sharing:ecert:shown", via="api")
    return show_code_payload(code)


@router.post("/api/show-codes/verify", summary="核验亮证码（执法人员见完整信息，公众见脱敏信息）")
def verify_show_code(
    request: Request, svc: Svc, caller: MaybeCaller, body: ShowCodeCheckIn
) -> dict[str, Any]:
    result = check_and_record(svc, request, caller, body.text)
    out = result.to_dict()
    if result.ecert is not None:
        out["ecert"] = ecert_rows(svc, result.ecert, full=sees_full_data(caller))
    return out


@router.get("/api/me/access", summary="我的访问记录：谁查看、下载、核验或经授权查看了我的证照")
def access_log(request: Request, svc: Svc, caller: Holder) -> list[dict[str, Any]]:
    return sharing(svc, request).access_log(caller)


@router.get("/api/shares", summary="我的授权共享")
def list_grants(request: Request, svc: Svc, caller: Holder) -> list[dict[str, Any]]:
    return sharing(svc, request).grants(caller)


@router.post("/api/shares", status_code=201, summary="授权他人查看一本证照（链接只返回一次）")
def create_grant(request: Request, svc: Svc, caller: Holder, body: GrantIn) -> dict[str, Any]:
    service = sharing(svc, request)
    grant, token = service.create_grant(
        caller, body.ecert, body.grantee, body.purpose, body.hours, client_ip(request)
    )
    return service.describe_grant(grant) | {
        "token": token,
        "url": str(request.base_url) + f"shared/{token}",
    }


@router.delete("/api/shares/{grant_id}", summary="撤回授权")
def withdraw_grant(
    request: Request, svc: Svc, caller: Holder, grant_id: RecordId
) -> dict[str, Any]:
    service = sharing(svc, request)
    grant = service.withdraw(caller, grant_id, client_ip(request))
    return service.describe_grant(grant)


@router.get("/api/shared/{token}", summary="被授权方查看证照")
def open_grant(request: Request, svc: Svc, token: str) -> JSONResponse:
    # Answered, not raised: the refusal is recorded, and raising would roll the record back.
    access = sharing(svc, request).open_grant(token, client_ip(request))
    status, body = grant_answer(svc, access)
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})

"""Verification over HTTP: POST /api/verify (JSON) and the /R/<code> page a phone opens.

What is shown depends on who asks (``verification/masking.py``): an officer or the provincial
admin signed in sees the full data of the e-cert from the database; anyone else sees masked
values. Every verification whose signature holds is recorded as ``verification:ecert:verified``
(by the officer, or 公众), which activates the e-cert on first use (seed 002 App. A).
"""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from roadcert.accounts.policy import Principal
from roadcert.accounts.web import CSRF_HEADER, SAFE_METHODS, MaybeCaller
from roadcert.audit.web import record_ecert_event
from roadcert.catalog import codes
from roadcert.catalog.types import CATALOGUE, ValueKind
from roadcert.certificates import faces
from roadcert.certificates.models import Ecert
from roadcert.deps import Svc
from roadcert.errors import BadInput, RoadcertError
from roadcert.kit.chinatime import china_time
from roadcert.runtime import Services
from roadcert.sharing.service import photo_of
from roadcert.verification import inputs
from roadcert.verification.masking import public_face, sees_full_data
from roadcert.verification.service import Verification, verify_cose
from roadcert.verification.sources import OnlineSource

router = APIRouter(tags=["verification 查验"])
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
VERIFIED = "verification:ecert:verified"


def verifier(request: Request, principal: MaybeCaller) -> Principal | None:
    """Who is verifying, for what they may see; None is the public.

    Verification needs no account, so a cookie session that posts without its CSRF token is not
    refused: it is answered as the public is (masked), since another site may have sent it.
    """
    if principal is None or principal.session_id is None or request.method in SAFE_METHODS:
        return principal
    sent = request.headers.get(CSRF_HEADER, "")
    if sent and secrets.compare_digest(sent, principal.csrf_token or ""):
        return principal
    return None


Verifier = Annotated[Principal | None, Depends(verifier)]


async def _read_body(request: Request) -> bytes:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > inputs.MAX_UPLOAD_BYTES:
            raise BadInput(
                f"文件过大：上限 {inputs.MAX_UPLOAD_BYTES} 字节", code="verify.too_large"
            )
    return body


def record_verification(
    svc: Services,
    request: Request,
    principal: Principal | None,
    result: Verification,
    via: str,
) -> Ecert | None:
    """Audit a verification whose signature held, activating the e-cert; the version verified.

    A code whose signature fails names nothing trustworthy, so nothing is recorded against it.
    """
    if result.claims is None:
        return None
    ecert = svc.issuance.repo.by_identifier(result.claims.identifier)
    if ecert is None:
        return None
    record_ecert_event(
        svc,
        request,
        principal,
        ecert,
        VERIFIED,
        via=via,
        ok=result.ok,
        status=str(result.status.result),
    )
    return ecert


def answer(
    svc: Services, result: Verification, principal: Principal | None, ecert: Ecert | None
) -> dict[str, Any]:
    """The JSON answer: the five results, and the face data as the caller may see it."""
    data = result.to_dict()
    face = data.get("face")
    if face is None:
        return data
    if not sees_full_data(principal):
        data["face"] = public_face(face)
        return data
    face["masked"] = False
    if ecert is not None:
        record = svc.issuance.describe(ecert, with_signature=False)
        record["activated_at"] = ecert.activated_at.isoformat() if ecert.activated_at else None
        data["record"] = record
    return data


@router.post("/api/verify", summary="查验电子证照：二维码文本、二维码图片或 PDF")
async def verify_api(request: Request, svc: Svc, principal: Verifier) -> dict[str, Any]:
    """Body: JSON ``{"text": "<QR text>"}``, or an image (PNG/JPEG) or PDF as the raw body.

    Officers and the admin get the full face data and the database record (``record``); anyone
    else gets ``face`` with masked name, number, holder code and plate (``face.masked``).
    """
    body = await _read_body(request)
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise BadInput("不是有效的 JSON", code="bad_input") from exc
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            raise BadInput("须提供 text 字段（二维码内容）", code="bad_input", field="text")
        cose = inputs.cose_from_text(data["text"])
    else:
        cose = inputs.cose_from_bytes(body)
    runtime = request.app.state.runtime

    def verify() -> dict[str, Any]:
        result = verify_cose(cose, OnlineSource(svc), runtime.clock())
        ecert = record_verification(svc, request, principal, result, "api")
        return answer(svc, result, principal, ecert)

    # The database and SM2 work blocks: run it in the thread pool, off the event loop.
    return await run_in_threadpool(verify)


# -- the page --------------------------------------------------------------------------------------


def _printable(key: str, value: Any) -> str:
    """A face value as one line of text: category codes as names, lists joined."""
    if key == "categories":
        names = []
        for category in value or ():
            if isinstance(category, dict):
                names.append(
                    f"{category.get('label', '')}（{category.get('valid_from', '')} 至 "
                    f"{category.get('valid_until', '')}）"
                )
            else:
                names.append(faces.label(codes.QualificationCategory, str(category)))
        return "，".join(names)
    if isinstance(value, list | tuple):
        return "，".join(str(v) for v in value)
    return "" if value is None else str(value)


def _type_name(type_code: str) -> str:
    cert_type = CATALOGUE.get(type_code)
    return cert_type.name if cert_type else type_code


def _rows_from_code(face: dict[str, Any]) -> list[tuple[str, str]]:
    """What the code itself carries (masked already for the public)."""
    cert_type = CATALOGUE.get(face["type_code"])
    labels = {i.key: i.label for i in cert_type.face} if cert_type else {}
    rows = [("证号", face["number"]), ("持证主体", face["holder_name"])]
    rows += [(labels.get(k, k), _printable(k, v)) for k, v in face["items"].items()]
    rows.append(("有效期", f"{face['valid_from']} 至 {face['valid_until']}"))
    return rows


def _rows_from_record(svc: Services, ecert: Ecert) -> list[tuple[str, str]]:
    """Every face item of the version in the database, in print order (photos apart).

    The certificate number and the holder lead unless the face prints them already (a
    从业资格证 prints 姓名 and 证号, which is the holder's ID number).
    """
    cert_type = CATALOGUE[ecert.type_code]
    items: list[tuple[str, str]] = []
    for item in cert_type.face:
        value = _printable(item.key, ecert.face.get(item.key))
        if item.kind is ValueKind.PHOTO or (not value and not item.required):
            continue
        items.append((item.label, value or "—"))
    printed = {value for _, value in items}
    lead = [
        ("证照编号", ecert.number),
        ("持证主体", ecert.holder_name),
        ("持证主体代码", ecert.holder_code),
    ]
    rows = [(label, value) for label, value in lead if value not in printed] + items
    rows.append(("版本", f"{ecert.version:03d}（{svc.issuance.effective_status(ecert).label}）"))
    activated = ecert.activated_at
    rows.append(("激活时间", f"{china_time(activated)}（北京时间）" if activated else "未激活"))
    return rows


def _photo_uri(svc: Services, ecert: Ecert) -> str | None:
    """The holder's or vehicle's photo as a data URI, for the officer to compare."""
    photo = photo_of(svc, ecert)
    if photo is None:
        return None
    content, media_type = photo
    return f"data:{media_type};base64,{base64.b64encode(content).decode()}"


def page_context(
    result: Verification | None,
    error: RoadcertError | None,
    *,
    full: bool = False,
    svc: Services | None = None,
    ecert: Ecert | None = None,
) -> dict[str, Any]:
    """What the verify page shows: a verdict, the five results and the face data.

    ``full``: the viewer is an officer or the admin, shown the record in the database (``ecert``,
    read through ``svc``) rather than the masked data of the code.
    """
    base: dict[str, Any] = {
        "title": "电子证照查验",
        "full": full,
        "masked": False,
        "photo": None,
        "rows": [],
        "face": None,
    }
    if result is None:
        return {**base, "ok": False, "error": error.to_dict() if error else None, "parts": []}
    data = result.to_dict()
    parts = [
        ("签名", data["signature"]),
        ("签发机关", data["issuer"]),
        ("证照状态", data["status"]),
        ("有效期", data["validity"]),
        ("证照标识", data["identifier"]),
    ]
    context = {**base, "ok": result.ok, "error": None, "parts": parts}
    face = data.get("face")
    if face is None:
        return context
    if not full:
        face = public_face(face)
    summary = {
        "type_name": _type_name(face["type_code"]),
        "holder_name": face["holder_name"],
        "identifier": face["identifier"],
    }
    if full and svc is not None and ecert is not None:
        rows = _rows_from_record(svc, ecert)
        summary["holder_name"] = ecert.holder_name
        context["photo"] = _photo_uri(svc, ecert)
    else:
        rows = _rows_from_code(face)
    return {**context, "face": summary, "rows": rows, "masked": not full}


@router.get("/R/{code}", response_class=HTMLResponse, include_in_schema=False)
def verify_page(request: Request, code: str, svc: Svc, principal: Verifier) -> HTMLResponse:
    """The page the URL in a printed or shown code opens."""
    full = sees_full_data(principal)
    try:
        cose = inputs.cose_from_text(code)
        result = verify_cose(cose, OnlineSource(svc), request.app.state.runtime.clock())
        ecert = record_verification(svc, request, principal, result, "page")
        context = page_context(result, None, full=full, svc=svc, ecert=ecert)
        status = 200
    except RoadcertError as exc:
        context = page_context(None, exc, full=full)
        status = exc.status
    context["principal"] = principal
    context["login_next"] = request.url.path
    return templates.TemplateResponse(request, "verify.html", context, status_code=status)

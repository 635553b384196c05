"""Verification over HTTP: POST /api/verify (JSON) and the /R/<code> page a phone opens."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from roadcert.catalog import codes
from roadcert.catalog.types import CATALOGUE
from roadcert.certificates import faces
from roadcert.deps import get_services
from roadcert.errors import BadInput, RoadcertError
from roadcert.runtime import Services
from roadcert.verification import inputs
from roadcert.verification.service import Verification, verify_cose
from roadcert.verification.sources import OnlineSource

router = APIRouter(tags=["verification 查验"])
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
Svc = Annotated[Services, Depends(get_services)]


async def _read_body(request: Request) -> bytes:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > inputs.MAX_UPLOAD_BYTES:
            raise BadInput(
                f"文件过大：上限 {inputs.MAX_UPLOAD_BYTES} 字节", code="verify.too_large"
            )
    return body


@router.post("/api/verify", summary="查验电子证照：二维码文本、二维码图片或 PDF")
async def verify_api(request: Request, svc: Svc) -> dict[str, Any]:
    """Body: JSON ``{"text": "<QR text>"}``, or an image (PNG/JPEG) or PDF as the raw body."""
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
    # The database and SM2 work blocks: run it in the thread pool, off the event loop.
    return await run_in_threadpool(
        lambda: verify_cose(cose, OnlineSource(svc), runtime.clock()).to_dict()
    )


def _printable(key: str, value: Any) -> Any:
    """Category codes as their Chinese names; other items as the code carries them."""
    if key == "categories":
        return [faces.label(codes.QualificationCategory, str(c)) for c in value]
    return value


def page_context(result: Verification | None, error: RoadcertError | None) -> dict[str, Any]:
    """What the verify page shows: a verdict, the five results and the face data."""
    if result is None:
        return {
            "title": "电子证照查验",
            "ok": False,
            "error": error.to_dict() if error else None,
            "parts": [],
            "face": None,
        }
    data = result.to_dict()
    parts = [
        ("签名", data["signature"]),
        ("签发机关", data["issuer"]),
        ("证照状态", data["status"]),
        ("有效期", data["validity"]),
        ("证照标识", data["identifier"]),
    ]
    face = data.get("face")
    if face:
        face = dict(face)
        cert_type = CATALOGUE.get(face["type_code"])
        face["type_name"] = cert_type.name if cert_type else face["type_code"]
        labels = {i.key: i.label for i in cert_type.face} if cert_type else {}
        face["item_rows"] = [(labels.get(k, k), _printable(k, v)) for k, v in face["items"].items()]
    return {"title": "电子证照查验", "ok": result.ok, "error": None, "parts": parts, "face": face}


@router.get("/R/{code}", response_class=HTMLResponse, include_in_schema=False)
def verify_page(request: Request, code: str, svc: Svc) -> HTMLResponse:
    """The page the URL in a printed or shown code opens."""
    try:
        cose = inputs.cose_from_text(code)
        result = verify_cose(cose, OnlineSource(svc), request.app.state.runtime.clock())
        context = page_context(result, None)
        status = 200
    except RoadcertError as exc:
        context = page_context(None, exc)
        status = exc.status
    return templates.TemplateResponse(request, "verify.html", context, status_code=status)

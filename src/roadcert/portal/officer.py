"""The officer's (执法人员) verification pages: scan with the device camera, or upload a picture.

``/officer/scan`` runs ``static/scan.js``: it shows the (rear) camera, sends a frame every
~400 ms to ``POST /api/scan``, which reads any QR code in it with zxing-cpp and answers the
local path of this system's code URL, and the page opens that path: ``/R/…`` (an e-cert's
code, the verify page) or ``/S/…`` (a 亮证 code, the showing page). ``/officer/upload`` takes a
photo or screenshot of a code, or a roadcert PDF (which embeds its signed code), and sends the
officer to the same result pages, where the verification is recorded and the full data shown.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from roadcert.accounts.policy import Principal
from roadcert.accounts.web import Officer
from roadcert.errors import BadInput, RoadcertError
from roadcert.portal.pages import render
from roadcert.render import qr
from roadcert.verification import inputs, payload

router = APIRouter()

MAX_FRAME_BYTES: Final = 2 * 1024 * 1024
"""Largest camera frame ``POST /api/scan`` reads (a 1280-pixel JPEG is about 200 KB)."""

MAX_UPLOAD_BYTES: Final = 5 * 1024 * 1024
"""Largest picture or PDF the upload page takes."""

# Room for the multipart envelope and the CSRF field around the file itself.
_FORM_OVERHEAD: Final = 64 * 1024
NOT_OURS: Final = "不是本系统的电子证照二维码"
NO_CODE: Final = "图片中没有识别出二维码，请拍清楚、拍完整后重试"

# The URL in one of this system's codes; the data is base32 (RFC 4648, no padding).
_CODE_URL: Final = re.compile(
    r"https?://(?P<host>[A-Z0-9.:-]+)/(?P<kind>[RS])/(?P<data>[A-Z2-7]+)", re.IGNORECASE
)


def code_path(text: str, verify_host: str) -> str | None:
    """The local path (``/R/…`` or ``/S/…``) of one of this system's code URLs, else None.

    Only the path is ever followed, so a code cannot send the officer to another site; and a
    code naming another host is not this system's, whatever its path.
    """
    match = _CODE_URL.fullmatch(text.strip())
    if match is None or match.group("host").upper() != verify_host.strip().upper():
        return None
    return f"/{match.group('kind').upper()}/{match.group('data').upper()}"


def path_in_codes(texts: list[str], verify_host: str) -> str:
    """The first of ``texts`` that is this system's code; refuses clearly otherwise."""
    if not texts:
        raise BadInput(NO_CODE, code="verify.no_code")
    for text in texts:
        path = code_path(text, verify_host)
        if path is not None:
            return path
    raise BadInput(NOT_OURS, code="scan.not_ours")


def path_in_upload(data: bytes, verify_host: str) -> str:
    """Where the verification of an uploaded picture or PDF is shown."""
    if not data:
        raise BadInput("请选择要上传的图片或 PDF 文件", code="upload.empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise BadInput(_too_large(MAX_UPLOAD_BYTES), code="upload.too_large", status=413)
    if data.startswith(inputs.PDF_MAGIC):
        cose = inputs.cose_from_bytes(data)
        return "/R/" + payload.to_text(cose, verify_host).split("/R/", 1)[1]
    if not data.startswith((inputs.PNG_MAGIC, inputs.JPEG_MAGIC)):
        raise BadInput("仅支持 JPEG、PNG 图片或 PDF 文件", code="upload.type")
    return path_in_codes([c.text for c in qr.decode_image(data)], verify_host)


def _too_large(limit: int) -> str:
    return f"文件过大：上限 {limit // (1024 * 1024)} MB"


def _verify_host(request: Request) -> str:
    return str(request.app.state.runtime.settings.verify_host)


async def read_upload(request: Request) -> AsyncIterator[FormData]:
    """The upload form, read only after its declared length is checked, and closed after use.

    Read here, before the caller's check (which looks into the form for the CSRF token and
    then finds it already read), so that the length is checked before any parsing and the
    spooled file is closed however the request ends.
    """
    length = request.headers.get("content-length", "")
    if not length.isdigit():
        raise RoadcertError("请求缺少长度信息", code="upload.length", status=411)
    if int(length) > MAX_UPLOAD_BYTES + _FORM_OVERHEAD:
        raise RoadcertError(_too_large(MAX_UPLOAD_BYTES), code="upload.too_large", status=413)
    form = await request.form(max_files=1, max_fields=4)
    try:
        yield form
    finally:
        await form.close()


UploadForm = Annotated[FormData, Depends(read_upload)]


# -- pages -----------------------------------------------------------------------------------------


def scan_context() -> dict[str, Any]:
    """The scanning page: the camera view and where to go without a camera."""
    return {"title": "扫码核验", "frame_ms": 400, "max_frame_bytes": MAX_FRAME_BYTES}


def upload_context(error: str | None = None) -> dict[str, Any]:
    """The upload form, with the refusal of the last upload if there was one."""
    return {"title": "上传图片核验", "error": error, "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024)}


@router.get("/officer/scan", response_class=HTMLResponse, include_in_schema=False)
def scan_page(request: Request, caller: Officer) -> HTMLResponse:
    return render(request, caller, "officer_scan.html", scan_context())


@router.get("/officer/upload", response_class=HTMLResponse, include_in_schema=False)
def upload_page(request: Request, caller: Officer) -> HTMLResponse:
    return render(request, caller, "officer_upload.html", upload_context())


@router.post("/officer/upload", response_class=HTMLResponse, include_in_schema=False)
async def upload(request: Request, form: UploadForm, caller: Officer) -> Response:
    """Read the code in the upload and open its result page; or say why not."""
    file = form.get("file")
    data = await file.read(MAX_UPLOAD_BYTES + 1) if isinstance(file, UploadFile) else b""
    try:
        path = await run_in_threadpool(path_in_upload, data, _verify_host(request))
    except RoadcertError as exc:
        return _upload_refused(request, caller, exc)
    return RedirectResponse(path, status_code=303)


def _upload_refused(request: Request, caller: Principal, exc: RoadcertError) -> HTMLResponse:
    return render(request, caller, "officer_upload.html", upload_context(exc.message), exc.status)


# -- the frame API ---------------------------------------------------------------------------------


async def _read_frame(request: Request) -> bytes:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FRAME_BYTES:
            raise BadInput(
                f"画面过大：上限 {MAX_FRAME_BYTES // (1024 * 1024)} MB",
                code="scan.too_large",
                status=413,
            )
    if not body:
        raise BadInput("没有收到画面", code="scan.empty")
    return body


@router.post("/api/scan", tags=["verification 查验"], summary="识别摄像头画面中的二维码")
async def scan_frame(request: Request, caller: Officer) -> dict[str, Any]:
    """Body: one camera frame as JPEG or PNG (≤ 2 MB), officers and the admin only.

    Answers ``{"found": false}`` when no code is readable, ``{"found": false, "code":
    "scan.not_ours", "message": …}`` for a code of another system, and ``{"found": true,
    "path": "/R/…"}`` (e-cert) or ``"/S/…"`` (亮证) for one of this system's codes.
    """
    frame = await _read_frame(request)
    found = await run_in_threadpool(qr.decode_image, frame)
    if not found:
        return {"found": False}
    try:
        path = path_in_codes([c.text for c in found], _verify_host(request))
    except BadInput as exc:
        return {"found": False, "code": exc.code, "message": exc.message}
    return {"found": True, "path": path}

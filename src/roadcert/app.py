"""The web application: JSON API, error rendering and pages, wired to one Runtime."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from roadcert import __version__
from roadcert.accounts.service import Unauthenticated
from roadcert.certificates.api import router as ecert_router
from roadcert.crypto.api import router as key_router
from roadcert.crypto.errors import CryptoError
from roadcert.errors import RoadcertError, validation_error
from roadcert.portal.pages import STATIC_DIR, render
from roadcert.portal.routes import ROUTERS as PAGE_ROUTERS
from roadcert.registry.api import router as ledger_router
from roadcert.registry.photo_api import router as photo_router
from roadcert.runtime import Runtime
from roadcert.sharing.api import router as sharing_router
from roadcert.verification.api import router as verification_router

log = logging.getLogger(__name__)


EXPIRY_SWEEP_SECONDS = 3600

#: Pages load scripts and styles only from this server; no inline script runs.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; media-src 'self' blob:; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
ERROR_HEADINGS = {
    401: "请先登录",
    403: "无权访问",
    404: "未找到",
    422: "输入有误",
    429: "请求过于频繁",
}


def wants_page(request: Request) -> bool:
    """Errors on page routes render a page; the JSON API (/api/…) answers {code, message}."""
    return not request.url.path.startswith("/api/")


def error_response(request: Request, status: int, code: str, message: str) -> Response:
    """The error as a page for browsers, as JSON for programs."""
    if not wants_page(request):
        return JSONResponse({"code": code, "message": message}, status_code=status)
    principal = getattr(request.state, "principal", None)
    context = {
        "title": ERROR_HEADINGS.get(status, "出错了"),
        "heading": ERROR_HEADINGS.get(status, "出错了"),
        "message": message,
        "code": code,
    }
    return render(request, principal, "error.html", context, status_code=status)


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def sweep_expired(runtime: Runtime) -> int:
    """Turn e-certs past their last valid day 已过期 (DESIGN.md §4); drop ended web sessions."""
    with runtime.unit_of_work("expiry") as svc:
        svc.accounts.repo.delete_expired_sessions(runtime.clock())
        return svc.issuance.expire_due()


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    runtime: Runtime = app.state.runtime

    async def sweep_forever() -> None:
        while True:
            try:
                count = await asyncio.to_thread(sweep_expired, runtime)
                if count:
                    log.info("expired %d e-certs", count)
            except Exception:
                log.exception("expiry sweep failed")
            await asyncio.sleep(EXPIRY_SWEEP_SECONDS)

    task = asyncio.create_task(sweep_forever())
    try:
        yield
    finally:
        task.cancel()


def create_app(runtime: Runtime | None = None) -> FastAPI:
    """Build the app around ``runtime`` (default: from the environment)."""
    app = FastAPI(
        title="roadcert 道路运输电子证照",
        version=__version__,
        description="台账、电子证照制发与查询的 JSON 接口。错误一律返回 {code, message}。",
        lifespan=_lifespan,
    )
    app.state.runtime = runtime or Runtime.from_settings()

    @app.exception_handler(RoadcertError)
    async def _roadcert_error(request: Request, exc: RoadcertError) -> Response:
        if isinstance(exc, Unauthenticated) and wants_page(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        if not wants_page(request):
            return JSONResponse(exc.to_dict(), status_code=exc.status)
        return error_response(request, exc.status, exc.code, exc.message)

    @app.exception_handler(CryptoError)
    async def _crypto_error(request: Request, exc: CryptoError) -> Response:
        log.error("crypto failure: %s", exc)
        return error_response(request, 503, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        error = validation_error(list(exc.errors()))
        if not wants_page(request):
            return JSONResponse(error.to_dict(), status_code=error.status)
        return error_response(request, error.status, error.code, error.message)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = {404: "请求的地址不存在", 405: "不支持该请求方法"}.get(
            exc.status_code, str(exc.detail)
        )
        return error_response(request, exc.status_code, code, message)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error", exc_info=exc)
        return JSONResponse(
            {"code": "internal", "message": "服务器内部错误，已记录"}, status_code=500
        )

    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.include_router(ledger_router)
    app.include_router(photo_router)
    app.include_router(ecert_router)
    app.include_router(key_router)
    app.include_router(verification_router)
    app.include_router(sharing_router)
    for router in PAGE_ROUTERS:
        app.include_router(router)
    return app

"""The web application: JSON API, error rendering and pages, wired to one Runtime."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from roadcert import __version__
from roadcert.certificates.api import router as ecert_router
from roadcert.crypto.api import router as key_router
from roadcert.crypto.errors import CryptoError
from roadcert.errors import RoadcertError, validation_error
from roadcert.portal.views import router as portal_router
from roadcert.registry.api import router as ledger_router
from roadcert.runtime import Runtime
from roadcert.verification.api import router as verification_router

log = logging.getLogger(__name__)


EXPIRY_SWEEP_SECONDS = 3600


def sweep_expired(runtime: Runtime) -> int:
    """Turn e-certs past their last valid day 已过期 (DESIGN.md §4)."""
    with runtime.unit_of_work("expiry") as svc:
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
    async def _roadcert_error(_: Request, exc: RoadcertError) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=exc.status)

    @app.exception_handler(CryptoError)
    async def _crypto_error(_: Request, exc: CryptoError) -> JSONResponse:
        log.error("crypto failure: %s", exc)
        return JSONResponse({"code": exc.code, "message": exc.message}, status_code=503)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        error = validation_error(list(exc.errors()))
        return JSONResponse(error.to_dict(), status_code=error.status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = {404: "请求的地址不存在", 405: "不支持该请求方法"}.get(
            exc.status_code, str(exc.detail)
        )
        return JSONResponse({"code": code, "message": message}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return JSONResponse(
            {"code": "internal", "message": "服务器内部错误，已记录"}, status_code=500
        )

    app.include_router(ledger_router)
    app.include_router(ecert_router)
    app.include_router(key_router)
    app.include_router(verification_router)
    app.include_router(portal_router)
    return app

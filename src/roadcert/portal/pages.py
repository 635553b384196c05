"""What every page shares: the template environment, the role's menu, flash messages.

Views build a context dict and call :func:`render`; templates extend ``base.html``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from roadcert.accounts.models import Role
from roadcert.accounts.policy import Principal
from roadcert.kit import regions

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
FLASH_COOKIE = "roadcert_flash"

#: The menu of each role (href, label). Anonymous visitors get PUBLIC_NAV.
NAV: dict[Role, list[tuple[str, str]]] = {
    Role.ENTERPRISE: [
        ("/enterprise/licences", "业户电子证照"),
        ("/enterprise/vehicles", "车辆电子证照"),
        ("/me/access", "访问记录"),
    ],
    Role.PRACTITIONER: [
        ("/me/qualifications", "我的资格证"),
        ("/me/photo", "我的电子照片"),
        ("/me/shares", "授权共享"),
        ("/me/access", "访问记录"),
    ],
    Role.CLERK: [
        ("/staff/operators", "业户台账"),
        ("/staff/vehicles", "车辆台账"),
        ("/staff/practitioners", "从业人员"),
        ("/staff/ecerts", "电子证照"),
        ("/staff/quality", "不规范数据"),
        ("/staff/photos", "照片审核"),
    ],
    Role.OFFICER: [
        ("/officer/scan", "扫码核验"),
        ("/officer/upload", "上传图片核验"),
    ],
}
NAV[Role.ADMIN] = NAV[Role.CLERK] + NAV[Role.OFFICER]
PUBLIC_NAV = [("/query", "证照信息查询")]

#: Each role's landing page after signing in.
HOME: dict[Role, str] = {
    Role.ENTERPRISE: "/enterprise/licences",
    Role.PRACTITIONER: "/me/qualifications",
    Role.CLERK: "/staff/operators",
    Role.ADMIN: "/staff/operators",
    Role.OFFICER: "/officer/scan",
}


def render(
    request: Request,
    principal: Principal | None,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
) -> HTMLResponse:
    """Render ``template`` with the shared parts of every page added to ``context``."""
    nav = NAV.get(principal.role, []) if principal else PUBLIC_NAV
    flash = request.cookies.get(FLASH_COOKIE)
    full = {
        "principal": principal,
        "nav": nav,
        "active_nav": _active(request.url.path, nav),
        "province_name": _province_name(request),
        "flash": None,
        "flash_kind": None,
        **context,
    }
    if flash and not context.get("flash"):
        kind, _, text = flash.partition(":")
        full["flash"], full["flash_kind"] = unquote(text), kind
    response = templates.TemplateResponse(request, template, full, status_code=status_code)
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def redirect(url: str, flash: str | None = None, kind: str = "ok") -> RedirectResponse:
    """303 to ``url`` (after a form post), carrying a one-time message to the next page."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie(
            FLASH_COOKIE, f"{kind}:{quote(flash)}", max_age=60, httponly=True, samesite="lax"
        )
    return response


def _active(path: str, nav: list[tuple[str, str]]) -> str | None:
    matches = [href for href, _ in nav if path == href or path.startswith(href + "/")]
    return max(matches, key=len) if matches else None


def _province_name(request: Request) -> str:
    code = request.app.state.runtime.settings.province_code
    return regions.name_of(code) or ""


def pager(page: int, total: int, size: int) -> dict[str, Any]:
    """Paging numbers for a list page (序号 continues across pages)."""
    pages = max((total + size - 1) // size, 1)
    return {
        "page": page,
        "pages": pages,
        "total": total,
        "size": size,
        "offset": (page - 1) * size,
        "has_prev": page > 1,
        "has_next": page < pages,
    }

"""HTTP side of accounts: who is asking (session cookie or bearer token), CSRF, role guards.

Every route states what it needs through one of the dependencies below; the rules themselves
live in :mod:`roadcert.accounts.policy`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request, Response

from roadcert.accounts.models import Role
from roadcert.accounts.policy import Principal, authority_scope, ensure_role
from roadcert.accounts.service import SESSION_MAX_AGE, Unauthenticated
from roadcert.config import Environment
from roadcert.deps import Svc, get_runtime
from roadcert.errors import Forbidden

SESSION_COOKIE = "roadcert_session"
# Double-submit token for forms shown before signing in (the login form).
ANON_CSRF_COOKIE = "roadcert_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def cookie_secure(request: Request) -> bool:
    """Secure cookies everywhere except plain-HTTP development on this machine."""
    settings = get_runtime(request).settings
    return settings.env is Environment.PRODUCTION or request.url.scheme == "https"


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_MAX_AGE.total_seconds()),
        httponly=True,
        secure=cookie_secure(request),
        samesite="lax",
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def anonymous_csrf(request: Request, response: Response) -> str:
    """The double-submit token for a pre-login form, set as a cookie when missing."""
    token = request.cookies.get(ANON_CSRF_COOKIE)
    if not token:
        token = secrets.token_urlsafe(24)
        response.set_cookie(
            ANON_CSRF_COOKIE,
            token,
            httponly=True,
            secure=cookie_secure(request),
            samesite="strict",
            path="/",
        )
    return token


def optional_principal(request: Request, svc: Svc) -> Principal | None:
    """The caller, from an ``Authorization: Bearer`` token or the session cookie; None if anonymous.

    A present but dead bearer token is an error, not anonymity: a program should learn that its
    token no longer works.
    """
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    principal: Principal | None = None
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        principal = svc.accounts.resolve_api_token(auth[7:].strip())
        if principal is None:
            raise Unauthenticated("访问令牌无效或已过期")
    elif token := request.cookies.get(SESSION_COOKIE):
        principal = svc.accounts.resolve_session(token)
    if principal is not None:
        request.state.principal = principal
        svc.act_as(principal.actor, scope=_scope_or_none(principal))
    return principal


def _scope_or_none(principal: Principal) -> int | None:
    if principal.role is Role.CLERK:
        return principal.authority_id
    return None


async def _csrf_value(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def require_principal(
    request: Request, principal: Annotated[Principal | None, Depends(optional_principal)]
) -> Principal:
    """A signed-in caller; for a cookie session, a changing request must carry the CSRF token."""
    if principal is None:
        raise Unauthenticated("请先登录")
    if principal.session_id is not None and request.method not in SAFE_METHODS:
        sent = await _csrf_value(request)
        if not sent or not secrets.compare_digest(sent, principal.csrf_token or ""):
            raise Forbidden("请求校验失败（CSRF），请刷新页面后重试", code="auth.csrf")
    return principal


Caller = Annotated[Principal, Depends(require_principal)]
MaybeCaller = Annotated[Principal | None, Depends(optional_principal)]


def require_role(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency admitting only ``roles``."""

    def dependency(principal: Caller) -> Principal:
        ensure_role(principal, *roles)
        return principal

    return dependency


def require_staff(principal: Caller) -> Principal:
    """A clerk (scoped to the authority) or the provincial admin."""
    authority_scope(principal)
    return principal


Staff = Annotated[Principal, Depends(require_staff)]
Admin = Annotated[Principal, Depends(require_role(Role.ADMIN))]
Clerk = Staff
Officer = Annotated[Principal, Depends(require_role(Role.OFFICER, Role.ADMIN))]
Holder = Annotated[Principal, Depends(require_role(Role.ENTERPRISE, Role.PRACTITIONER))]
Enterprise = Annotated[Principal, Depends(require_role(Role.ENTERPRISE))]
Practitioner = Annotated[Principal, Depends(require_role(Role.PRACTITIONER))]

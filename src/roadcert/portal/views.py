"""Signing in and out, and the home page that sends each role to its own pages."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from roadcert.accounts.models import Role
from roadcert.accounts.service import LoginFailed
from roadcert.accounts.web import (
    ANON_CSRF_COOKIE,
    SESSION_COOKIE,
    Caller,
    MaybeCaller,
    Svc,
    anonymous_csrf,
    clear_session_cookie,
    client_ip,
    set_session_cookie,
)
from roadcert.errors import Forbidden, RoadcertError
from roadcert.portal.pages import HOME, redirect, render

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str | None:
    """Only a local path may follow a login (no open redirect to another site)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@router.get("/", response_class=HTMLResponse)
def home(request: Request, caller: MaybeCaller) -> Response:
    if caller is None:
        return RedirectResponse("/query", status_code=303)
    return RedirectResponse(HOME[caller.role], status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, caller: MaybeCaller, next: str | None = None) -> Response:
    if caller is not None:
        return RedirectResponse(safe_next(next) or HOME[caller.role], status_code=303)
    response = Response()
    token = anonymous_csrf(request, response)
    page = render(
        request,
        None,
        "login.html",
        {"title": "登录", "csrf_token": token, "next": safe_next(next) or "", "username": ""},
    )
    for header in response.headers.getlist("set-cookie"):
        page.headers.append("set-cookie", header)
    return page


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    svc: Svc,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    expected = request.cookies.get(ANON_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, csrf_token):
        raise Forbidden("请求校验失败（CSRF），请刷新登录页后重试", code="auth.csrf")
    ip = client_ip(request)
    try:
        user = svc.accounts.authenticate(username, password)
    except RoadcertError as exc:
        svc.audit.record(
            "accounts:user:sign_in_failed",
            username[:64] or "（空）",
            f"user:{username[:64]}",
            client_ip=ip,
            reason=exc.code,
        )
        # The failure (and a lockout it triggered) must be kept although the request fails.
        svc.session.commit()
        status = 401 if isinstance(exc, LoginFailed) else exc.status
        page = render(
            request,
            None,
            "login.html",
            {
                "title": "登录",
                "csrf_token": expected,
                "next": safe_next(next) or "",
                "username": username,
                "error": exc.message,
            },
            status_code=status,
        )
        return page
    token, _ = svc.accounts.open_session(user, ip)
    svc.audit.record(
        "accounts:user:signed_in",
        user.display_name,
        f"user:{user.username}",
        user_id=user.id,
        client_ip=ip,
    )
    response = RedirectResponse(safe_next(next) or HOME[Role(user.role)], status_code=303)
    set_session_cookie(request, response, token)
    return response


@router.post("/logout")
def logout(request: Request, svc: Svc, caller: Caller) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        svc.accounts.close_session(token)
    svc.audit.record(
        "accounts:user:signed_out",
        caller.actor,
        f"user:{caller.username}",
        user_id=caller.user_id,
        client_ip=client_ip(request),
    )
    response = redirect("/login", "已退出登录")
    clear_session_cookie(response)
    return response

"""Every page router, in one list the app includes."""

from __future__ import annotations

from fastapi import APIRouter

from roadcert.portal import (
    ecerts,
    enterprise,
    holder,
    officer,
    practitioner,
    public,
    staff,
    staff_actions,
    views,
)

ROUTERS: list[APIRouter] = [
    views.router,
    ecerts.router,
    staff.router,
    staff_actions.router,
    enterprise.router,
    officer.router,
    public.router,
    practitioner.router,
    holder.router,
]

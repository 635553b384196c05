"""Who may see and do what. Pure rules on a Principal; the web layer calls them on every route."""

from __future__ import annotations

from dataclasses import dataclass

from roadcert.accounts.models import Role
from roadcert.errors import Forbidden

#: Raised for anything that belongs to someone else. The same words for every role, so a refusal
#: does not tell whether the thing exists.
NOT_YOURS = "无权访问：该证照或记录不属于当前用户"


@dataclass(frozen=True)
class Principal:
    """The signed-in user as the rules see it."""

    user_id: int
    username: str
    display_name: str
    role: Role
    authority_id: int | None = None
    holder_code: str | None = None
    session_id: int | None = None
    csrf_token: str | None = None

    @property
    def actor(self) -> str:
        """How audit rows and ledger history name this user."""
        return f"{self.display_name}（{self.role.label}）"


def authority_scope(principal: Principal) -> int | None:
    """The one authority a clerk's ledger work is limited to; None for the provincial admin."""
    if principal.role is Role.ADMIN:
        return None
    if principal.role is Role.CLERK and principal.authority_id is not None:
        return principal.authority_id
    raise Forbidden("仅发证机关工作人员或省级管理员可办理台账业务", code="auth.role")


def may_view_ecert(principal: Principal, authority_id: int, holder_code: str) -> bool:
    """Holders see their own; a clerk sees the authority's; the provincial admin sees all.

    Officers see e-certs only through verification of a code they were shown.
    """
    match principal.role:
        case Role.ADMIN:
            return True
        case Role.CLERK:
            return principal.authority_id == authority_id
        case Role.ENTERPRISE | Role.PRACTITIONER:
            return principal.holder_code is not None and principal.holder_code == holder_code
        case _:
            return False


def ensure_view_ecert(principal: Principal, authority_id: int, holder_code: str) -> None:
    """Refuse with 403 unless ``principal`` may see the e-cert."""
    if not may_view_ecert(principal, authority_id, holder_code):
        raise Forbidden(NOT_YOURS, code="auth.not_yours")


def ensure_role(principal: Principal, *roles: Role) -> None:
    """Refuse with 403 unless the principal has one of ``roles``."""
    if principal.role not in roles:
        names = "、".join(r.label for r in roles)
        raise Forbidden(f"此功能仅限{names}使用", code="auth.role")

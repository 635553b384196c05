"""Accounts: creating users, signing in with argon2-hashed passwords, sessions and API tokens."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from roadcert.accounts.models import ApiToken, Role, User, WebSession
from roadcert.accounts.policy import Principal
from roadcert.accounts.repository import AccountRepository
from roadcert.crypto.sm import sm3
from roadcert.db import utcnow
from roadcert.errors import BadInput, Conflict, Forbidden, NotFound, RoadcertError
from roadcert.kit import ric, uscc
from roadcert.registry.models import Authority

#: A session ends after this long without a request, and in any case after SESSION_MAX_AGE.
SESSION_IDLE = timedelta(minutes=30)
SESSION_MAX_AGE = timedelta(hours=12)
#: Five wrong passwords in a row lock the account for LOCKOUT.
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 8
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{3,64}$")

# One hasher per process: argon2id with the library's RFC 9106 low-memory defaults.
_hasher = PasswordHasher()
# Verified against when the user does not exist, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("roadcert-no-such-user")


class LoginFailed(RoadcertError):
    """Wrong name or password, said the same way for both."""

    status = 401
    code = "auth.login_failed"


class Unauthenticated(RoadcertError):
    """No valid session or token."""

    status = 401
    code = "auth.required"


def digest(token: str) -> str:
    """What the database keeps of a bearer secret: its SM3 digest in hex."""
    return sm3(token.encode()).hex()


def principal_of(user: User, session: WebSession | None = None) -> Principal:
    """The rules' view of ``user`` (and of the browser session it signed in with)."""
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        authority_id=user.authority_id,
        holder_code=user.holder_code,
        session_id=session.id if session else None,
        csrf_token=session.csrf_token if session else None,
    )


@dataclass(frozen=True)
class NewUser:
    """What creating a user needs; the binding depends on the role."""

    username: str
    password: str
    display_name: str
    role: Role
    authority_id: int | None = None
    holder_code: str | None = None


class AccountService:
    """User and session work in one database session."""

    def __init__(self, session: Session, clock: Callable[[], datetime] = utcnow) -> None:
        self.repo = AccountRepository(session)
        self.session = session
        self.clock = clock

    # -- users ------------------------------------------------------------------------------

    def create_user(self, data: NewUser) -> User:
        """Add a user after checking the name, the password and the role's binding."""
        if not USERNAME.match(data.username):
            raise BadInput(
                "用户名须为 3–64 位字母、数字或 _.@-", code="user.username", field="username"
            )
        if self.repo.user_by_name(data.username) is not None:
            raise Conflict(f"用户名 {data.username} 已存在", code="user.exists", field="username")
        check_password(data.password)
        authority_id, holder_code = self._binding(data)
        user = User(
            username=data.username,
            display_name=data.display_name.strip() or data.username,
            role=data.role.value,
            password_hash=_hasher.hash(data.password),
            authority_id=authority_id,
            holder_code=holder_code,
        )
        self.repo.add(user)
        return user

    def _binding(self, data: NewUser) -> tuple[int | None, str | None]:
        if data.role is Role.CLERK:
            if data.authority_id is None or self.session.get(Authority, data.authority_id) is None:
                raise BadInput(
                    "发证机关工作人员须绑定一个已存在的核发机关",
                    code="user.authority",
                    field="authority",
                )
            return data.authority_id, None
        if data.role is Role.ENTERPRISE:
            code = (data.holder_code or "").strip().upper()
            result = uscc.check(code)
            if not result.ok:
                raise BadInput(
                    f"经营业户须绑定有效的统一社会信用代码：{result.message}",
                    code="user.holder_code",
                    field="holder_code",
                )
            return None, code
        if data.role is Role.PRACTITIONER:
            code = (data.holder_code or "").strip().upper()
            result = ric.check(code)
            if not result.ok:
                raise BadInput(
                    f"从业人员须绑定有效的身份证号码：{result.message}",
                    code="user.holder_code",
                    field="holder_code",
                )
            return None, code
        return None, None

    def get_user(self, username: str) -> User:
        user = self.repo.user_by_name(username)
        if user is None:
            raise NotFound(f"用户 {username} 不存在", code="user.not_found")
        return user

    def set_password(self, username: str, password: str) -> User:
        """Replace a password and end every session of the user."""
        check_password(password)
        user = self.get_user(username)
        user.password_hash = _hasher.hash(password)
        user.failed_logins = 0
        user.locked_until = None
        self.repo.delete_sessions_of(user.id)
        return user

    # -- signing in ---------------------------------------------------------------------------

    def authenticate(self, username: str, password: str) -> User:
        """The user if the password is right; a lockout after repeated failures."""
        now = self.clock()
        user = self.repo.user_by_name(username.strip())
        if user is None or not user.active:
            _verify(_DUMMY_HASH, password)
            raise LoginFailed("用户名或密码错误")
        if user.locked_until is not None and user.locked_until > now:
            raise Forbidden(
                "连续登录失败次数过多，账户已暂时锁定，请 15 分钟后再试", code="auth.locked"
            )
        if not _verify(user.password_hash, password):
            user.failed_logins += 1
            if user.failed_logins >= MAX_FAILED_LOGINS:
                user.locked_until = now + LOCKOUT
                user.failed_logins = 0
            self.session.flush()
            raise LoginFailed("用户名或密码错误")
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        user.failed_logins = 0
        user.locked_until = None
        user.last_login_at = now
        return user

    def open_session(self, user: User, client_ip: str = "") -> tuple[str, WebSession]:
        """A new browser session; returns the cookie value (shown once) and the row."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        row = WebSession(
            token_sm3=digest(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + SESSION_MAX_AGE,
            client_ip=client_ip[:64],
        )
        self.repo.add(row)
        return token, row

    def resolve_session(self, token: str) -> Principal | None:
        """The principal of a live session cookie, sliding its idle timeout; None if not live."""
        row = self.repo.web_session(digest(token))
        if row is None:
            return None
        now = self.clock()
        if row.expires_at <= now or row.last_seen_at + SESSION_IDLE <= now:
            self.repo.delete_session(row)
            return None
        user = self.repo.user(row.user_id)
        if user is None or not user.active:
            return None
        # Write the sliding timestamp at most once a minute, not on every request.
        if now - row.last_seen_at > timedelta(minutes=1):
            row.last_seen_at = now
        return principal_of(user, row)

    def close_session(self, token: str) -> None:
        row = self.repo.web_session(digest(token))
        if row is not None:
            self.repo.delete_session(row)

    # -- API tokens ---------------------------------------------------------------------------

    def issue_api_token(self, username: str, name: str, days: int | None = 365) -> str:
        """A new bearer token for ``username``; the secret is returned once and never stored."""
        user = self.get_user(username)
        token = "rc_" + secrets.token_urlsafe(32)
        expires = self.clock() + timedelta(days=days) if days else None
        self.repo.add(
            ApiToken(token_sm3=digest(token), user_id=user.id, name=name, expires_at=expires)
        )
        return token

    def resolve_api_token(self, token: str) -> Principal | None:
        """The principal of a live bearer token, or None."""
        row = self.repo.api_token(digest(token))
        if row is None or row.revoked_at is not None:
            return None
        if row.expires_at is not None and row.expires_at <= self.clock():
            return None
        user = self.repo.user(row.user_id)
        if user is None or not user.active:
            return None
        return principal_of(user)


def check_password(password: str) -> None:
    """At least MIN_PASSWORD_LENGTH characters with letters and digits."""
    if len(password) < MIN_PASSWORD_LENGTH or not (
        re.search(r"[A-Za-z]", password) and re.search(r"\d", password)
    ):
        raise BadInput(
            f"密码至少 {MIN_PASSWORD_LENGTH} 位，且须同时包含字母和数字",
            code="user.password",
            field="password",
        )


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False

"""SQL of users, sessions and API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from roadcert.accounts.models import ApiToken, User, WebSession


class AccountRepository:
    """Queries on the account tables of one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: object) -> None:
        self.session.add(row)
        self.session.flush()

    def user(self, user_id: int) -> User | None:
        return self.session.get(User, user_id)

    def user_by_name(self, username: str) -> User | None:
        return self.session.scalar(select(User).where(User.username == username))

    def users(self) -> list[User]:
        return list(self.session.scalars(select(User).order_by(User.role, User.username)))

    def count_users(self) -> int:
        return self.session.scalar(select(func.count()).select_from(User)) or 0

    def web_session(self, token_sm3: str) -> WebSession | None:
        return self.session.scalar(select(WebSession).where(WebSession.token_sm3 == token_sm3))

    def delete_session(self, row: WebSession) -> None:
        self.session.delete(row)
        self.session.flush()

    def delete_expired_sessions(self, now: datetime) -> int:
        result = self.session.execute(delete(WebSession).where(WebSession.expires_at < now))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def delete_sessions_of(self, user_id: int) -> None:
        self.session.execute(delete(WebSession).where(WebSession.user_id == user_id))

    def api_token(self, token_sm3: str) -> ApiToken | None:
        return self.session.scalar(select(ApiToken).where(ApiToken.token_sm3 == token_sm3))

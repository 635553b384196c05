"""Tables of users, their web sessions and their API tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from roadcert.db import Base, UTCDateTime, utcnow


class Role(StrEnum):
    """What a user is to the system (DESIGN.md §1)."""

    ADMIN = "admin"  # 省级管理部门
    CLERK = "clerk"  # 发证机关窗口
    OFFICER = "officer"  # 执法人员
    ENTERPRISE = "enterprise"  # 经营业户
    PRACTITIONER = "practitioner"  # 从业人员

    @property
    def label(self) -> str:
        return {
            "admin": "省级管理员",
            "clerk": "发证机关工作人员",
            "officer": "执法人员",
            "enterprise": "经营业户",
            "practitioner": "从业人员",
        }[self.value]

    @property
    def is_staff(self) -> bool:
        return self in (Role.ADMIN, Role.CLERK)


class User(Base):
    """A person or enterprise account. Holders are bound to their code, clerks to an authority."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    # The clerk's issuing authority (核发机关); None for every other role.
    authority_id: Mapped[int | None] = mapped_column(ForeignKey("authority.id"))
    # The enterprise's USCC or the practitioner's ID number: what binds a holder to its certs.
    holder_code: Mapped[str | None] = mapped_column(String(30), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SM3 digest is stored."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sm3: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    client_ip: Mapped[str] = mapped_column(String(64), default="")


class ApiToken(Base):
    """A bearer token for programs using the JSON API on a user's behalf."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sm3: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

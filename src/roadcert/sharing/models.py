"""Grants of access to one certificate, and the 亮证 codes already used."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from roadcert.db import Base, UTCDateTime, utcnow


class ShareGrant(Base):
    """A holder lets a named party see one certificate in full until ``expires_at`` (seed 002 §6.3).

    The grant follows the certificate (its serial), not one version, so a renewal keeps it.
    The link holds a random token; only its SM3 digest is stored.
    """

    __tablename__ = "share_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sm3: Mapped[str] = mapped_column(String(64), unique=True)
    serial: Mapped[str] = mapped_column(String(40), index=True)
    holder_code: Mapped[str] = mapped_column(String(30), index=True)
    grantee: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ShowCodeUse(Base):
    """A 亮证 code that has been verified once; a second use of the same code is refused."""

    __tablename__ = "show_code_use"

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(32), unique=True)
    ecert_id: Mapped[int] = mapped_column(ForeignKey("ecert.id"))
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_by: Mapped[str] = mapped_column(String(200))

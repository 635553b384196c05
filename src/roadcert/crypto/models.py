"""Records of the key hierarchy: which keys exist, their certificates, whether trusted."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from roadcert.db import Base, UTCDateTime, utcnow


class KeyRole(StrEnum):
    """Place of a key in the hierarchy national root → provincial CA → authority signing key."""

    ROOT = "root"
    PROVINCE = "province"
    SIGNING = "signing"


class KeyState(StrEnum):
    """ACTIVE signs; RETIRED no longer signs but still verifies; WITHDRAWN is no longer trusted."""

    ACTIVE = "active"
    RETIRED = "retired"
    WITHDRAWN = "withdrawn"


class KeyRecord(Base):
    """One key of the hierarchy: its label in the key store and its X.509 certificate."""

    __tablename__ = "key_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[str] = mapped_column(String(10))
    authority_id: Mapped[int | None] = mapped_column(ForeignKey("authority.id"), index=True)
    issuer_id: Mapped[int | None] = mapped_column(ForeignKey("key_record.id"))
    certificate: Mapped[bytes] = mapped_column(LargeBinary)  # DER
    key_id: Mapped[str] = mapped_column(String(16), unique=True)  # hex of 8 bytes of SM3(cert)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    not_after: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(10), default=KeyState.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

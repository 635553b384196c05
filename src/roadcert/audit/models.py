"""The audit event table: append-only, one row for every view, download, verification and change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from roadcert.db import Base, UTCDateTime, utcnow


class AuditEvent(Base):
    """``tag`` is ``domain:subject:action`` (e.g. ``certificates:ecert:viewed``)."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_subject_at", "subject", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    tag: Mapped[str] = mapped_column(String(80), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # Who, in words that outlive the user row: "张三（执法人员）", "公众", a grantee.
    actor: Mapped[str] = mapped_column(String(200))
    # What it concerns: an e-cert's certificate serial, a ledger record "vehicle:12", a user.
    subject: Mapped[str] = mapped_column(String(120), default="")
    client_ip: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

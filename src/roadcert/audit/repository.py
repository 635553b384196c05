"""SQL of audit events."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from roadcert.audit.models import AuditEvent


class AuditRepository:
    """Append and read audit events."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, event: AuditEvent) -> None:
        self.session.add(event)

    def for_subjects(
        self, subjects: Sequence[str], tags: Sequence[str] | None = None, limit: int = 200
    ) -> list[AuditEvent]:
        """The newest events about any of ``subjects``, optionally only of ``tags``."""
        if not subjects:
            return []
        query = select(AuditEvent).where(AuditEvent.subject.in_(list(subjects)))
        if tags:
            query = query.where(AuditEvent.tag.in_(list(tags)))
        query = query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
        return list(self.session.scalars(query))

    def latest(self, tag_prefix: str | None = None, limit: int = 100) -> list[AuditEvent]:
        query = select(AuditEvent)
        if tag_prefix:
            query = query.where(AuditEvent.tag.startswith(tag_prefix))
        query = query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
        return list(self.session.scalars(query))

"""All SQL of the key hierarchy records."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from roadcert.crypto.models import KeyRecord, KeyRole, KeyState


class KeyRepository:
    """Queries on key records for one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, record: KeyRecord) -> None:
        """Stage a new key record."""
        self.session.add(record)
        self.session.flush()

    def get(self, record_id: int) -> KeyRecord | None:
        """A key record by id."""
        return self.session.get(KeyRecord, record_id)

    def by_key_id(self, key_id: str) -> KeyRecord | None:
        """A key record by its 8-byte certificate key id (hex)."""
        return self.session.scalars(select(KeyRecord).where(KeyRecord.key_id == key_id)).first()

    def current(self, role: KeyRole, authority_id: int | None = None) -> KeyRecord | None:
        """The newest active key of a role (and authority)."""
        query = select(KeyRecord).where(KeyRecord.role == role, KeyRecord.state == KeyState.ACTIVE)
        if authority_id is not None:
            query = query.where(KeyRecord.authority_id == authority_id)
        return self.session.scalars(query.order_by(KeyRecord.id.desc())).first()

    def all(self) -> Sequence[KeyRecord]:
        """Every key record, root first."""
        return self.session.scalars(select(KeyRecord).order_by(KeyRecord.id)).all()

"""All SQL of sharing: grants, used show codes, and what belongs to one holder."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from roadcert.audit.models import AuditEvent
from roadcert.certificates.models import Ecert
from roadcert.registry.models import Authority, Photo
from roadcert.sharing.models import ShareGrant, ShowCodeUse


class SharingRepository:
    """Queries for one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- what a holder has ---------------------------------------------------------------------

    def holder_certificates(self, holder_code: str) -> list[Ecert]:
        """The newest version of every certificate (serial) the holder has, by type and serial."""
        newest = (
            select(Ecert.serial, func.max(Ecert.version).label("version"))
            .where(Ecert.holder_code == holder_code)
            .group_by(Ecert.serial)
            .subquery()
        )
        query = (
            select(Ecert)
            .join(newest, (Ecert.serial == newest.c.serial) & (Ecert.version == newest.c.version))
            .where(Ecert.holder_code == holder_code)
            .order_by(Ecert.type_code, Ecert.id)
        )
        return list(self.session.scalars(query))

    def newest_version(self, serial: str) -> Ecert | None:
        """The newest version of one certificate."""
        return self.session.scalars(
            select(Ecert).where(Ecert.serial == serial).order_by(Ecert.version.desc()).limit(1)
        ).first()

    def authority(self, authority_id: int) -> Authority | None:
        return self.session.get(Authority, authority_id)

    def photo(self, photo_id: int) -> Photo | None:
        return self.session.get(Photo, photo_id)

    # -- grants --------------------------------------------------------------------------------

    def add_grant(self, grant: ShareGrant) -> ShareGrant:
        self.session.add(grant)
        self.session.flush()
        return grant

    def grant(self, grant_id: int) -> ShareGrant | None:
        return self.session.get(ShareGrant, grant_id)

    def grant_by_token(self, token_sm3: str) -> ShareGrant | None:
        return self.session.scalars(
            select(ShareGrant).where(ShareGrant.token_sm3 == token_sm3)
        ).first()

    def grants_of(self, holder_code: str) -> Sequence[ShareGrant]:
        """The holder's grants, newest first."""
        return self.session.scalars(
            select(ShareGrant)
            .where(ShareGrant.holder_code == holder_code)
            .order_by(ShareGrant.id.desc())
        ).all()

    def access_counts(self, subjects: Sequence[str], tag: str) -> dict[int, int]:
        """How many ``tag`` events each grant has (events carry ``grant`` in their details)."""
        if not subjects:
            return {}
        grant_id = AuditEvent.details["grant"].as_integer()
        rows = self.session.execute(
            select(grant_id, func.count())
            .where(AuditEvent.subject.in_(list(subjects)), AuditEvent.tag == tag)
            .group_by(grant_id)
        )
        return {int(gid): int(count) for gid, count in rows if gid is not None}

    # -- show codes ----------------------------------------------------------------------------

    def claim_nonce(self, nonce: str, ecert_id: int, used_by: str, at: datetime) -> bool:
        """Record the first use of a show code; False if it was used before.

        The unique constraint on ``nonce`` decides, so two checks of the same code racing in
        two transactions cannot both win; the SAVEPOINT keeps the caller's transaction usable
        after the refused insert.
        """
        try:
            with self.session.begin_nested():
                self.session.add(
                    ShowCodeUse(nonce=nonce, ecert_id=ecert_id, used_by=used_by[:200], used_at=at)
                )
        except IntegrityError:
            return False
        return True

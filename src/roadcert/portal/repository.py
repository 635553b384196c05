"""All SQL of the enterprise and staff pages: searching the ledger, paging, counting.

The ledger's own repository answers one record at a time; these pages list, search and count
across the records of one authority (a clerk), of the province (the admin) or of one holder.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from roadcert.certificates.models import Ecert
from roadcert.db import Base
from roadcert.registry.models import (
    Authority,
    Licence,
    Operator,
    PhotoReview,
    PhotoSubmission,
    Practitioner,
    QualityIssue,
    Vehicle,
)

M = TypeVar("M", bound=Base)


def _like(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, with LIKE's own wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class PortalRepository:
    """Queries behind the list pages, for one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _page(
        self, query: Select[M], order: Any, offset: int, limit: int
    ) -> tuple[Sequence[M], int]:
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = self.session.scalars(query.order_by(order).offset(offset).limit(limit)).all()
        return rows, total

    # -- ledger lists ------------------------------------------------------------------------

    def operators(
        self, *, authority_id: int | None, text: str, status: str | None, offset: int, limit: int
    ) -> tuple[Sequence[Operator], int]:
        """Operators whose name or USCC contains ``text``."""
        query = select(Operator)
        if authority_id is not None:
            query = query.where(Operator.authority_id == authority_id)
        if text:
            pattern = _like(text)
            query = query.where(
                or_(
                    Operator.name.like(pattern, escape="\\"),
                    Operator.uscc.like(pattern, escape="\\"),
                )
            )
        if status:
            query = query.where(Operator.status == status)
        return self._page(query, Operator.id, offset, limit)

    def vehicles(
        self,
        *,
        authority_id: int | None,
        text: str,
        offset: int,
        limit: int,
        operator_ids: Collection[int] | None = None,
    ) -> tuple[Sequence[Vehicle], int]:
        """Vehicles whose plate or 道路运输证号 contains ``text``, of some operators if given."""
        query = select(Vehicle)
        if authority_id is not None:
            query = query.where(Vehicle.authority_id == authority_id)
        if operator_ids is not None:
            query = query.where(Vehicle.operator_id.in_(list(operator_ids) or [0]))
        if text:
            pattern = _like(text)
            query = query.where(
                or_(
                    Vehicle.plate.like(pattern, escape="\\"),
                    Vehicle.transport_number.like(pattern, escape="\\"),
                )
            )
        return self._page(query, Vehicle.id, offset, limit)

    def practitioners(
        self, *, authority_id: int | None, text: str, offset: int, limit: int
    ) -> tuple[Sequence[Practitioner], int]:
        """Practitioners whose name, ID number or 从业资格证号 contains ``text``."""
        query = select(Practitioner)
        if authority_id is not None:
            query = query.where(Practitioner.authority_id == authority_id)
        if text:
            pattern = _like(text)
            query = query.where(
                or_(
                    Practitioner.name.like(pattern, escape="\\"),
                    Practitioner.id_number.like(pattern, escape="\\"),
                    Practitioner.certificate_number.like(pattern, escape="\\"),
                )
            )
        return self._page(query, Practitioner.id, offset, limit)

    def operators_by_uscc(self, code: str) -> Sequence[Operator]:
        """Every operator record carrying this USCC (legacy data may hold duplicates)."""
        return self.session.scalars(
            select(Operator).where(Operator.uscc == code).order_by(Operator.id)
        ).all()

    def licences_of(self, operator_ids: Collection[int]) -> Sequence[Licence]:
        """The licences of some operators, oldest first."""
        return self.session.scalars(
            select(Licence)
            .where(Licence.operator_id.in_(list(operator_ids) or [0]))
            .order_by(Licence.id)
        ).all()

    def counts_by_operator(
        self, model: type[Licence] | type[Vehicle], ids: list[int]
    ) -> dict[int, int]:
        """How many licences (or vehicles) each operator has."""
        if not ids:
            return {}
        rows = self.session.execute(
            select(model.operator_id, func.count())
            .where(model.operator_id.in_(ids))
            .group_by(model.operator_id)
        )
        return {operator_id: count for operator_id, count in rows}

    def authorities(self) -> Sequence[Authority]:
        """Every issuing authority, for the admin's filter."""
        return self.session.scalars(select(Authority).order_by(Authority.region_code)).all()

    # -- e-certs -----------------------------------------------------------------------------

    def ecerts_of_sources(self, source_kind: str, source_ids: list[int]) -> Sequence[Ecert]:
        """Every e-cert version made from these ledger records, newest first."""
        if not source_ids:
            return []
        return self.session.scalars(
            select(Ecert)
            .where(Ecert.source_kind == source_kind, Ecert.source_id.in_(source_ids))
            .order_by(Ecert.id.desc())
        ).all()

    def ecerts(
        self,
        *,
        authority_id: int | None,
        type_code: str | None,
        status: str | None,
        text: str,
        offset: int,
        limit: int,
    ) -> tuple[Sequence[Ecert], int]:
        """E-cert versions by type, status and a number or holder containing ``text``."""
        query = select(Ecert)
        if authority_id is not None:
            query = query.where(Ecert.authority_id == authority_id)
        if type_code:
            query = query.where(Ecert.type_code == type_code)
        if status:
            query = query.where(Ecert.status == status)
        if text:
            pattern = _like(text)
            query = query.where(
                or_(
                    Ecert.number.like(pattern, escape="\\"),
                    Ecert.holder_name.like(pattern, escape="\\"),
                    Ecert.holder_code.like(pattern, escape="\\"),
                )
            )
        return self._page(query, Ecert.id.desc(), offset, limit)

    def ecert_counts(self, authority_id: int | None) -> dict[str, int]:
        """How many e-cert versions of the authority (or province) are in each state."""
        query = select(Ecert.status, func.count()).group_by(Ecert.status)
        if authority_id is not None:
            query = query.where(Ecert.authority_id == authority_id)
        return {status: count for status, count in self.session.execute(query)}

    # -- 不规范数据 and photos ---------------------------------------------------------------

    def open_issues(
        self, *, authority_id: int | None, entity: str | None, offset: int, limit: int
    ) -> tuple[Sequence[QualityIssue], int]:
        """Unresolved 不规范数据 findings, by authority then record."""
        query = select(QualityIssue).where(QualityIssue.resolved_at.is_(None))
        if authority_id is not None:
            query = query.where(QualityIssue.authority_id == authority_id)
        if entity:
            query = query.where(QualityIssue.entity == entity)
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = self.session.scalars(
            query.order_by(
                QualityIssue.authority_id,
                QualityIssue.entity,
                QualityIssue.entity_id,
                QualityIssue.id,
            )
            .offset(offset)
            .limit(limit)
        ).all()
        return rows, total

    def open_issue_counts(self, authority_id: int | None) -> list[tuple[int, str, int]]:
        """(authority id, entity, count) of unresolved findings."""
        query = (
            select(QualityIssue.authority_id, QualityIssue.entity, func.count())
            .where(QualityIssue.resolved_at.is_(None))
            .group_by(QualityIssue.authority_id, QualityIssue.entity)
            .order_by(QualityIssue.authority_id, QualityIssue.entity)
        )
        if authority_id is not None:
            query = query.where(QualityIssue.authority_id == authority_id)
        return [(a, e, n) for a, e, n in self.session.execute(query)]

    def names_of(self, entity: str, ids: list[int]) -> dict[int, str]:
        """Display names of ledger records (业户名称, 号牌, 姓名, 许可证号) by id."""
        if not ids:
            return {}
        columns: dict[str, Any] = {
            "operator": (Operator.id, Operator.name),
            "vehicle": (Vehicle.id, Vehicle.plate),
            "practitioner": (Practitioner.id, Practitioner.name),
            "licence": (Licence.id, Licence.number),
        }
        if entity not in columns:
            return {}
        key, name = columns[entity]
        return {i: n for i, n in self.session.execute(select(key, name).where(key.in_(ids)))}

    def pending_photo_count(self, authority_id: int | None) -> int:
        """Uploads waiting for review."""
        query = select(func.count()).where(PhotoSubmission.review == PhotoReview.PENDING)
        if authority_id is not None:
            query = query.where(PhotoSubmission.authority_id == authority_id)
        return int(self.session.scalar(query) or 0)

    def reviewed_photos(self, authority_id: int | None, limit: int) -> Sequence[PhotoSubmission]:
        """The latest reviewed uploads, newest first."""
        query = select(PhotoSubmission).where(PhotoSubmission.review != PhotoReview.PENDING)
        if authority_id is not None:
            query = query.where(PhotoSubmission.authority_id == authority_id)
        return self.session.scalars(
            query.order_by(PhotoSubmission.reviewed_at.desc(), PhotoSubmission.id.desc()).limit(
                limit
            )
        ).all()

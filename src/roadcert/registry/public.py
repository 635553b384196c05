"""The public query (证照信息查询, seed 000 §3.1 行业查询): operators, vehicles, practitioners.

Anyone, without an account, looks up one operator (by its exact USCC or full name), one vehicle
(by plate, optionally plate colour) or one practitioner (by the exact number of the 从业资格证,
which for most people is the ID number) and learns whether it holds a valid certificate. The
answer carries masked data only (``verification/masking.py``): what identifies a person or a
business is cut to what recognises a record one already knows (seed 002 §7.3). Authorities,
business scopes, dates and states are public.

:class:`PublicQueryRepository` holds the SQL; :class:`PublicQueryService` the rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from roadcert.catalog import codes
from roadcert.catalog.types import CATALOGUE
from roadcert.certificates.faces import label, plate_text, scope_text
from roadcert.certificates.models import Ecert, SourceKind
from roadcert.certificates.service import IssuanceService
from roadcert.errors import BadInput
from roadcert.kit.masking import mask_name
from roadcert.registry.models import (
    Authority,
    Licence,
    Operator,
    Practitioner,
    RecordStatus,
    Vehicle,
)
from roadcert.verification.masking import public_code, public_number, public_plate

MAX_QUERY_CHARS: Final = 100
"""Longest query text: a full company name fits; a USCC, plate or ID number is far shorter."""

MAX_RESULTS: Final = 10
"""Most records one query answers (several operators may share a name)."""

NOT_FOUND: Final = "未查询到相关信息"
NO_ECERT: Final = "未制发电子证照"
NO_ECERT_AUTHORITY: Final = "未制发电子证照（核发机关暂未开通电子证照）"

_USCC: Final = re.compile(r"[0-9A-Z]{18}")
_PLATE_SEPARATORS: Final = re.compile(r"[\s·•.\-_]")
_RECORD_STATUS_LABELS: Final[dict[str, str]] = {
    RecordStatus.ACTIVE: "有效",
    RecordStatus.CANCELLED: "已注销",
    RecordStatus.REVOKED: "已吊销",
}


def _record_status(value: str) -> str:
    return _RECORD_STATUS_LABELS.get(value, value)


class QueryKind(StrEnum):
    """What the public may look up (seed 000 §3.1: 经营业户、营运车辆、从业人员)."""

    OPERATOR = "operator"
    VEHICLE = "vehicle"
    PRACTITIONER = "practitioner"

    @property
    def label(self) -> str:
        """Chinese name of the kind."""
        return {"operator": "经营业户", "vehicle": "营运车辆", "practitioner": "从业人员"}[
            self.value
        ]

    @property
    def hint(self) -> str:
        """What to type for this kind."""
        return {
            "operator": "统一社会信用代码或业户全称",
            "vehicle": "车牌号码，如 吉A12345",
            "practitioner": "从业资格证号（一般为身份证号码）",
        }[self.value]


@dataclass(frozen=True)
class PublicQuery:
    """One checked query: its kind, the normalised text, and a plate colour for vehicles."""

    kind: QueryKind
    text: str
    plate_color: str | None = None


def parse_query(kind: str | None, text: str | None, plate_color: str | None = None) -> PublicQuery:
    """Check what a visitor typed; every refusal is a :class:`BadInput` saying what to fix."""
    try:
        query_kind = QueryKind((kind or "").strip())
    except ValueError:
        names = "、".join(f"{k.label}（{k.value}）" for k in QueryKind)
        raise BadInput(f"查询类别应为：{names}", code="query.kind", field="kind") from None
    value = (text or "").strip()
    if not value:
        raise BadInput(f"请输入查询内容：{query_kind.hint}", code="query.empty", field="q")
    if len(value) > MAX_QUERY_CHARS:
        raise BadInput(
            f"查询内容过长：最多 {MAX_QUERY_CHARS} 个字符", code="query.too_long", field="q"
        )
    if any(not ch.isprintable() for ch in value):
        raise BadInput("查询内容含有不可见字符", code="query.invalid", field="q")
    color = (plate_color or "").strip() or None
    if query_kind is QueryKind.VEHICLE:
        value = _PLATE_SEPARATORS.sub("", value).upper()
        if color is not None:
            try:
                codes.PlateColor.from_code(color)
            except ValueError:
                raise BadInput(
                    "车牌颜色无效", code="query.plate_color", field="plate_color"
                ) from None
    else:
        color = None
        if query_kind is QueryKind.PRACTITIONER or _USCC.fullmatch(value.upper()):
            value = value.upper()
    return PublicQuery(query_kind, value, color)


class PublicQueryRepository:
    """The SQL of the public query: exact matches only, each bounded by :data:`MAX_RESULTS`."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def operators(self, *, uscc: str | None = None, name: str | None = None) -> Sequence[Operator]:
        """Operators with exactly this USCC, or exactly this name."""
        query = select(Operator)
        query = query.where(Operator.uscc == uscc) if uscc else query.where(Operator.name == name)
        return self.session.scalars(query.order_by(Operator.id).limit(MAX_RESULTS)).all()

    def licences_of(self, operator_ids: Sequence[int]) -> Sequence[Licence]:
        """The licences of these operators."""
        if not operator_ids:
            return []
        query = select(Licence).where(Licence.operator_id.in_(list(operator_ids)))
        return self.session.scalars(query.order_by(Licence.id)).all()

    def vehicles(self, plate: str, plate_color: str | None) -> Sequence[Vehicle]:
        """Vehicles with this plate (and colour, when given)."""
        query = select(Vehicle).where(Vehicle.plate == plate)
        if plate_color:
            query = query.where(Vehicle.plate_color == plate_color)
        return self.session.scalars(query.order_by(Vehicle.id).limit(MAX_RESULTS)).all()

    def practitioners(self, number: str) -> Sequence[Practitioner]:
        """The practitioner whose certificate number is exactly ``number``."""
        query = select(Practitioner).where(Practitioner.certificate_number == number)
        return self.session.scalars(query.limit(MAX_RESULTS)).all()

    def newest_ecerts(self, source_kind: str, source_ids: Sequence[int]) -> dict[int, list[Ecert]]:
        """The newest version of each certificate made from these records, by record id.

        The newest, not the current: a cancelled certificate has no current version, and the
        public should read 已注销 rather than 未制发.
        """
        if not source_ids:
            return {}
        query = (
            select(Ecert)
            .where(Ecert.source_kind == source_kind, Ecert.source_id.in_(list(source_ids)))
            .order_by(Ecert.id.desc())
        )
        out: dict[int, list[Ecert]] = {}
        seen: set[tuple[int, str]] = set()
        for ecert in self.session.scalars(query):
            if (ecert.source_id, ecert.type_code) not in seen:
                seen.add((ecert.source_id, ecert.type_code))
                out.setdefault(ecert.source_id, []).append(ecert)
        return out


class PublicQueryService:
    """Runs a public query and shapes its answer: masked, JSON-ready dicts."""

    def __init__(self, session: Session, issuance: IssuanceService) -> None:
        self.repo = PublicQueryRepository(session)
        self.issuance = issuance

    def run(self, query: PublicQuery) -> list[dict[str, Any]]:
        """The matching records, masked; an empty list when nothing matches."""
        if query.kind is QueryKind.OPERATOR:
            return self._operators(query.text)
        if query.kind is QueryKind.VEHICLE:
            return self._vehicles(query.text, query.plate_color)
        return self._practitioners(query.text)

    def _ecert_status(self, ecert: Ecert | None, authority: Authority) -> str:
        if ecert is not None:
            return self.issuance.effective_status(ecert).label
        return NO_ECERT if authority.ecert_enabled else NO_ECERT_AUTHORITY

    def _operators(self, text: str) -> list[dict[str, Any]]:
        if _USCC.fullmatch(text):
            operators = self.repo.operators(uscc=text)
        else:
            operators = self.repo.operators(name=text)
        licences = self.repo.licences_of([o.id for o in operators])
        ecerts = self.repo.newest_ecerts(SourceKind.LICENCE, [lic.id for lic in licences])
        out = []
        for operator in operators:
            own = [lic for lic in licences if lic.operator_id == operator.id]
            active = [lic for lic in own if lic.status == RecordStatus.ACTIVE]
            scopes = [scope for lic in active for scope in lic.business_scopes]
            out.append(
                {
                    "kind": QueryKind.OPERATOR.value,
                    "name": mask_name(operator.name),
                    "uscc": public_code(operator.uscc or ""),
                    "authority": operator.authority.name,
                    "status": label(codes.OperatorStatus, operator.status),
                    "business_scope": scope_text(list(dict.fromkeys(scopes))),
                    "licences": [self._licence(lic, ecerts.get(lic.id, [])) for lic in own],
                }
            )
        return out

    def _licence(self, licence: Licence, ecerts: list[Ecert]) -> dict[str, Any]:
        cert_type = CATALOGUE.get(licence.type_code)
        return {
            "type_name": cert_type.name if cert_type else licence.type_code,
            "number": public_number(licence.number),
            "business_scope": scope_text(licence.business_scopes),
            "authority": licence.authority.name,
            "valid_until": licence.valid_until.isoformat(),
            "status": _record_status(licence.status),
            "ecert_status": self._ecert_status(ecerts[0] if ecerts else None, licence.authority),
        }

    def _vehicles(self, plate: str, plate_color: str | None) -> list[dict[str, Any]]:
        vehicles = self.repo.vehicles(plate, plate_color)
        ecerts = self.repo.newest_ecerts(SourceKind.VEHICLE, [v.id for v in vehicles])
        out = []
        for vehicle in vehicles:
            own = ecerts.get(vehicle.id, [])
            newest = own[0] if own else None
            type_code = newest.type_code if newest else None
            cert_type = CATALOGUE.get(type_code) if type_code else None
            out.append(
                {
                    "kind": QueryKind.VEHICLE.value,
                    "plate": public_plate(plate_text(vehicle.plate, vehicle.plate_color)),
                    "plate_color": label(codes.PlateColor, vehicle.plate_color),
                    "vehicle_type": label(codes.VehicleType, vehicle.vehicle_type),
                    "operator_name": mask_name(vehicle.operator.name),
                    "transport_number": public_number(vehicle.transport_number),
                    "authority": vehicle.authority.name,
                    "business_scope": scope_text(vehicle.business_scopes),
                    "status": label(codes.VehicleStatus, vehicle.status),
                    "valid_until": vehicle.valid_until.isoformat(),
                    "review_valid_until": vehicle.review_valid_until.isoformat()
                    if vehicle.review_valid_until
                    else "",
                    "ecert_type": cert_type.name if cert_type else "道路运输证",
                    "ecert_status": self._ecert_status(newest, vehicle.authority),
                }
            )
        return out

    def _practitioners(self, number: str) -> list[dict[str, Any]]:
        people = self.repo.practitioners(number)
        ecerts = self.repo.newest_ecerts(SourceKind.PRACTITIONER, [p.id for p in people])
        out = []
        for person in people:
            own = ecerts.get(person.id, [])
            out.append(
                {
                    "kind": QueryKind.PRACTITIONER.value,
                    "name": mask_name(person.name),
                    "number": public_number(person.certificate_number),
                    "authority": person.authority.name,
                    "qualifications": [
                        {
                            "category": label(codes.QualificationCategory, q.category),
                            "valid_until": q.valid_until.isoformat(),
                            "status": _record_status(q.status),
                        }
                        for q in person.qualifications
                    ],
                    "ecerts": [
                        {
                            "type_name": CATALOGUE[e.type_code].name
                            if e.type_code in CATALOGUE
                            else e.type_code,
                            "valid_until": e.valid_until.isoformat(),
                            "ecert_status": self._ecert_status(e, person.authority),
                        }
                        for e in sorted(own, key=lambda e: e.type_code)
                    ],
                    "ecert_status": None if own else self._ecert_status(None, person.authority),
                }
            )
        return out

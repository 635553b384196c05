"""Ledger rules: create and change records, keep their history and their 不规范数据 findings.

Services never commit: the API request, the CLI command or the worker does.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, TypeVar

from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from roadcert.crypto.sm import sm3
from roadcert.db import Base, utcnow
from roadcert.errors import BadInput, Conflict, Forbidden, NotFound
from roadcert.registry import quality
from roadcert.registry.models import (
    Authority,
    EntryKind,
    LedgerHistory,
    Licence,
    Operator,
    Photo,
    Practitioner,
    PractitionerEntry,
    Qualification,
    QualityIssue,
    RecordStatus,
    Vehicle,
)
from roadcert.registry.repository import LedgerRepository
from roadcert.registry.schemas import (
    AuthorityIn,
    EntryIn,
    LicenceChange,
    LicenceIn,
    OperatorChange,
    OperatorIn,
    PractitionerChange,
    PractitionerIn,
    QualificationIn,
    VehicleChange,
    VehicleIn,
)

M = TypeVar("M", bound=Base)

MAX_PHOTO_BYTES = 2 * 1024 * 1024
PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}

ENTITY_NAMES: dict[type[Base], str] = {
    Authority: "authority",
    Operator: "operator",
    Licence: "licence",
    Vehicle: "vehicle",
    Practitioner: "practitioner",
}
ENTITY_LABELS = {
    "authority": "核发机关",
    "operator": "业户",
    "licence": "经营许可证",
    "vehicle": "车辆",
    "practitioner": "从业人员",
}


def snapshot(record: Base) -> dict[str, Any]:
    """The record's column values as JSON-ready data."""
    out: dict[str, Any] = {}
    for column in sa_inspect(record).mapper.column_attrs:
        value = getattr(record, column.key)
        if isinstance(value, date | datetime):
            value = value.isoformat()
        elif isinstance(value, bytes):
            continue
        out[column.key] = value
    if isinstance(record, Practitioner):
        out["qualifications"] = [snapshot(q) for q in record.qualifications]
    return out


def findings_of(record: Base) -> list[quality.Finding]:
    """Data-quality findings of a stored record."""
    if isinstance(record, Operator):
        return quality.operator_findings(_values(record))
    if isinstance(record, Licence):
        return quality.licence_findings(_values(record))
    if isinstance(record, Vehicle):
        return quality.vehicle_findings(_values(record))
    if isinstance(record, Practitioner):
        data = _values(record)
        data["qualifications"] = [_values(q) for q in record.qualifications]
        return quality.practitioner_findings(data)
    return []


def _values(record: Base) -> dict[str, Any]:
    return {c.key: getattr(record, c.key) for c in sa_inspect(record).mapper.column_attrs}


class LedgerService:
    """Changes to the ledger made by one actor in one session."""

    def __init__(self, session: Session, actor: str = "system", scope: int | None = None) -> None:
        self.session = session
        self.repo = LedgerRepository(session)
        self.actor = actor
        # The one authority a clerk may read and change; None means the whole province.
        self.scope = scope

    # -- lookups ---------------------------------------------------------------------------

    def get(self, model: type[M], record_id: int) -> M:
        """A record by id, or a 404 naming what was looked for."""
        record = self.repo.get(model, record_id)
        if record is None:
            label = ENTITY_LABELS.get(ENTITY_NAMES.get(model, ""), model.__name__)
            raise NotFound(
                f"{label} {record_id} 不存在", code=f"{ENTITY_NAMES.get(model, 'record')}.not_found"
            )
        self.ensure_in_scope(record)
        return record

    def ensure_in_scope(self, record: Base) -> None:
        """Refuse (403) a record of another authority when the service is scoped to one."""
        if self.scope is None:
            return
        if isinstance(record, Authority):
            owner: int | None = record.id
        else:
            owner = getattr(record, "authority_id", None)
        if owner is not None and owner != self.scope:
            raise Forbidden("无权访问：该记录属于其他核发机关", code="auth.not_yours")

    def _authority(self, authority_id: int) -> Authority:
        return self.get(Authority, authority_id)

    # -- history and quality -----------------------------------------------------------------

    def _record(
        self, record: Base, operation: str, note: str | None = None
    ) -> list[quality.Finding]:
        self.session.flush()
        entity = ENTITY_NAMES[type(record)]
        self.repo.add_history(
            LedgerHistory(
                entity=entity,
                entity_id=record.id,  # type: ignore[attr-defined]
                operation=operation,
                actor=self.actor,
                snapshot=snapshot(record),
                note=note,
            )
        )
        if isinstance(record, Authority):
            return []
        return self.refresh_quality(record)

    def refresh_quality(self, record: Base) -> list[quality.Finding]:
        """Re-run the rules on a record: close fixed findings, open new ones."""
        entity = ENTITY_NAMES[type(record)]
        record_id: int = record.id  # type: ignore[attr-defined]
        findings = findings_of(record)
        wanted = {(f.field, f.rule): f for f in findings}
        now = utcnow()
        for issue in self.repo.open_issues(entity, record_id):
            current = wanted.pop((issue.field, issue.rule), None)
            if current is not None:
                # Still broken, perhaps with another bad value: show what is there now.
                issue.message = current.message
                issue.value = None if current.value is None else str(current.value)[:300]
            else:
                issue.resolved_at = now
        for finding in wanted.values():
            self.session.add(
                QualityIssue(
                    authority_id=record.authority_id,  # type: ignore[attr-defined]
                    entity=entity,
                    entity_id=record_id,
                    field=finding.field,
                    rule=finding.rule,
                    message=finding.message,
                    value=None if finding.value is None else str(finding.value)[:300],
                )
            )
        return findings

    def history(self, model: type[Base], record_id: int) -> list[LedgerHistory]:
        """Every change of a record, oldest first."""
        self.get(model, record_id)
        return list(self.repo.history(ENTITY_NAMES[model], record_id))

    # -- authorities -------------------------------------------------------------------------

    def create_authority(self, data: AuthorityIn) -> Authority:
        """Register an issuing authority."""
        if self.repo.authority_by_uscc(data.uscc):
            raise Conflict(f"核发机关 {data.uscc} 已存在", code="authority.exists", field="uscc")
        authority = Authority(**data.model_dump())
        self.repo.add(authority)
        self._record(authority, "create")
        return authority

    def set_ecert_enabled(self, authority_id: int, enabled: bool) -> Authority:
        """Switch e-cert issuance on or off for an authority."""
        authority = self._authority(authority_id)
        authority.ecert_enabled = enabled
        self._record(authority, "enable" if enabled else "disable")
        return authority

    # -- operators ---------------------------------------------------------------------------

    def create_operator(self, data: OperatorIn) -> tuple[Operator, list[quality.Finding]]:
        """Record an operator; identifier problems are kept as findings, not refused."""
        self._authority(data.authority_id)
        operator = Operator(**data.model_dump())
        self.repo.add(operator)
        return operator, self._record(operator, "create")

    def change_operator(
        self, operator_id: int, data: OperatorChange
    ) -> tuple[Operator, set[str], list[quality.Finding]]:
        """变更 an operator; returns the fields that changed."""
        operator = self.get(Operator, operator_id)
        changed = _apply(operator, data)
        return operator, changed, self._record(operator, "change")

    # -- licences ----------------------------------------------------------------------------

    def create_licence(self, data: LicenceIn) -> tuple[Licence, list[quality.Finding]]:
        """Record a new licence (新增)."""
        self._authority(data.authority_id)
        self.get(Operator, data.operator_id)
        _check_order(data.valid_from, data.valid_until)
        licence = Licence(**data.model_dump(), status=RecordStatus.ACTIVE)
        self._unique(
            licence, "number", "licence.number_exists", f"经营许可证号 {data.number} 已存在"
        )
        self.repo.add(licence)
        return licence, self._record(licence, "create")

    def change_licence(self, licence_id: int, data: LicenceChange) -> tuple[Licence, set[str]]:
        """变更 a licence's business scope."""
        licence = self._active(Licence, licence_id)
        changed = _apply(licence, data)
        self._record(licence, "change")
        return licence, changed

    def renew_licence(self, licence_id: int, valid_from: date, valid_until: date) -> Licence:
        """换证 or 审验: new validity dates."""
        _check_order(valid_from, valid_until)
        licence = self._active(Licence, licence_id)
        licence.valid_from, licence.valid_until = valid_from, valid_until
        self._record(licence, "renew")
        return licence

    def cancel_licence(
        self, licence_id: int, status: RecordStatus = RecordStatus.CANCELLED
    ) -> Licence:
        """注销 or 吊销 a licence."""
        licence = self._active(Licence, licence_id)
        licence.status = status
        self._record(licence, "revoke" if status is RecordStatus.REVOKED else "cancel")
        return licence

    # -- vehicles ----------------------------------------------------------------------------

    def create_vehicle(
        self, data: VehicleIn, photo: bytes | None = None
    ) -> tuple[Vehicle, list[quality.Finding]]:
        """Record a new vehicle and its 道路运输证 (新增)."""
        self._authority(data.authority_id)
        self.get(Operator, data.operator_id)
        if data.licence_id is not None:
            self.get(Licence, data.licence_id)
        _check_order(data.valid_from, data.valid_until)
        self._unique_plate(data.plate, data.plate_color, None)
        vehicle = Vehicle(**data.model_dump(), transport_status=RecordStatus.ACTIVE)
        if photo is not None:
            vehicle.photo_id = self.store_photo(photo).id
        self._unique(
            vehicle,
            "transport_number",
            "vehicle.number_exists",
            f"道路运输证号 {data.transport_number} 已存在",
        )
        self.repo.add(vehicle)
        return vehicle, self._record(vehicle, "create")

    def change_vehicle(self, vehicle_id: int, data: VehicleChange) -> tuple[Vehicle, set[str]]:
        """变更 a vehicle."""
        vehicle = self._active(Vehicle, vehicle_id)
        self._unique_plate(
            data.plate or vehicle.plate, data.plate_color or vehicle.plate_color, vehicle
        )
        changed = _apply(vehicle, data)
        self._record(vehicle, "change")
        return vehicle, changed

    def review_vehicle(
        self, vehicle_id: int, review_valid_until: date, technical_grade: str | None
    ) -> Vehicle:
        """年审/审验: a new review date and, when assessed, a new technical grade."""
        vehicle = self._active(Vehicle, vehicle_id)
        vehicle.review_valid_until = review_valid_until
        if technical_grade is not None:
            vehicle.technical_grade = technical_grade
        self._record(vehicle, "review")
        return vehicle

    def renew_vehicle(self, vehicle_id: int, valid_from: date, valid_until: date) -> Vehicle:
        """换证 of a 道路运输证."""
        _check_order(valid_from, valid_until)
        vehicle = self._active(Vehicle, vehicle_id)
        vehicle.valid_from, vehicle.valid_until = valid_from, valid_until
        vehicle.issue_date = valid_from
        self._record(vehicle, "renew")
        return vehicle

    def cancel_vehicle(self, vehicle_id: int) -> Vehicle:
        """注销 a 道路运输证."""
        vehicle = self._active(Vehicle, vehicle_id)
        vehicle.transport_status = RecordStatus.CANCELLED
        self._record(vehicle, "cancel")
        return vehicle

    def set_vehicle_photo(self, vehicle_id: int, content: bytes) -> Vehicle:
        """Attach an approved vehicle photo."""
        vehicle = self._active(Vehicle, vehicle_id)
        vehicle.photo_id = self.store_photo(content).id
        self._record(vehicle, "photo")
        return vehicle

    # -- practitioners -------------------------------------------------------------------------

    def create_practitioner(
        self, data: PractitionerIn, photo: bytes | None = None
    ) -> tuple[Practitioner, list[quality.Finding]]:
        """Record a practitioner with their qualification categories (新增)."""
        self._authority(data.authority_id)
        categories = [q.category for q in data.qualifications]
        if len(set(categories)) != len(categories):
            raise BadInput(
                "从业资格类别重复", code="qualification.duplicate", field="qualifications"
            )
        for q in data.qualifications:
            _check_order(q.valid_from, q.valid_until)
        if self.repo.practitioner_by_id_number(data.id_number):
            raise Conflict(
                f"证件号码 {data.id_number} 的从业人员已存在",
                code="practitioner.exists",
                field="id_number",
            )
        fields = data.model_dump(exclude={"qualifications"})
        fields["certificate_number"] = data.certificate_number or data.id_number
        person = Practitioner(**fields)
        if photo is not None:
            person.photo_id = self.store_photo(photo).id
        self._unique(
            person,
            "certificate_number",
            "practitioner.number_exists",
            f"从业资格证号 {fields['certificate_number']} 已存在",
        )
        self.repo.add(person)
        for q in data.qualifications:
            self._add_qualification(person, q)
        self.session.flush()
        self.session.refresh(person)
        return person, self._record(person, "create")

    def _add_qualification(self, person: Practitioner, data: QualificationIn) -> Qualification:
        qualification = Qualification(
            practitioner_id=person.id,
            authority_id=person.authority_id,
            category=data.category,
            first_issued=data.first_issued or data.valid_from,
            valid_from=data.valid_from,
            valid_until=data.valid_until,
            status=RecordStatus.ACTIVE,
        )
        self.repo.add(qualification)
        return qualification

    def change_practitioner(
        self, practitioner_id: int, data: PractitionerChange
    ) -> tuple[Practitioner, set[str]]:
        """变更 a practitioner's personal data."""
        person = self.get(Practitioner, practitioner_id)
        changed = _apply(person, data)
        self._record(person, "change")
        return person, changed

    def add_qualification(self, practitioner_id: int, data: QualificationIn) -> Qualification:
        """Add a category to a practitioner (增项)."""
        person = self.get(Practitioner, practitioner_id)
        _check_order(data.valid_from, data.valid_until)
        if any(q.category == data.category for q in person.qualifications):
            raise Conflict(
                f"已有从业资格类别 {data.category}", code="qualification.exists", field="category"
            )
        qualification = self._add_qualification(person, data)
        self.session.refresh(person)
        self._record(person, "add_qualification")
        return qualification

    def qualification(self, practitioner_id: int, category: str) -> Qualification:
        """A practitioner's active qualification of one category."""
        person = self.get(Practitioner, practitioner_id)
        for q in person.qualifications:
            if q.category == category and q.status == RecordStatus.ACTIVE:
                return q
        raise NotFound(
            f"从业人员 {practitioner_id} 无有效的从业资格类别 {category}",
            code="qualification.not_found",
            field="category",
        )

    def renew_qualification(
        self, practitioner_id: int, category: str, valid_from: date, valid_until: date
    ) -> Qualification:
        """换证 of one category: new validity."""
        _check_order(valid_from, valid_until)
        q = self.qualification(practitioner_id, category)
        q.valid_from, q.valid_until = valid_from, valid_until
        self._record(self.get(Practitioner, practitioner_id), "renew")
        return q

    def cancel_qualification(self, practitioner_id: int, category: str) -> Qualification:
        """注销 one category."""
        q = self.qualification(practitioner_id, category)
        q.status = RecordStatus.CANCELLED
        self._record(self.get(Practitioner, practitioner_id), "cancel")
        return q

    def add_entry(self, practitioner_id: int, kind: EntryKind, data: EntryIn) -> PractitionerEntry:
        """A continuing-education or integrity-assessment entry (签注)."""
        person = self.get(Practitioner, practitioner_id)
        entry = PractitionerEntry(
            practitioner_id=person.id, kind=kind, entry_date=data.entry_date, text=data.text
        )
        self.repo.add(entry)
        self.session.refresh(person)
        self._record(person, str(kind))
        return entry

    def set_practitioner_photo(self, practitioner_id: int, content: bytes) -> Practitioner:
        """Attach a personal photo."""
        person = self.get(Practitioner, practitioner_id)
        person.photo_id = self.store_photo(content).id
        self._record(person, "photo")
        return person

    # -- photos ------------------------------------------------------------------------------

    def store_photo(self, content: bytes) -> Photo:
        """Keep a JPEG or PNG picture once, by its SM3 digest; refuse anything else."""
        if len(content) > MAX_PHOTO_BYTES:
            raise BadInput(
                f"照片过大：{len(content)} 字节，上限 {MAX_PHOTO_BYTES} 字节",
                code="photo.too_large",
                field="photo",
            )
        try:
            with Image.open(io.BytesIO(content)) as image:
                image.verify()
                kind = image.format or ""
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise BadInput("照片不是可识别的图片", code="photo.unreadable", field="photo") from exc
        if kind not in PHOTO_FORMATS:
            raise BadInput(
                f"照片格式 {kind} 不被接受：仅限 JPEG 或 PNG", code="photo.format", field="photo"
            )
        digest = sm3(content).hex()
        existing = self.repo.photo_by_sm3(digest)
        if existing is not None:
            return existing
        photo = Photo(sm3=digest, media_type=PHOTO_FORMATS[kind], content=content)
        self.repo.add(photo)
        return photo

    # -- helpers -----------------------------------------------------------------------------

    def _active(self, model: type[M], record_id: int) -> M:
        record = self.get(model, record_id)
        status = getattr(record, "transport_status", None) or getattr(record, "status", None)
        if status in (RecordStatus.CANCELLED, RecordStatus.REVOKED):
            label = ENTITY_LABELS.get(ENTITY_NAMES.get(model, ""), "记录")
            raise Conflict(f"{label} {record_id} 已注销，不能再办理业务", code="record.cancelled")
        return record

    def _unique_plate(self, plate: str, color: str, vehicle: Vehicle | None) -> None:
        existing = self.repo.vehicle_by_plate(plate, color)
        if existing is not None and existing is not vehicle:
            raise Conflict(
                f"号牌 {plate}（颜色代码 {color}）已登记为车辆 {existing.id}",
                code="vehicle.plate_exists",
                field="plate",
            )

    def _unique(self, record: Base, column: str, code: str, message: str) -> None:
        model = type(record)
        value = getattr(record, column)
        existing = self.repo.find_by(model, column, value)
        if existing is not None and existing is not record:
            raise Conflict(message, code=code, field=column)


def _apply(record: Base, change: BaseModel) -> set[str]:
    changed: set[str] = set()
    values: Mapping[str, Any] = change.model_dump(exclude_unset=True)
    for key, value in values.items():
        if value is None:
            continue
        if getattr(record, key) != value:
            setattr(record, key, value)
            changed.add(key)
    if not changed:
        raise BadInput("变更内容与现有记录相同", code="change.empty")
    return changed


def _check_order(valid_from: date, valid_until: date) -> None:
    if valid_until < valid_from:
        raise BadInput(
            f"有效期止 {valid_until} 早于有效期起 {valid_from}",
            code="validity.order",
            field="valid_until",
        )

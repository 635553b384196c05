"""Ledger tables (运政台账): authorities, operators, licences, vehicles, practitioners.

Coded values (经营范围, 车辆类型 …) are stored as the strings the source gave. A value outside
its code table is not refused: the record is kept and listed as 不规范数据 until it is fixed.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from roadcert.db import Base, UTCDateTime, utcnow

# Coded columns hold what the source gave, valid or not (it is listed as 不规范数据), so they
# are as wide as the input schemas allow rather than as the code tables need.
CODE_LENGTH = 30
# Digest of the export row a record was last imported from (roadcert import): an equal digest
# means the row has not changed since, so a re-import leaves the record alone.
IMPORT_DIGEST_LENGTH = 32


class RecordStatus(StrEnum):
    """Lifecycle of a licence or qualification record in the ledger."""

    ACTIVE = "active"  # 有效
    CANCELLED = "cancelled"  # 注销
    REVOKED = "revoked"  # 吊销


class PhotoReview(StrEnum):
    """Review state of an uploaded photo (seed 000 §1.1.5: staff approve uploads)."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Authority(Timestamped, Base):
    """An issuing authority (核发机关), e.g. 长春市交通运输局."""

    __tablename__ = "authority"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    region_code: Mapped[str] = mapped_column(String(CODE_LENGTH))
    # 证号 short name of the city (长, 松 …) used in certificate numbers.
    number_prefix: Mapped[str] = mapped_column(String(4))
    ecert_enabled: Mapped[bool] = mapped_column(Boolean, default=False)


class Photo(Base):
    """A picture of a vehicle or a person, kept once and referred to by its SM3 digest."""

    __tablename__ = "photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    sm3: Mapped[str] = mapped_column(String(64), unique=True)
    media_type: Mapped[str] = mapped_column(String(20))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PhotoSubmission(Base):
    """A photo a holder uploaded for a vehicle or for themself, waiting for staff review.

    Seed 000 §1.1.5: the enterprise uploads, the authority approves; only an approved photo
    reaches the ledger record (and so the face of the e-cert).
    """

    __tablename__ = "photo_submission"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "vehicle" or "practitioner"
    subject_kind: Mapped[str] = mapped_column(String(15))
    subject_id: Mapped[int] = mapped_column(Integer)
    authority_id: Mapped[int] = mapped_column(ForeignKey("authority.id"), index=True)
    photo_id: Mapped[int] = mapped_column(ForeignKey("photo.id"))
    submitted_by: Mapped[str] = mapped_column(String(200))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    review: Mapped[str] = mapped_column(String(10), default=PhotoReview.PENDING, index=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(200))


class Operator(Timestamped, Base):
    """An operator (经营业户) holding licences and vehicles."""

    __tablename__ = "operator"

    id: Mapped[int] = mapped_column(primary_key=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("authority.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # Not unique: legacy data holds blanks and duplicates, which are reported, not rejected.
    uscc: Mapped[str | None] = mapped_column(String(30), index=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    region_code: Mapped[str] = mapped_column(String(CODE_LENGTH))
    economic_type: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    status: Mapped[str] = mapped_column(String(CODE_LENGTH))
    # 业户编号 of the old 运政系统, the key that links its licences and vehicles in an export.
    legacy_id: Mapped[str | None] = mapped_column(String(60), unique=True)
    import_digest: Mapped[str | None] = mapped_column(String(IMPORT_DIGEST_LENGTH))

    authority: Mapped[Authority] = relationship(lazy="joined")


class Licence(Timestamped, Base):
    """An operating licence (经营许可证) of one of the four JT/T 1291 kinds."""

    __tablename__ = "licence"

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operator.id"), index=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("authority.id"), index=True)
    type_code: Mapped[str] = mapped_column(String(21))
    number: Mapped[str] = mapped_column(String(60), unique=True)
    business_scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    issue_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default=RecordStatus.ACTIVE)
    import_digest: Mapped[str | None] = mapped_column(String(IMPORT_DIGEST_LENGTH))

    operator: Mapped[Operator] = relationship(lazy="joined")
    authority: Mapped[Authority] = relationship(lazy="joined")


class Vehicle(Timestamped, Base):
    """A vehicle (营运车辆) and its 道路运输证 data."""

    __tablename__ = "vehicle"
    __table_args__ = (UniqueConstraint("plate", "plate_color"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operator.id"), index=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("authority.id"), index=True)
    licence_id: Mapped[int | None] = mapped_column(ForeignKey("licence.id"))
    plate: Mapped[str] = mapped_column(String(12))
    plate_color: Mapped[str] = mapped_column(String(CODE_LENGTH))
    vehicle_type: Mapped[str] = mapped_column(String(CODE_LENGTH))  # GA/T 16.4
    brand_model: Mapped[str] = mapped_column(String(100), default="")
    seats: Mapped[int | None] = mapped_column(Integer)
    tonnage_kg: Mapped[int | None] = mapped_column(Integer)
    length_mm: Mapped[int] = mapped_column(Integer)
    width_mm: Mapped[int] = mapped_column(Integer)
    height_mm: Mapped[int] = mapped_column(Integer)
    business_scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    technical_grade: Mapped[str] = mapped_column(String(CODE_LENGTH), default="0")
    status: Mapped[str] = mapped_column(String(CODE_LENGTH))
    ride_hailing: Mapped[bool] = mapped_column(Boolean, default=False)
    transport_number: Mapped[str] = mapped_column(String(60), unique=True)
    issue_date: Mapped[date] = mapped_column(Date)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    review_valid_until: Mapped[date | None] = mapped_column(Date)
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("photo.id"))
    transport_status: Mapped[str] = mapped_column(String(12), default=RecordStatus.ACTIVE)
    import_digest: Mapped[str | None] = mapped_column(String(IMPORT_DIGEST_LENGTH))

    operator: Mapped[Operator] = relationship(lazy="joined")
    authority: Mapped[Authority] = relationship(lazy="joined")
    licence: Mapped[Licence | None] = relationship(lazy="joined")


class Practitioner(Timestamped, Base):
    """A practitioner (从业人员), identified by a citizen ID number or another document."""

    __tablename__ = "practitioner"

    id: Mapped[int] = mapped_column(primary_key=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("authority.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    id_number: Mapped[str] = mapped_column(String(30), index=True)
    id_type: Mapped[str] = mapped_column(
        String(CODE_LENGTH), default="111"
    )  # GB/T 36903 holder code type
    sex: Mapped[str] = mapped_column(String(CODE_LENGTH))
    birth_date: Mapped[date] = mapped_column(Date)
    nationality: Mapped[str] = mapped_column(String(50), default="中华人民共和国")
    address: Mapped[str] = mapped_column(String(300), default="")
    driving_class: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    certificate_number: Mapped[str] = mapped_column(String(30), unique=True)
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("photo.id"))
    import_digest: Mapped[str | None] = mapped_column(String(IMPORT_DIGEST_LENGTH))

    authority: Mapped[Authority] = relationship(lazy="joined")
    qualifications: Mapped[list[Qualification]] = relationship(
        back_populates="practitioner", order_by="Qualification.category", lazy="selectin"
    )
    entries: Mapped[list[PractitionerEntry]] = relationship(
        order_by="PractitionerEntry.entry_date", lazy="selectin"
    )


class Qualification(Timestamped, Base):
    """One qualification category (从业资格类别) of a practitioner, with its own validity."""

    __tablename__ = "qualification"
    # The unique key's leading column serves look-ups by practitioner: no index of its own.
    __table_args__ = (UniqueConstraint("practitioner_id", "category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id"))
    authority_id: Mapped[int] = mapped_column(ForeignKey("authority.id"))
    category: Mapped[str] = mapped_column(String(CODE_LENGTH))
    first_issued: Mapped[date] = mapped_column(Date)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default=RecordStatus.ACTIVE)
    import_digest: Mapped[str | None] = mapped_column(String(IMPORT_DIGEST_LENGTH))

    practitioner: Mapped[Practitioner] = relationship(back_populates="qualifications")


class EntryKind(StrEnum):
    """Kinds of dated entries printed on a qualification certificate."""

    CONTINUING_EDUCATION = "continuing_education"  # 继续教育
    INTEGRITY_ASSESSMENT = "integrity_assessment"  # 诚信考核


class PractitionerEntry(Base):
    """A continuing-education or integrity-assessment entry (继续教育/诚信考核签注)."""

    __tablename__ = "practitioner_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    entry_date: Mapped[date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerHistory(Base):
    """Every change of a ledger record, as a snapshot of the record after the change."""

    __tablename__ = "ledger_history"
    __table_args__ = (Index("ix_ledger_history_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[int] = mapped_column(Integer)
    operation: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(100), default="system")
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)


class QualityIssue(Base):
    """A 不规范数据 finding: one rule a ledger record breaks, open until the record is fixed."""

    __tablename__ = "quality_issue"
    __table_args__ = (Index("ix_quality_issue_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("authority.id"), index=True)
    entity: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(50))
    rule: Mapped[str] = mapped_column(String(50))
    message: Mapped[str] = mapped_column(String(300))
    value: Mapped[str | None] = mapped_column(String(300))
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

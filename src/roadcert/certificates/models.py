"""E-cert records: every signed version, with the exact bytes that were signed."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from roadcert.certificates import faces
from roadcert.crypto import cbor
from roadcert.db import Base, UTCDateTime, utcnow


class EcertStatus(StrEnum):
    """Internal e-cert states; ``mot_code`` maps each onto the MOT status codes."""

    VALID = "valid"  # 有效
    SUPERSEDED = "superseded"  # 已换发: a newer version replaced it
    EXPIRED = "expired"  # 已过期
    REVOKED = "revoked"  # 注销/吊销
    SUSPENDED = "suspended"  # 暂停

    @property
    def label(self) -> str:
        """Chinese name of the state."""
        return _STATUS_LABELS[self]

    @property
    def mot_code(self) -> str:
        """The MOT e-cert status code: 10 有效, 01 已换发, 02 已过期, 09 其他."""
        return {
            EcertStatus.VALID: "10",
            EcertStatus.SUPERSEDED: "01",
            EcertStatus.EXPIRED: "02",
        }.get(self, "09")


_STATUS_LABELS = {
    EcertStatus.VALID: "有效",
    EcertStatus.SUPERSEDED: "无效（已换发）",
    EcertStatus.EXPIRED: "无效（已过期）",
    EcertStatus.REVOKED: "无效（已注销）",
    EcertStatus.SUSPENDED: "无效（暂停）",
}


class Operation(StrEnum):
    """Business operations (业务) that produce an e-cert effect (seed 000 §二, seed 002 §6)."""

    NEW = "new"  # 新增
    CHANGE = "change"  # 变更
    REISSUE = "reissue"  # 补证
    RENEW = "renew"  # 换证
    CANCEL = "cancel"  # 注销
    REVIEW = "review"  # 审验/年审
    INTEGRITY = "integrity"  # 诚信考核签注

    @property
    def label(self) -> str:
        """Chinese name of the operation."""
        return {
            "new": "新增",
            "change": "变更",
            "reissue": "补证",
            "renew": "换证",
            "cancel": "注销",
            "review": "审验",
            "integrity": "诚信考核签注",
        }[self.value]


class SourceKind(StrEnum):
    """The ledger record an e-cert is made from."""

    LICENCE = "licence"
    VEHICLE = "vehicle"
    PRACTITIONER = "practitioner"


class Ecert(Base):
    """One signed version of an e-cert. Never edited after signing except for its status."""

    __tablename__ = "ecert"
    __table_args__ = (
        UniqueConstraint("serial", "version"),
        # Each version's own entry in its authority's status list (certificates/status.py).
        UniqueConstraint("authority_id", "status_index"),
        Index("ix_ecert_source", "source_kind", "source_id"),
        # An authority's versions in id order: what its lists and counts read, and what a bulk
        # writer reads to bring its bitmap of used status indices up to date (ids above the
        # highest it has seen). SQLite's index on authority_id alone already ends in the rowid;
        # PostgreSQL's would have to meet the primary key in a bitmap of all the authority's rows.
        Index("ix_ecert_authority_id_id", "authority_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(120), unique=True)  # GB/T 36904 证照标识
    type_code: Mapped[str] = mapped_column(String(21))
    serial: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    authority_id: Mapped[int] = mapped_column(ForeignKey("authority.id"))
    source_kind: Mapped[str] = mapped_column(String(15))
    source_id: Mapped[int] = mapped_column(Integer)
    # Set only on the current version: a unique key that makes a second current version of
    # the same certificate impossible, whatever the code above the database does.
    current_key: Mapped[str | None] = mapped_column(String(60), unique=True)
    number: Mapped[str] = mapped_column(String(60))  # ZZBH 证照编号
    holder_name: Mapped[str] = mapped_column(String(200))
    holder_code: Mapped[str] = mapped_column(String(30), index=True)
    holder_code_type: Mapped[str] = mapped_column(String(3))
    issue_date: Mapped[date] = mapped_column(Date)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(12), default=EcertStatus.VALID)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_reason: Mapped[str | None] = mapped_column(String(200))
    operation: Mapped[str] = mapped_column(String(12))
    # The deterministic CBOR of the metadata and face items that was signed: the one stored
    # copy of both (``metadata_items`` and ``face`` below read it).
    signed_data: Mapped[bytes] = mapped_column(LargeBinary)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    signing_key_id: Mapped[int] = mapped_column(ForeignKey("key_record.id"))
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("ecert.id"))
    # Index into the authority's status list, drawn at random at issuance.
    status_index: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def metadata_items(self) -> dict[str, Any]:
        """The GB/T 36903 metadata items (ZZ*, CZZT*) as signed."""
        return self._items()[0]

    @property
    def face(self) -> dict[str, Any]:
        """The face items by key (``xm``, ``cphm`` …) as signed."""
        return self._items()[1]

    def _items(self) -> tuple[dict[str, Any], dict[str, Any]]:
        # Decoded once per loaded object; signed_data never changes after signing.
        cached: tuple[bytes, tuple[dict[str, Any], dict[str, Any]]] | None = self.__dict__.get(
            "_signed_items"
        )
        if cached is None or cached[0] is not self.signed_data:
            items = faces.document_items(self.type_code, cbor.decode(self.signed_data))
            cached = (self.signed_data, items)
            self.__dict__["_signed_items"] = cached
        return cached[1]

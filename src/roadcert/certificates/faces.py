"""Build an e-cert's face items and GB/T 36903 metadata from ledger records.

Pure functions: one face description per certificate type lives in the catalogue; this module
only fills values. Dates are ISO strings, photos their SM3 digest (the picture is kept apart).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any, Protocol

from roadcert.catalog import codes
from roadcert.catalog.types import CATALOGUE, CertificateType
from roadcert.crypto import cbor
from roadcert.kit.chinatime import iso_date
from roadcert.registry.models import EntryKind

# What the faces read of the ledger. The ORM records fit these, and so do the plain rows bulk
# issuance (certificates/bulk.py) reads, which is how both paths fill the same faces.


class AuthorityData(Protocol):
    """The issuing authority as a face needs it."""

    @property
    def name(self) -> str: ...
    @property
    def uscc(self) -> str: ...


class OperatorData(Protocol):
    """An operator as a face needs it."""

    @property
    def name(self) -> str: ...
    @property
    def uscc(self) -> str | None: ...
    @property
    def address(self) -> str: ...


class LicenceData(Protocol):
    """An operating licence as a face needs it."""

    @property
    def number(self) -> str: ...
    @property
    def business_scopes(self) -> list[str]: ...
    @property
    def valid_from(self) -> date: ...
    @property
    def valid_until(self) -> date: ...
    @property
    def issue_date(self) -> date: ...


class VehicleData(Protocol):
    """A vehicle as the 道路运输证 face needs it."""

    @property
    def plate(self) -> str: ...
    @property
    def plate_color(self) -> str: ...
    @property
    def vehicle_type(self) -> str: ...
    @property
    def brand_model(self) -> str: ...
    @property
    def seats(self) -> int | None: ...
    @property
    def tonnage_kg(self) -> int | None: ...
    @property
    def length_mm(self) -> int: ...
    @property
    def width_mm(self) -> int: ...
    @property
    def height_mm(self) -> int: ...
    @property
    def business_scopes(self) -> list[str]: ...
    @property
    def technical_grade(self) -> str: ...
    @property
    def transport_number(self) -> str: ...
    @property
    def issue_date(self) -> date: ...
    @property
    def valid_from(self) -> date: ...
    @property
    def valid_until(self) -> date: ...
    @property
    def review_valid_until(self) -> date | None: ...


class PractitionerData(Protocol):
    """A practitioner as the 从业资格证 face needs them."""

    @property
    def name(self) -> str: ...
    @property
    def sex(self) -> str: ...
    @property
    def birth_date(self) -> date: ...
    @property
    def nationality(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def certificate_number(self) -> str: ...
    @property
    def driving_class(self) -> str | None: ...
    @property
    def id_number(self) -> str: ...
    @property
    def id_type(self) -> str: ...


class QualificationData(Protocol):
    """One qualification category as the face prints it."""

    @property
    def category(self) -> str: ...
    @property
    def valid_from(self) -> date: ...
    @property
    def valid_until(self) -> date: ...


class EntryData(Protocol):
    """A continuing-education or integrity-assessment entry."""

    @property
    def kind(self) -> str: ...
    @property
    def entry_date(self) -> date: ...
    @property
    def text(self) -> str: ...


@dataclass(frozen=True)
class Holder:
    """持证主体: name, code and GB/T 36903 code type."""

    name: str
    code: str
    code_type: str


@dataclass(frozen=True)
class Content:
    """Everything that goes into one e-cert version before its identifier is fixed."""

    cert_type: CertificateType
    number: str
    holder: Holder
    valid_from: date
    valid_until: date
    face: dict[str, Any]


def label(table: type[codes.CodeEnum], code: str | None) -> str:
    """The Chinese label of a code, or the code itself when it is not in the table."""
    if code is None:
        return ""
    try:
        return table.from_code(code).label
    except ValueError:
        return code


def scope_text(scopes: Sequence[str]) -> str:
    """经营范围 as printed: labels joined with the Chinese comma."""
    return "，".join(label(codes.BusinessScope, s) for s in scopes)


def _classes(scopes: Sequence[str], radioactive: bool) -> str:
    out = []
    for code in scopes:
        try:
            scope = codes.BusinessScope.from_code(code)
        except ValueError:
            continue
        goods_class = scope.dangerous_goods_class()
        if goods_class and scope.is_radioactive == radioactive:
            out.append(goods_class)
    return "、".join(dict.fromkeys(out))


_USCC_CODE_TYPE = codes.HolderCodeType.from_code("001").value


def _operator_holder(operator: OperatorData) -> Holder:
    return Holder(operator.name, operator.uscc or "", _USCC_CODE_TYPE)


def licence_content(
    cert_type: CertificateType,
    licence: LicenceData,
    operator: OperatorData,
    authority: AuthorityData,
) -> Content:
    """Face of one of the four 经营许可证 types."""
    face: dict[str, Any] = {
        "operator_name": operator.name,
        "address": operator.address,
        "business_scope": scope_text(licence.business_scopes),
        "authority": authority.name,
        "valid_from": iso_date(licence.valid_from),
        "valid_until": iso_date(licence.valid_until),
        "issue_date": iso_date(licence.issue_date),
    }
    keys = {item.key for item in cert_type.face}
    if "dangerous_goods_classes" in keys:
        face["dangerous_goods_classes"] = _classes(licence.business_scopes, radioactive=False)
    if "radioactive_classes" in keys:
        face["radioactive_classes"] = _classes(licence.business_scopes, radioactive=True) or "7类"
    return Content(
        cert_type,
        licence.number,
        _operator_holder(operator),
        licence.valid_from,
        licence.valid_until,
        face,
    )


def plate_text(plate: str, color: str) -> str:
    """车牌号码 as printed: the plate with its colour, e.g. 吉A12345（黄色）."""
    return f"{plate}（{label(codes.PlateColor, color)}）"


def seats_tonnage_text(seats: int | None, tonnage_kg: int | None) -> str:
    """吨(座)位 as printed: seats for buses, tonnes for lorries."""
    parts = []
    if seats:
        parts.append(f"{seats}座")
    if tonnage_kg:
        parts.append(f"{tonnage_kg / 1000:g}吨")
    return "/".join(parts)


def transport_content(
    cert_type: CertificateType,
    vehicle: VehicleData,
    operator: OperatorData,
    licence_number: str | None,
    authority: AuthorityData,
    photo_sm3: str | None,
) -> Content:
    """Face of a 道路运输证 or 网络预约出租汽车运输证."""
    type_label = label(codes.VehicleType, vehicle.vehicle_type)
    values: dict[str, Any] = {
        "operator_name": operator.name,
        "owner_name": operator.name,
        "address": operator.address,
        "plate": plate_text(vehicle.plate, vehicle.plate_color),
        "licence_number": licence_number or "",
        "vehicle_type": f"{vehicle.brand_model}（{type_label}）"
        if vehicle.brand_model
        else type_label,
        "seats_tonnage": seats_tonnage_text(vehicle.seats, vehicle.tonnage_kg),
        "business_scope": scope_text(vehicle.business_scopes),
        "dimensions": f"{vehicle.length_mm}×{vehicle.width_mm}×{vehicle.height_mm}mm",
        "issue_date": iso_date(vehicle.issue_date),
        "valid_from": iso_date(vehicle.valid_from),
        "valid_until": iso_date(vehicle.valid_until),
        "authority": authority.name,
        "review_valid_until": iso_date(vehicle.review_valid_until)
        if vehicle.review_valid_until
        else "",
        "technical_grade": label(codes.TechnicalGrade, vehicle.technical_grade),
        "vehicle_photo": photo_sm3 or "",
    }
    return Content(
        cert_type,
        vehicle.transport_number,
        _operator_holder(operator),
        vehicle.valid_from,
        vehicle.valid_until,
        values,
    )


def qualification_content(
    cert_type: CertificateType,
    person: PractitionerData,
    qualifications: Sequence[QualificationData],
    entries: Sequence[EntryData],
    authority: AuthorityData,
    photo_sm3: str | None,
) -> Content:
    """Face of one of the three 从业资格证 types, carrying the categories it covers."""
    valid_from = min(q.valid_from for q in qualifications)
    valid_until = max(q.valid_until for q in qualifications)
    values: dict[str, Any] = {
        "name": person.name,
        "sex": label(codes.Sex, person.sex),
        "birth_date": iso_date(person.birth_date),
        "nationality": person.nationality,
        "address": person.address,
        "number": person.certificate_number,
        "driving_class": person.driving_class or "",
        # Each category's keys are written in deterministic-CBOR order (shorter first).
        "categories": [
            {
                "code": q.category,
                "label": label(codes.QualificationCategory, q.category),
                "valid_from": iso_date(q.valid_from),
                "valid_until": iso_date(q.valid_until),
            }
            for q in (
                sorted(qualifications, key=lambda q: q.category)
                if len(qualifications) > 1
                else qualifications
            )
        ],
        "valid_from": iso_date(valid_from),
        "valid_until": iso_date(valid_until),
        "authority": authority.name,
        "continuing_education": _entries(entries, EntryKind.CONTINUING_EDUCATION),
        "integrity_assessment": _entries(entries, EntryKind.INTEGRITY_ASSESSMENT),
        "person_photo": photo_sm3 or "",
    }
    holder = Holder(person.name, person.id_number, person.id_type)
    return Content(
        cert_type,
        person.certificate_number,
        holder,
        valid_from,
        valid_until,
        values,
    )


def _entries(entries: Sequence[EntryData], kind: EntryKind) -> str:
    # The face has room for a few lines: the newest three entries, oldest first (the caller
    # gives them in date order).
    if not entries:
        return ""
    newest = [e for e in entries if e.kind == kind][-3:]
    return "；".join(f"{iso_date(e.entry_date)} {e.text}" for e in newest)


def metadata(
    content: Content, identifier: str, authority: AuthorityData, issue_date: date
) -> dict[str, str]:
    """The GB/T 36903 core metadata items (ZZ*, CZZT*) of one version."""
    return {
        "ZZMC": content.cert_type.name,
        "ZZLXDM": content.cert_type.type_code,
        "ZZBH": content.number,
        "ZZBS": identifier,
        "ZZBFJG": authority.name,
        "ZZBFJGDM": authority.uscc,
        "ZZBFRQ": iso_date(issue_date),
        "CZZT": content.holder.name,
        "CZZTDM": content.holder.code,
        "CZZTDMLXDM": content.holder.code_type,
        "ZZYXQQSRQ": iso_date(content.valid_from),
        "ZZYXQJZRQ": iso_date(content.valid_until),
    }


def signed_document(
    meta: dict[str, str], cert_type: CertificateType, face: dict[str, Any]
) -> dict[str, Any]:
    """What is signed: metadata items plus face items under their KZ_* extension names.

    The keys come in deterministic-CBOR order (``document_order``), so ``cbor.encode_ordered``
    gives the RFC 8949 §4.2.1 bytes without sorting on every e-cert.
    """
    return {
        key: meta[name] if from_meta else face.get(name, "")
        for key, from_meta, name in _document_plan(cert_type.type_code)
    }


def document_items(
    type_code: str, document: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The metadata items (in ``METADATA_KEYS`` order) and the face (by item key) of a signed
    document: the inverse of ``signed_document``."""
    meta = {key: document[key] for key in METADATA_KEYS if key in document}
    face = {item.key: document.get(item.ext_code, "") for item in CATALOGUE[type_code].face}
    return meta, face


def document_order(cert_type: CertificateType) -> tuple[str, ...]:
    """The signed document's keys of ``cert_type``, in deterministic-CBOR order."""
    return _document_order(cert_type.type_code)


@cache
def _document_plan(type_code: str) -> tuple[tuple[str, bool, str], ...]:
    """Each key of the signed document in order, with where its value comes from: a metadata
    item (True, its key) or a face item (False, its item key)."""
    source = {key: (True, key) for key in METADATA_KEYS}
    for item in CATALOGUE[type_code].face:
        source[item.ext_code] = (False, item.key)
    return tuple((key, *source[key]) for key in _document_order(type_code))


@cache
def _document_order(type_code: str) -> tuple[str, ...]:
    cert_type = CATALOGUE[type_code]
    return cbor.key_order([*METADATA_KEYS, *(item.ext_code for item in cert_type.face)])


#: The GB/T 36903 metadata items ``metadata`` fills.
METADATA_KEYS = (
    "ZZMC",
    "ZZLXDM",
    "ZZBH",
    "ZZBS",
    "ZZBFJG",
    "ZZBFJGDM",
    "ZZBFRQ",
    "CZZT",
    "CZZTDM",
    "CZZTDMLXDM",
    "ZZYXQQSRQ",
    "ZZYXQJZRQ",
)

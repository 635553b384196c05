"""The nine road-transport certificate types (三类九证): type codes, holders and face layouts.

A :class:`CertificateType` says what the face (照面) of one certificate carries, in print order,
and how each item travels as a GB/T 36903 extension item (``KZ_*``). Items shared between types
are declared once below and composed into each face.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Self

from roadcert.catalog.codes import BusinessScope, QualificationCategory

__all__ = [
    "CATALOGUE",
    "DANGEROUS_GOODS_LICENCE",
    "MOT_USCC",
    "QUALIFICATION_CERTIFICATE",
    "QUALIFICATION_TYPE_FOR_CATEGORY",
    "RADIOACTIVE_LICENCE",
    "RIDE_HAILING_DRIVER_CERTIFICATE",
    "RIDE_HAILING_LICENCE",
    "RIDE_HAILING_TRANSPORT_CERTIFICATE",
    "ROAD_TRANSPORT_CERTIFICATE",
    "ROAD_TRANSPORT_LICENCE",
    "TAXI_DRIVER_CERTIFICATE",
    "CertGroup",
    "CertificateType",
    "FaceItem",
    "HolderKind",
    "PhotoKind",
    "UnknownCertificateType",
    "ValueKind",
    "by_suffix",
    "by_type_code",
    "licence_type_for_scopes",
    "type_for_category",
    "types_in_group",
]

# The Ministry of Transport (交通运输部) defines these certificates, so its USCC is the first
# 18 characters of every type code (证照类型代码, GB/T 36902/36903).
MOT_USCC = "11100000000019713D"


class CertGroup(StrEnum):
    """The three certificate groups (三类), keyed as the MOT platform keys them."""

    label: str
    standard: str

    def __new__(cls, code: str, label: str = "", standard: str = "") -> Self:
        member = str.__new__(cls, code)
        member._value_ = code
        member.label = label
        member.standard = standard
        return member

    LICENCE = "RA", "经营许可证", "JT/T 1291-2019"
    TRANSPORT = "RB", "运输证", "JT/T 1292-2019"
    QUALIFICATION = "RE", "从业资格证", "JT/T 1290-2019"


class HolderKind(StrEnum):
    """Who holds the certificate (持证主体)."""

    OPERATOR = "operator"  # 经营业户, identified by USCC
    VEHICLE_OWNER = "vehicle_owner"  # 车辆所有人, a person or an organisation
    PERSON = "person"  # 从业人员, identified by ID number


class PhotoKind(StrEnum):
    """Which photo a face shows, if any."""

    VEHICLE = "vehicle"
    PERSON = "person"


class ValueKind(StrEnum):
    """How a face item's value is represented."""

    TEXT = "text"
    DATE = "date"
    # A list of {code, label, valid_from, valid_until}: a practitioner holds several
    # qualification categories, each valid for its own period.
    CATEGORIES = "categories"
    # The hex SM3 digest of the photo bytes; the picture is stored apart so that the signed
    # face data stays small and the photo can be fetched separately.
    PHOTO = "photo"


@dataclass(frozen=True)
class FaceItem:
    """One item printed on a face: its key in our data, its printed label, its KZ_ name."""

    key: str
    label: str
    ext_code: str
    kind: ValueKind = ValueKind.TEXT
    required: bool = True


class UnknownCertificateType(KeyError, ValueError):
    """No certificate type or face item answers to the given code; catch as either base."""

    def __str__(self) -> str:
        # KeyError would show the message quoted as a repr.
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class CertificateType:
    """One of the nine certificate types and the layout of its face."""

    suffix: str
    name: str
    group: CertGroup
    holder_kind: HolderKind
    title_lines: tuple[str, ...]
    face: tuple[FaceItem, ...]
    photo: PhotoKind | None
    validity_years: int
    #: The 21-character national 证照类型代码: MOT's USCC followed by the suffix (set once:
    #: bulk issuance reads it several times for every e-cert).
    type_code: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "type_code", MOT_USCC + self.suffix)
        # Faces are composed from shared parts; catch a bad composition when the module loads
        # rather than when an e-cert is issued.
        if len(self.suffix) != 3 or not self.suffix.isdigit():
            raise ValueError(f"证照类型代码后缀应为 3 位数字：{self.suffix!r}")
        keys = [item.key for item in self.face]
        ext_codes = [item.ext_code for item in self.face]
        if len(set(keys)) != len(keys):
            raise ValueError(f"{self.name}的照面项键重复")
        if len(set(ext_codes)) != len(ext_codes):
            raise ValueError(f"{self.name}的照面扩展项名重复")
        has_photo_item = any(item.kind is ValueKind.PHOTO for item in self.face)
        if has_photo_item != (self.photo is not None):
            raise ValueError(f"{self.name}的照片声明与照面项不一致")

    def item(self, key: str) -> FaceItem:
        """Return the face item with ``key``; raise :class:`UnknownCertificateType` if absent."""
        for face_item in self.face:
            if face_item.key == key:
                return face_item
        raise UnknownCertificateType(f"{self.name}的照面没有 {key!r} 项")


_DATE = ValueKind.DATE

# Items shared by several faces, each declared once.
_OPERATOR_NAME = FaceItem("operator_name", "业户名称", "KZ_YHMC")
_OPERATOR_ADDRESS = FaceItem("address", "地址", "KZ_DZ")
_BUSINESS_SCOPE = FaceItem("business_scope", "经营范围", "KZ_JYFW")
_AUTHORITY = FaceItem("authority", "核发机关", "KZ_HFJG")
_ISSUE_DATE = FaceItem("issue_date", "发证日期", "KZ_FZRQ", _DATE)
_VALID_UNTIL = FaceItem("valid_until", "有效期至", "KZ_YXQZ", _DATE)
_PLATE = FaceItem("plate", "车牌号码", "KZ_CPHM")
_LICENCE_NUMBER = FaceItem("licence_number", "经营许可证号", "KZ_JYXKZH")
_VEHICLE_TYPE = FaceItem("vehicle_type", "车辆类型", "KZ_CLLX")
_VEHICLE_PHOTO = FaceItem("vehicle_photo", "车辆照片", "KZ_CLZP", ValueKind.PHOTO)

# 经营许可证 family: the class-scope item (危货/放射性) goes right after 经营范围.
_LICENCE_HEAD = (_OPERATOR_NAME, _OPERATOR_ADDRESS, _BUSINESS_SCOPE)
_LICENCE_TAIL = (
    _AUTHORITY,
    FaceItem("valid_from", "有效期起", "KZ_YXQQ", _DATE),
    _VALID_UNTIL,
    _ISSUE_DATE,
)
_LICENCE_FACE = _LICENCE_HEAD + _LICENCE_TAIL
_DANGEROUS_GOODS_LICENCE_FACE = (
    *_LICENCE_HEAD,
    FaceItem("dangerous_goods_classes", "危险货物类别", "KZ_WXHWLB"),
    *_LICENCE_TAIL,
)
_RADIOACTIVE_LICENCE_FACE = (
    *_LICENCE_HEAD,
    FaceItem("radioactive_classes", "放射性物品类别", "KZ_FSXWPLB"),
    *_LICENCE_TAIL,
)

# 运输证 family.
_ROAD_TRANSPORT_FACE = (
    _OPERATOR_NAME,
    _OPERATOR_ADDRESS,
    _PLATE,
    _LICENCE_NUMBER,
    _VEHICLE_TYPE,
    FaceItem("seats_tonnage", "吨(座)位", "KZ_DZW"),
    _BUSINESS_SCOPE,
    FaceItem("dimensions", "车辆尺寸", "KZ_CLCC"),
    _ISSUE_DATE,
    _VALID_UNTIL,
    _AUTHORITY,
    FaceItem("review_valid_until", "审验有效期至", "KZ_SYYXQZ", _DATE, required=False),
    FaceItem("technical_grade", "技术等级评定", "KZ_JSDJPD"),
    _VEHICLE_PHOTO,
)
_RIDE_HAILING_TRANSPORT_FACE = (
    FaceItem("owner_name", "车辆所有人", "KZ_CLSYR"),
    _OPERATOR_ADDRESS,
    _PLATE,
    _LICENCE_NUMBER,
    _VEHICLE_TYPE,
    FaceItem("valid_from", "起始日期", "KZ_QSRQ", _DATE),
    FaceItem("valid_until", "截止日期", "KZ_JZRQ", _DATE),
    _ISSUE_DATE,
    _AUTHORITY,
    _VEHICLE_PHOTO,
)

# 从业资格证 family: the taxi-driver certificates are the practitioner face without the
# 从业资格类别 line (seed 000 附件1 prints none for 网约车驾驶员证).
_PERSON_HEAD = (
    FaceItem("name", "姓名", "KZ_XM"),
    FaceItem("sex", "性别", "KZ_XB"),
    FaceItem("birth_date", "出生日期", "KZ_CSRQ", _DATE),
    FaceItem("nationality", "国籍", "KZ_GJ"),
    FaceItem("address", "住址", "KZ_ZZ"),
    FaceItem("number", "证号", "KZ_ZH"),
    FaceItem("driving_class", "准驾车型", "KZ_ZJCX", required=False),
)
_PERSON_TAIL = (
    FaceItem("valid_from", "有效起始日期", "KZ_YXQSRQ", _DATE),
    FaceItem("valid_until", "有效期限", "KZ_YXQX", _DATE),
    _AUTHORITY,
    FaceItem("continuing_education", "继续教育信息", "KZ_JXJYXX", required=False),
    FaceItem("integrity_assessment", "诚信考核信息", "KZ_CXKHXX", required=False),
    FaceItem("person_photo", "照片", "KZ_ZP", ValueKind.PHOTO),
)
_QUALIFICATION_FACE = (
    *_PERSON_HEAD,
    FaceItem("categories", "从业资格类别", "KZ_CYZGLB", ValueKind.CATEGORIES),
    *_PERSON_TAIL,
)
_DRIVER_FACE = _PERSON_HEAD + _PERSON_TAIL

_PRC = "中华人民共和国"


def _licence(suffix: str, name: str, face: tuple[FaceItem, ...]) -> CertificateType:
    # Four years: the sample licence of seed 000 附件1 runs 2018-04-03 to 2022-04-02. The same
    # term is assumed for the other three licences; their rules were not at hand, and 网约车
    # licence terms are set locally.
    return CertificateType(
        suffix=suffix,
        name=name,
        group=CertGroup.LICENCE,
        holder_kind=HolderKind.OPERATOR,
        title_lines=(_PRC, name),
        face=face,
        photo=None,
        validity_years=4,
    )


def _practitioner(
    suffix: str, name: str, title_lines: tuple[str, ...], face: tuple[FaceItem, ...]
) -> CertificateType:
    # Six years for 从业资格证 (seed 000: 2020 → 2026). The taxi-driver certificates are given
    # the same term; seed 000's 网约车驾驶员证 sample runs to 2043, which looks like a local
    # rule, not a term to default to.
    return CertificateType(
        suffix=suffix,
        name=name,
        group=CertGroup.QUALIFICATION,
        holder_kind=HolderKind.PERSON,
        title_lines=(_PRC, *title_lines),
        face=face,
        photo=PhotoKind.PERSON,
        validity_years=6,
    )


ROAD_TRANSPORT_LICENCE = _licence("008", "道路运输经营许可证", _LICENCE_FACE)
DANGEROUS_GOODS_LICENCE = _licence("016", "道路危险货物运输许可证", _DANGEROUS_GOODS_LICENCE_FACE)
RIDE_HAILING_LICENCE = _licence("074", "网络预约出租汽车经营许可证", _LICENCE_FACE)
RADIOACTIVE_LICENCE = _licence("079", "放射性物品道路运输许可证", _RADIOACTIVE_LICENCE_FACE)

ROAD_TRANSPORT_CERTIFICATE = CertificateType(
    suffix="013",
    name="道路运输证",
    group=CertGroup.TRANSPORT,
    holder_kind=HolderKind.OPERATOR,
    title_lines=(_PRC, "道路运输证"),
    face=_ROAD_TRANSPORT_FACE,
    photo=PhotoKind.VEHICLE,
    # Three years: seed 000's sample is issued in 2019 and valid to 2022; the yearly 审验
    # is tracked separately in review_valid_until.
    validity_years=3,
)
RIDE_HAILING_TRANSPORT_CERTIFICATE = CertificateType(
    suffix="073",
    name="网络预约出租汽车运输证",
    group=CertGroup.TRANSPORT,
    holder_kind=HolderKind.VEHICLE_OWNER,
    title_lines=(_PRC, "网络预约出租汽车运输证"),
    face=_RIDE_HAILING_TRANSPORT_FACE,
    photo=PhotoKind.VEHICLE,
    # No national term was found; three years follows the one local rule on record
    # (Shanghai). The vehicle's own 8-year service limit still applies on top.
    validity_years=3,
)

QUALIFICATION_CERTIFICATE = _practitioner(
    "071", "道路运输从业人员从业资格证", ("道路运输从业人员", "从业资格证"), _QUALIFICATION_FACE
)
TAXI_DRIVER_CERTIFICATE = _practitioner(
    "075", "巡游出租汽车驾驶员证", ("巡游出租汽车", "驾驶员证"), _DRIVER_FACE
)
RIDE_HAILING_DRIVER_CERTIFICATE = _practitioner(
    "072", "网络预约出租汽车驾驶员证", ("网络预约出租汽车", "驾驶员证"), _DRIVER_FACE
)

CATALOGUE: Mapping[str, CertificateType] = MappingProxyType(
    {
        cert_type.type_code: cert_type
        for cert_type in (
            ROAD_TRANSPORT_LICENCE,
            DANGEROUS_GOODS_LICENCE,
            RIDE_HAILING_LICENCE,
            RADIOACTIVE_LICENCE,
            ROAD_TRANSPORT_CERTIFICATE,
            RIDE_HAILING_TRANSPORT_CERTIFICATE,
            QUALIFICATION_CERTIFICATE,
            TAXI_DRIVER_CERTIFICATE,
            RIDE_HAILING_DRIVER_CERTIFICATE,
        )
    }
)
"""All nine types keyed by their 21-character type code, in the order of DESIGN.md §2."""

_BY_SUFFIX: Mapping[str, CertificateType] = MappingProxyType(
    {cert_type.suffix: cert_type for cert_type in CATALOGUE.values()}
)


def by_type_code(code: str) -> CertificateType:
    """Return the type whose 21-character 证照类型代码 is ``code``.

    Raises :class:`UnknownCertificateType` (a ``KeyError`` and a ``ValueError``) otherwise.
    """
    try:
        return CATALOGUE[code]
    except KeyError:
        raise UnknownCertificateType(f"未知的证照类型代码：{code!r}") from None


def by_suffix(suffix: str) -> CertificateType:
    """Return the type whose 3-digit suffix is ``suffix`` (e.g. ``"013"``)."""
    try:
        return _BY_SUFFIX[suffix]
    except KeyError:
        raise UnknownCertificateType(f"未知的证照类型代码后缀：{suffix!r}") from None


def types_in_group(group: CertGroup) -> tuple[CertificateType, ...]:
    """Return the types of one group, in catalogue order."""
    return tuple(cert_type for cert_type in CATALOGUE.values() if cert_type.group is group)


_TAXI_CATEGORY_TYPES = {
    QualificationCategory.CRUISING_TAXI_DRIVER: TAXI_DRIVER_CERTIFICATE,
    QualificationCategory.RIDE_HAILING_DRIVER: RIDE_HAILING_DRIVER_CERTIFICATE,
}
QUALIFICATION_TYPE_FOR_CATEGORY: Mapping[QualificationCategory, CertificateType] = MappingProxyType(
    {
        category: _TAXI_CATEGORY_TYPES.get(category, QUALIFICATION_CERTIFICATE)
        for category in QualificationCategory
    }
)
"""Which certificate a qualification category is printed on: the two taxi-driver categories
have certificates of their own, every other category goes on the 从业资格证."""


def type_for_category(category: QualificationCategory) -> CertificateType:
    """Return the certificate type that carries ``category``."""
    return QUALIFICATION_TYPE_FOR_CATEGORY[category]


def licence_type_for_scopes(
    scopes: Iterable[BusinessScope], *, ride_hailing: bool = False
) -> CertificateType:
    """Choose the licence for an operator's business scopes.

    Radioactive goods (UN class 7) → 放射性物品道路运输许可证 (079); other dangerous goods →
    道路危险货物运输许可证 (016); anything else → 道路运输经营许可证 (008). Ride-hailing
    (网约车) operators get 074, which has no business-scope code, so the caller says so with
    ``ride_hailing=True``; combining it with dangerous goods is refused.
    """
    scopes = tuple(scopes)
    if ride_hailing:
        if any(scope.is_dangerous for scope in scopes):
            raise ValueError("网络预约出租汽车经营许可证不能包含危险货物运输经营范围")
        return RIDE_HAILING_LICENCE
    if not scopes:
        raise ValueError("经营范围为空，无法确定经营许可证类型")
    if any(scope.is_radioactive for scope in scopes):
        return RADIOACTIVE_LICENCE
    if any(scope.is_dangerous for scope in scopes):
        return DANGEROUS_GOODS_LICENCE
    return ROAD_TRANSPORT_LICENCE

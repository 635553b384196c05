"""Tests for the nine certificate types in roadcert.catalog.types."""

from __future__ import annotations

import dataclasses
import re

import pytest
from stdnum.cn import uscc

from roadcert.catalog import types
from roadcert.catalog.codes import BusinessScope, QualificationCategory
from roadcert.catalog.types import (
    CATALOGUE,
    MOT_USCC,
    QUALIFICATION_TYPE_FOR_CATEGORY,
    CertGroup,
    CertificateType,
    FaceItem,
    HolderKind,
    PhotoKind,
    UnknownCertificateType,
    ValueKind,
    by_suffix,
    by_type_code,
    licence_type_for_scopes,
    type_for_category,
    types_in_group,
)

# DESIGN.md §2: suffix → (name, group, holder).
DESIGN_TABLE = {
    "008": ("道路运输经营许可证", CertGroup.LICENCE, HolderKind.OPERATOR),
    "016": ("道路危险货物运输许可证", CertGroup.LICENCE, HolderKind.OPERATOR),
    "074": ("网络预约出租汽车经营许可证", CertGroup.LICENCE, HolderKind.OPERATOR),
    "079": ("放射性物品道路运输许可证", CertGroup.LICENCE, HolderKind.OPERATOR),
    "013": ("道路运输证", CertGroup.TRANSPORT, HolderKind.OPERATOR),
    "073": ("网络预约出租汽车运输证", CertGroup.TRANSPORT, HolderKind.VEHICLE_OWNER),
    "071": ("道路运输从业人员从业资格证", CertGroup.QUALIFICATION, HolderKind.PERSON),
    "075": ("巡游出租汽车驾驶员证", CertGroup.QUALIFICATION, HolderKind.PERSON),
    "072": ("网络预约出租汽车驾驶员证", CertGroup.QUALIFICATION, HolderKind.PERSON),
}

# Face labels in the order seed 000 附件1 prints them (spaces between characters removed).
SEED_ROAD_TRANSPORT_LABELS = [
    "业户名称",
    "地址",
    "车牌号码",
    "经营许可证号",
    "车辆类型",
    "吨(座)位",
    "经营范围",
    "车辆尺寸",
    "发证日期",
    "有效期至",
    "核发机关",
    "审验有效期至",
    "技术等级评定",
    "车辆照片",
]
SEED_QUALIFICATION_LABELS = [
    "姓名",
    "性别",
    "出生日期",
    "国籍",
    "住址",
    "证号",
    "准驾车型",
    "从业资格类别",
    "有效起始日期",
    "有效期限",
    "核发机关",
    "继续教育信息",
    "诚信考核信息",
]
SEED_RIDE_HAILING_DRIVER_LABELS = [
    label for label in SEED_QUALIFICATION_LABELS if label != "从业资格类别"
]


def keys(cert_type: CertificateType) -> list[str]:
    return [item.key for item in cert_type.face]


def test_mot_uscc_is_valid() -> None:
    assert uscc.is_valid(MOT_USCC)


def test_exactly_the_nine_types_of_the_design() -> None:
    assert sorted(ct.suffix for ct in CATALOGUE.values()) == sorted(DESIGN_TABLE)
    for suffix, (name, group, holder) in DESIGN_TABLE.items():
        cert_type = by_suffix(suffix)
        assert (cert_type.name, cert_type.group, cert_type.holder_kind) == (name, group, holder)


@pytest.mark.parametrize("cert_type", list(CATALOGUE.values()), ids=lambda ct: ct.suffix)
def test_type_code(cert_type: CertificateType) -> None:
    code = cert_type.type_code
    assert len(code) == 21
    assert uscc.is_valid(code[:18])
    assert code == MOT_USCC + cert_type.suffix
    assert CATALOGUE[code] is cert_type
    assert by_type_code(code) is cert_type
    assert by_suffix(cert_type.suffix) is cert_type


@pytest.mark.parametrize("cert_type", list(CATALOGUE.values()), ids=lambda ct: ct.suffix)
def test_face_is_well_formed(cert_type: CertificateType) -> None:
    ext_codes = [item.ext_code for item in cert_type.face]
    assert len(set(ext_codes)) == len(ext_codes)
    assert all(re.fullmatch(r"KZ_[A-Z]+", code) for code in ext_codes)
    assert len(set(keys(cert_type))) == len(cert_type.face)
    assert all(item.label for item in cert_type.face)
    photos = [item for item in cert_type.face if item.kind is ValueKind.PHOTO]
    assert (len(photos) == 1) == (cert_type.photo is not None)
    assert cert_type.title_lines[0] == "中华人民共和国"
    assert cert_type.validity_years > 0


def test_road_transport_certificate_face_follows_seed() -> None:
    cert_type = by_suffix("013")
    assert [item.label for item in cert_type.face] == SEED_ROAD_TRANSPORT_LABELS
    assert keys(cert_type) == [
        "operator_name",
        "address",
        "plate",
        "licence_number",
        "vehicle_type",
        "seats_tonnage",
        "business_scope",
        "dimensions",
        "issue_date",
        "valid_until",
        "authority",
        "review_valid_until",
        "technical_grade",
        "vehicle_photo",
    ]
    assert cert_type.title_lines == ("中华人民共和国", "道路运输证")
    assert cert_type.photo is PhotoKind.VEHICLE
    review = cert_type.item("review_valid_until")
    assert review.kind is ValueKind.DATE and not review.required


def test_qualification_certificate_face_follows_seed() -> None:
    cert_type = by_suffix("071")
    printed = [item.label for item in cert_type.face if item.kind is not ValueKind.PHOTO]
    assert printed == SEED_QUALIFICATION_LABELS
    assert cert_type.face[-1].key == "person_photo"
    assert keys(cert_type) == [
        "name",
        "sex",
        "birth_date",
        "nationality",
        "address",
        "number",
        "driving_class",
        "categories",
        "valid_from",
        "valid_until",
        "authority",
        "continuing_education",
        "integrity_assessment",
        "person_photo",
    ]
    assert cert_type.item("categories").kind is ValueKind.CATEGORIES
    assert cert_type.title_lines == ("中华人民共和国", "道路运输从业人员", "从业资格证")
    assert cert_type.photo is PhotoKind.PERSON
    optional = {item.key for item in cert_type.face if not item.required}
    assert optional == {"driving_class", "continuing_education", "integrity_assessment"}


@pytest.mark.parametrize("suffix", ["075", "072"])
def test_taxi_driver_faces_have_no_categories(suffix: str) -> None:
    cert_type = by_suffix(suffix)
    printed = [item.label for item in cert_type.face if item.kind is not ValueKind.PHOTO]
    assert printed == SEED_RIDE_HAILING_DRIVER_LABELS
    assert keys(cert_type) == [k for k in keys(by_suffix("071")) if k != "categories"]
    assert cert_type.title_lines[2] == "驾驶员证"


def test_ride_hailing_title() -> None:
    assert by_suffix("072").title_lines == ("中华人民共和国", "网络预约出租汽车", "驾驶员证")


def test_ride_hailing_transport_face() -> None:
    cert_type = by_suffix("073")
    assert keys(cert_type) == [
        "owner_name",
        "address",
        "plate",
        "licence_number",
        "vehicle_type",
        "valid_from",
        "valid_until",
        "issue_date",
        "authority",
        "vehicle_photo",
    ]
    assert cert_type.photo is PhotoKind.VEHICLE


def test_licence_faces() -> None:
    base = [
        "operator_name",
        "address",
        "business_scope",
        "authority",
        "valid_from",
        "valid_until",
        "issue_date",
    ]
    assert keys(by_suffix("008")) == base
    assert keys(by_suffix("074")) == base
    assert keys(by_suffix("016")) == [*base[:3], "dangerous_goods_classes", *base[3:]]
    assert keys(by_suffix("079")) == [*base[:3], "radioactive_classes", *base[3:]]
    for cert_type in types_in_group(CertGroup.LICENCE):
        assert cert_type.photo is None
        assert cert_type.validity_years == 4
        for key in ("valid_from", "valid_until", "issue_date"):
            assert cert_type.item(key).kind is ValueKind.DATE


def test_shared_items_are_shared_not_copied() -> None:
    # One declaration per shared item: the same object appears in every face that uses it.
    assert by_suffix("008").item("authority") is by_suffix("071").item("authority")
    assert by_suffix("013").item("plate") is by_suffix("073").item("plate")
    assert by_suffix("075").face == by_suffix("072").face


def test_validity_years() -> None:
    assert by_suffix("071").validity_years == 6
    assert by_suffix("008").validity_years == 4


def test_groups() -> None:
    assert CertGroup.LICENCE == "RA" and CertGroup.LICENCE.standard == "JT/T 1291-2019"
    assert CertGroup.TRANSPORT == "RB" and CertGroup.TRANSPORT.standard == "JT/T 1292-2019"
    assert CertGroup.QUALIFICATION == "RE"
    assert CertGroup.QUALIFICATION.standard == "JT/T 1290-2019"
    assert CertGroup.LICENCE.label == "经营许可证"
    assert [ct.suffix for ct in types_in_group(CertGroup.LICENCE)] == ["008", "016", "074", "079"]
    assert [ct.suffix for ct in types_in_group(CertGroup.TRANSPORT)] == ["013", "073"]
    assert [ct.suffix for ct in types_in_group(CertGroup.QUALIFICATION)] == ["071", "075", "072"]


def test_unknown_codes() -> None:
    with pytest.raises(KeyError):
        by_type_code(MOT_USCC + "999")
    with pytest.raises(ValueError, match="证照类型代码"):
        by_type_code("not a code")
    with pytest.raises(UnknownCertificateType):
        by_suffix("000")
    with pytest.raises(KeyError, match="照面"):
        by_suffix("013").item("no_such_item")


def test_catalogue_is_read_only() -> None:
    with pytest.raises(TypeError):
        CATALOGUE["x"] = by_suffix("013")  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        by_suffix("013").validity_years = 1  # type: ignore[misc]


def test_bad_composition_is_refused() -> None:
    item = FaceItem("name", "姓名", "KZ_XM")
    fields = {
        "suffix": "099",
        "name": "测试证",
        "group": CertGroup.LICENCE,
        "holder_kind": HolderKind.OPERATOR,
        "title_lines": ("中华人民共和国", "测试证"),
        "photo": None,
        "validity_years": 1,
    }
    with pytest.raises(ValueError):
        CertificateType(face=(item, item), **fields)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        CertificateType(face=(item, FaceItem("other", "别名", "KZ_XM")), **fields)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        CertificateType(face=(FaceItem("p", "照片", "KZ_ZP", ValueKind.PHOTO),), **fields)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        CertificateType(face=(item,), **{**fields, "suffix": "13"})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("category", "suffix"),
    [
        (QualificationCategory.CRUISING_TAXI_DRIVER, "075"),
        (QualificationCategory.RIDE_HAILING_DRIVER, "072"),
        (QualificationCategory.PASSENGER_DRIVER, "071"),
        (QualificationCategory.FREIGHT_DRIVER, "071"),
        (QualificationCategory.DANGEROUS_GOODS_ESCORT, "071"),
        (QualificationCategory.RADIOACTIVE_DRIVER, "071"),
        (QualificationCategory.TAXI_DRIVER, "071"),
    ],
)
def test_type_for_category(category: QualificationCategory, suffix: str) -> None:
    assert type_for_category(category).suffix == suffix
    assert QUALIFICATION_TYPE_FOR_CATEGORY[category].suffix == suffix


def test_every_category_has_a_qualification_type() -> None:
    assert set(QUALIFICATION_TYPE_FOR_CATEGORY) == set(QualificationCategory)
    assert all(
        ct.group is CertGroup.QUALIFICATION for ct in QUALIFICATION_TYPE_FOR_CATEGORY.values()
    )
    # The mapping is keyed by StrEnum members, so a bare code from the database works too.
    assert QUALIFICATION_TYPE_FOR_CATEGORY["09003"].suffix == "072"  # type: ignore[index]


S = BusinessScope


@pytest.mark.parametrize(
    ("scopes", "suffix"),
    [
        ([S.CHARTER_INTER_PROVINCE, S.CHARTER_INTER_CITY], "008"),
        ([S.GENERAL_CARGO], "008"),
        ([S.GENERAL_CARGO, S.DANGEROUS_OPERATING_3], "016"),
        ([S.DANGEROUS_NON_OPERATING_2_1], "016"),
        ([S.DANGEROUS_OPERATING_3, S.DANGEROUS_OPERATING_7], "079"),
        ([S.DANGEROUS_NON_OPERATING_7], "079"),
    ],
)
def test_licence_type_for_scopes(scopes: list[BusinessScope], suffix: str) -> None:
    assert licence_type_for_scopes(scopes).suffix == suffix
    assert licence_type_for_scopes(iter(scopes)).suffix == suffix


def test_ride_hailing_licence() -> None:
    assert licence_type_for_scopes([], ride_hailing=True) is types.RIDE_HAILING_LICENCE
    assert licence_type_for_scopes([S.CHARTER_COUNTY], ride_hailing=True).suffix == "074"
    with pytest.raises(ValueError):
        licence_type_for_scopes([S.DANGEROUS_OPERATING_3], ride_hailing=True)


def test_empty_scopes_refused() -> None:
    with pytest.raises(ValueError, match="经营范围"):
        licence_type_for_scopes([])

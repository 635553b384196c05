"""Valid ledger records for tests, made through the same services a clerk uses."""

from __future__ import annotations

import io
import itertools
import random
from datetime import date, timedelta
from typing import Any

from PIL import Image

from roadcert.catalog.types import ROAD_TRANSPORT_LICENCE
from roadcert.certificates.operations import Outcome
from roadcert.kit import cert_numbers, plates, ric, uscc
from roadcert.registry.models import Authority, Licence, Operator
from roadcert.registry.schemas import (
    AuthorityIn,
    LicenceIn,
    OperatorIn,
    PractitionerIn,
    QualificationIn,
    VehicleIn,
)
from roadcert.runtime import Services

TODAY = date.today()
_rng = random.Random(7)
# 证号 serials: drawn at random they met again after a few thousand vehicles in one test
# process (a birthday collision, refused as vehicle.number_exists); counted, never.
_serials = itertools.count(1)


def png(width: int = 64, height: int = 48, colour: tuple[int, int, int] = (10, 80, 160)) -> bytes:
    """A real PNG picture."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def authority(svc: Services, *, enabled: bool = True, region: str = "220100") -> Authority:
    """An issuing authority in Changchun."""
    return svc.ledger.create_authority(
        AuthorityIn(
            name=f"测试交通运输局{_rng.randint(1000, 9999)}",
            uscc=uscc.generate(_rng, region, "1", "1"),
            region_code=region,
            number_prefix="长",
            ecert_enabled=enabled,
        )
    )


def operator(svc: Services, auth: Authority, **fields: Any) -> Operator:
    """A valid operating operator."""
    data: dict[str, Any] = {
        "authority_id": auth.id,
        "name": f"长春市测试物流{_rng.randint(1000, 9999)}有限公司",
        "uscc": uscc.generate(_rng, "220102"),
        "address": "吉林省长春市南关区人民大街1号",
        "region_code": "220102",
        "economic_type": "173",
        "status": "1",
    }
    data.update(fields)
    return svc.business.new_operator(OperatorIn(**data)).record  # type: ignore[no-any-return]


def licence(svc: Services, auth: Authority, op: Operator, **fields: Any) -> Outcome:
    """A new 道路运输经营许可证 (新增)."""
    data: dict[str, Any] = {
        "operator_id": op.id,
        "authority_id": auth.id,
        "type_code": ROAD_TRANSPORT_LICENCE.type_code,
        "number": cert_numbers.licence_number("吉", "长", "220102", next(_serials)),
        "business_scopes": ["02101"],
        "valid_from": TODAY - timedelta(days=30),
        "valid_until": TODAY + timedelta(days=1000),
        "issue_date": TODAY - timedelta(days=30),
    }
    data.update(fields)
    return svc.business.new_licence(LicenceIn(**data))


def vehicle(
    svc: Services,
    auth: Authority,
    op: Operator,
    lic: Licence | None,
    photo: bytes | None = b"png",
    **fields: Any,
) -> Outcome:
    """A new freight vehicle with its 道路运输证 (新增)."""
    data: dict[str, Any] = {
        "operator_id": op.id,
        "authority_id": auth.id,
        "licence_id": lic.id if lic else None,
        "plate": plates.generate(_rng, "吉", "A"),
        "plate_color": "2",
        "vehicle_type": "H11",
        "brand_model": "解放牌CA1250",
        "tonnage_kg": 18000,
        "length_mm": 9600,
        "width_mm": 2500,
        "height_mm": 3600,
        "business_scopes": ["02101"],
        "technical_grade": "1",
        "status": "10",
        "transport_number": cert_numbers.transport_number("吉", "长", "220100", next(_serials)),
        "issue_date": TODAY - timedelta(days=10),
        "valid_from": TODAY - timedelta(days=10),
        "valid_until": TODAY + timedelta(days=900),
        "review_valid_until": TODAY + timedelta(days=300),
    }
    data.update(fields)
    picture = png(colour=(_rng.randint(0, 255), 10, 10)) if photo == b"png" else photo
    return svc.business.new_vehicle(VehicleIn(**data), picture)


def practitioner(
    svc: Services,
    auth: Authority,
    categories: tuple[str, ...] = ("02001",),
    photo: bytes | None = b"png",
    **fields: Any,
) -> Outcome:
    """A new practitioner with the given categories (新增)."""
    birth = date(1980, 3, 14)
    data: dict[str, Any] = {
        "authority_id": auth.id,
        "name": "张三",
        "id_number": ric.generate(_rng, "220102", birth, True),
        "sex": "1",
        "birth_date": birth,
        "address": "吉林省长春市朝阳区解放大路2号",
        "driving_class": "A2",
        "qualifications": [
            QualificationIn(
                category=c,
                valid_from=TODAY - timedelta(days=100),
                valid_until=TODAY + timedelta(days=2000),
            )
            for c in categories
        ],
    }
    data.update(fields)
    picture = png(30, 40, (_rng.randint(0, 255), 200, 10)) if photo == b"png" else photo
    return svc.business.new_practitioner(PractitionerIn(**data), picture)

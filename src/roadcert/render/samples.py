"""Sample faces for the nine types, for review pictures and tests that need no database.

Each sample is shaped like ``IssuanceService.describe()`` output, with values of the kind the
seed samples print (吉林省, 长春市). The 2D code text has the length of a real one (a 229-byte
COSE_Sign1 in base32), so the QR has a real version (12 at level M).
"""

from __future__ import annotations

import base64
import hashlib
import io
from datetime import date, timedelta
from typing import Any

from PIL import Image, ImageDraw

from roadcert.catalog.types import CATALOGUE, CertGroup, CertificateType, ValueKind
from roadcert.kit import ecert_id

AUTHORITY = "长春市交通运输局"
AUTHORITY_USCC = "11220100MAH4BXKF1J"
PROVINCE = "吉林省"
ISSUED = date(2024, 4, 2)


def _values(cert_type: CertificateType) -> dict[str, Any]:
    until = ISSUED + timedelta(days=365 * cert_type.validity_years - 1)
    common: dict[str, Any] = {
        "authority": AUTHORITY,
        "issue_date": ISSUED.isoformat(),
        "valid_from": ISSUED.isoformat(),
        "valid_until": until.isoformat(),
    }
    if cert_type.group is CertGroup.LICENCE:
        scopes = {
            "016": "经营性危险货物运输（2类1项），经营性危险货物运输（3类），"
            "经营性危险货物运输（8类）",
            "074": "网络预约出租汽车客运",
            "079": "经营性危险货物运输（7类）",
        }
        return common | {
            "operator_name": "长春市宏达物流有限责任公司",
            "address": "吉林省长春市南关区人民大街3688号",
            "business_scope": scopes.get(
                cert_type.suffix, "道路普通货物运输，货物专用运输（集装箱），大型物件运输"
            ),
            "dangerous_goods_classes": "2类、3类、8类",
            "radioactive_classes": "7类（第二类、第三类放射性物品）",
        }
    if cert_type.suffix == "073":
        return common | {
            "owner_name": "王垚",
            "address": "吉林省长春市朝阳区红旗街1166号",
            "plate": "吉AD12345（绿色）",
            "licence_number": "吉交运管许可网约长字220100000027号",
            "vehicle_type": "比亚迪牌BYD7005BEV3（小型轿车）",
            "vehicle_photo": hashlib.sha256(b"car").hexdigest(),
        }
    if cert_type.group is CertGroup.TRANSPORT:
        return common | {
            "operator_name": "长春市宏达物流有限责任公司",
            "address": "吉林省长春市南关区人民大街3688号",
            "plate": "吉A7K236（黄色）",
            "licence_number": "吉交运管许可长字220102000318号",
            "vehicle_type": "解放牌CA1250P66K2L5T3E5（重型仓栅式货车）",
            "seats_tonnage": "18吨",
            "business_scope": "道路普通货物运输，货物专用运输（集装箱）",
            "dimensions": "9600×2500×3600mm",
            "review_valid_until": (ISSUED + timedelta(days=365)).isoformat(),
            "technical_grade": "一级",
            "vehicle_photo": hashlib.sha256(b"vehicle").hexdigest(),
        }
    return common | {
        "name": "张垚",
        "sex": "男",
        "birth_date": "1983-02-28",
        "nationality": "中华人民共和国",
        "address": "吉林省长春市朝阳区解放大路2号3栋2单元501室",
        "number": "220122198302284055",
        "driving_class": "A2",
        "categories": [
            {
                "code": "02001",
                "label": "道路货物运输驾驶员",
                "valid_from": ISSUED.isoformat(),
                "valid_until": until.isoformat(),
            },
            {
                "code": "03001",
                "label": "道路危险货物运输驾驶员",
                "valid_from": (ISSUED + timedelta(days=200)).isoformat(),
                "valid_until": until.isoformat(),
            },
        ],
        "continuing_education": "2024-11-20 继续教育24学时（长春市交通运输培训中心）",
        "integrity_assessment": "2025-03-15 2024年度诚信考核AAA级",
        "person_photo": hashlib.sha256(b"person").hexdigest(),
    }


def _number(cert_type: CertificateType) -> str:
    if cert_type.group is CertGroup.LICENCE:
        return "吉交运管许可长字220102000318号"
    if cert_type.group is CertGroup.TRANSPORT:
        return "吉交运管长字220100013579号"
    return "220122198302284055"


def describe(
    type_code: str, *, status: str = "valid", status_label: str = "有效"
) -> dict[str, Any]:
    """A ``describe()``-shaped dict for one type, with sample values."""
    cert_type = CATALOGUE[type_code]
    values = _values(cert_type)
    identifier = str(ecert_id.build(cert_type.type_code, AUTHORITY_USCC, "2024000318", 1))
    return {
        "identifier": identifier,
        "type_code": cert_type.type_code,
        "type_name": cert_type.name,
        "group": str(cert_type.group),
        "version": 1,
        "status": status,
        "status_label": status_label,
        "number": _number(cert_type),
        "metadata": {"ZZBFJG": AUTHORITY, "ZZBFJGDM": AUTHORITY_USCC, "ZZBS": identifier},
        "face": [
            {
                "key": item.key,
                "label": item.label,
                "ext_code": item.ext_code,
                "value": values.get(item.key, "")
                if item.kind is not ValueKind.CATEGORIES
                else values["categories"],
            }
            for item in cert_type.face
        ],
    }


def qr_text(type_code: str, host: str = "127.0.0.1:8000") -> str:
    """A 2D-code text as long as a real one: ``HTTPS://host/R/`` and 229 bytes in base32."""
    payload = hashlib.shake_256(type_code.encode()).digest(229)
    return f"HTTPS://{host}/R/" + base64.b32encode(payload).decode().rstrip("=")


def photo(kind: str) -> bytes:
    """A drawn stand-in photo: a lorry (``vehicle``), a car (``car``) or a head and shoulders
    (``person``)."""
    if kind == "car":
        image = Image.new("RGB", (640, 480), (205, 222, 236))
        draw = ImageDraw.Draw(image)
        draw.rectangle((0, 330, 640, 480), fill=(120, 120, 110))
        draw.polygon([(170, 200), (230, 140), (420, 140), (490, 200)], fill=(235, 235, 240))
        draw.rounded_rectangle((80, 195, 570, 320), 30, fill=(240, 240, 245))
        draw.polygon([(190, 200), (240, 152), (310, 152), (310, 200)], fill=(120, 160, 190))
        draw.polygon([(325, 200), (325, 152), (410, 152), (465, 200)], fill=(120, 160, 190))
        for x in (180, 470):
            draw.ellipse((x - 42, 280, x + 42, 364), fill=(25, 25, 25))
        draw.rectangle((285, 285, 365, 307), fill=(60, 170, 90))
    elif kind == "vehicle":
        image = Image.new("RGB", (640, 480), (196, 214, 232))
        draw = ImageDraw.Draw(image)
        draw.rectangle((0, 330, 640, 480), fill=(120, 120, 110))
        draw.rectangle((70, 160, 420, 340), fill=(40, 90, 160))
        draw.rectangle((420, 210, 560, 340), fill=(200, 60, 40))
        draw.rectangle((450, 225, 530, 275), fill=(210, 230, 245))
        for x in (130, 330, 490):
            draw.ellipse((x - 38, 305, x + 38, 381), fill=(25, 25, 25))
        draw.rectangle((470, 300, 540, 322), fill=(245, 200, 30))
    else:
        image = Image.new("RGB", (330, 440), (70, 130, 200))
        draw = ImageDraw.Draw(image)
        draw.ellipse((40, 300, 290, 560), fill=(30, 30, 40))
        draw.ellipse((95, 90, 235, 260), fill=(235, 200, 170))
        draw.chord((90, 70, 240, 190), 180, 360, fill=(20, 20, 20))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=88)
    return out.getvalue()

"""The QR budget: for every type, a realistic e-cert's code stays at or below version 15 at level M.

Each e-cert is issued through the services, as a clerk would (long-ish Chinese names, many
scopes and categories), signed with its authority's signing key under the kid of that key's
certificate, and read back from a real PNG of its QR. Sizes are printed (``pytest -s``) and
recorded as test properties; docs/payload.md lists them.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from roadcert.catalog.types import (
    DANGEROUS_GOODS_LICENCE,
    RADIOACTIVE_LICENCE,
    RIDE_HAILING_LICENCE,
    ROAD_TRANSPORT_LICENCE,
)
from roadcert.certificates.models import Ecert
from roadcert.crypto import x509
from roadcert.registry.models import Authority, Operator
from roadcert.render import qr
from roadcert.runtime import Services
from roadcert.verification import payload
from tests import factories as f

HOST = "ZZ.JTT.JL.GOV.CN"  # a realistic provincial host, longer than most
BUDGET_VERSION = 15
# Alphanumeric characters a version 15-M symbol holds (checked in tests/render/test_qr.py).
CAPACITY_15_M = 600
# Worst case for the index: status lists allocate at random, and any index of 2^16 or more
# takes the same five bytes.
STATUS_INDEX = 3_999_999_999

LONG_OPERATOR = "吉林省长春市宏远国际物流运输集团有限公司"
LONG_ADDRESS = "吉林省长春市绿园区西新镇长春西部现代物流园区经济开发区创业大街1688号"


def _operator(svc: Services, auth: Authority, name: str = LONG_OPERATOR) -> Operator:
    return f.operator(svc, auth, name=name, address=LONG_ADDRESS)


def _licence(type_code: str, scopes: list[str], name: str) -> Callable[[Services], Ecert]:
    def make(svc: Services) -> Ecert:
        auth = f.authority(svc)
        outcome = f.licence(
            svc, auth, _operator(svc, auth, name), type_code=type_code, business_scopes=scopes
        )
        (ecert,) = outcome.effect.issued
        return ecert

    return make


def _vehicle(ride_hailing: bool) -> Callable[[Services], Ecert]:
    def make(svc: Services) -> Ecert:
        auth = f.authority(svc)
        op = _operator(svc, auth)
        if ride_hailing:
            lic = f.licence(
                svc, auth, op, type_code=RIDE_HAILING_LICENCE.type_code, business_scopes=["01000"]
            ).record
            fields = {"vehicle_type": "K33", "plate_color": "5", "plate": "吉AD12345"}
            outcome = f.vehicle(svc, auth, op, lic, ride_hailing=True, **fields)
        else:
            lic = f.licence(svc, auth, op).record
            outcome = f.vehicle(svc, auth, op, lic, brand_model="解放牌CA4250P66K24T1A1E5")
        (ecert,) = outcome.effect.issued
        return ecert

    return make


def _practitioner(categories: tuple[str, ...]) -> Callable[[Services], Ecert]:
    def make(svc: Services) -> Ecert:
        auth = f.authority(svc)
        outcome = f.practitioner(
            svc,
            auth,
            categories,
            name="阿依古丽·买买提艾力",
            address=LONG_ADDRESS,
            driving_class="A1A2",
        )
        (ecert,) = outcome.effect.issued
        return ecert

    return make


MAKERS: dict[str, Callable[[Services], Ecert]] = {
    "008": _licence(
        ROAD_TRANSPORT_LICENCE.type_code,
        ["02101", "02201", "02202", "02203", "02302"],
        "长春市宏远国际物流运输有限责任公司",
    ),
    "016": _licence(
        DANGEROUS_GOODS_LICENCE.type_code,
        ["03121", "03122", "03123", "03131", "03141", "03161", "03181", "03191"],
        "吉林省吉化危险货物道路运输有限公司",
    ),
    "074": _licence(
        RIDE_HAILING_LICENCE.type_code, ["01000"], "长春市一汽出行网络预约出租汽车服务有限公司"
    ),
    "079": _licence(
        RADIOACTIVE_LICENCE.type_code,
        ["03170", "03131", "03181"],
        "吉林省中核放射性物品道路运输有限责任公司",
    ),
    "013": _vehicle(ride_hailing=False),
    "073": _vehicle(ride_hailing=True),
    "071": _practitioner(("01001", "02001", "03001", "03002", "03003", "03013")),
    "072": _practitioner(("09003",)),
    "075": _practitioner(("09002",)),
}


@pytest.mark.parametrize("suffix", list(MAKERS))
def test_qr_of_a_realistic_ecert_stays_within_version_15_m(
    services: Services, suffix: str, record_property: Callable[[str, object], None]
) -> None:
    ecert = MAKERS[suffix](services)
    assert ecert.type_code.endswith(suffix)
    key = services.keys.repo.get(ecert.signing_key_id)
    assert key is not None
    certificate = x509.load(key.certificate)
    kid = certificate.key_id
    assert kid.hex() == key.key_id

    claims = payload.claims_for(ecert, STATUS_INDEX)
    cose = payload.sign(claims, kid, services.keys.signer(key))
    text = payload.to_text(cose, HOST)
    version = qr.version_of(text, "M")
    spare_chars = CAPACITY_15_M - len(text)
    # Base32 spends 8 characters on 5 bytes.
    spare_bytes = spare_chars * 5 // 8
    sizes = (
        f"claims {len(claims_bytes(cose))} B, COSE {len(cose)} B, text {len(text)} chars, "
        f"QR {version}-M, spare {spare_chars} chars ≈ {spare_bytes} B"
    )
    record_property("qr", sizes)
    print(f"\n{suffix}: {sizes}")
    assert version <= BUDGET_VERSION, f"{suffix}: version {version} with {len(text)} characters"

    (found,) = qr.decode_image(qr.encode_png(text))
    assert found.version == version
    envelope = payload.open_envelope(payload.from_text(found.text))
    assert envelope.kid == kid
    assert payload.verify(envelope, certificate.public_key)
    decoded = payload.decode_claims(envelope)
    assert decoded == claims
    assert decoded.identifier == ecert.identifier
    assert decoded.holder_name == ecert.holder_name
    assert decoded.valid_until == ecert.valid_until
    _assert_key_items(suffix, ecert, decoded)


def claims_bytes(cose: bytes) -> bytes:
    return payload.open_envelope(cose).payload


def _assert_key_items(suffix: str, ecert: Ecert, claims: payload.Claims) -> None:
    if suffix in {"013", "073"}:
        assert claims.items == {"plate": ecert.face["plate"]}
    elif suffix == "071":
        assert claims.items == {
            "categories": [c["code"] for c in ecert.face["categories"]],
            "driving_class": "A1A2",
        }
    elif suffix in {"072", "075"}:
        assert claims.items == {"driving_class": "A1A2"}
    else:
        assert claims.items == {"business_scope": ecert.face["business_scope"]}

"""The JSON API end to end on both databases, with e-cert signatures checked by gmssl.

The app runs on the test's ``runtime``: each request's session joins the test transaction, so a
request's commit releases a savepoint and everything is rolled back when the test ends.
"""

from __future__ import annotations

import base64
import io
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import cbor2
import pytest
from asn1crypto import algos, pem
from asn1crypto import x509 as asn1_x509
from gmssl import func as gmssl_func
from gmssl import sm2 as gmssl_sm2
from gmssl import sm3 as gmssl_sm3
from PIL import Image
from sqlalchemy.orm import Session

from roadcert.accounts.models import Role
from roadcert.catalog.types import ROAD_TRANSPORT_CERTIFICATE, ROAD_TRANSPORT_LICENCE
from roadcert.kit import cert_numbers, plates, ric, uscc
from roadcert.registry.models import Authority
from roadcert.registry.service import MAX_PHOTO_BYTES
from roadcert.runtime import Runtime
from tests.clients import Client, api_client
from tests.factories import png

_rng = random.Random(11)
# Validity days are China days (UTC+8), as issuance counts them.
TODAY = (datetime.now(UTC) + timedelta(hours=8)).date()


@pytest.fixture
def client(runtime: Runtime) -> Client:
    """The provincial admin's API client: the ledger API is for staff only."""
    return api_client(runtime, Role.ADMIN)


# -- helpers --------------------------------------------------------------------------------------


def _created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    return body


def authority(client: Client, enabled: bool = True) -> dict[str, Any]:
    return _created(
        client.post(
            "/api/authorities",
            json={
                "name": f"长春市交通运输局{_rng.randint(100, 999)}",
                "uscc": uscc.generate(_rng, "220100", "1", "1"),
                "region_code": "220100",
                "number_prefix": "长",
                "ecert_enabled": enabled,
            },
        )
    )


def operator(client: Client, authority_id: int, **fields: Any) -> dict[str, Any]:
    data = {
        "authority_id": authority_id,
        "name": f"长春市接口物流{_rng.randint(1000, 9999)}有限公司",
        "uscc": uscc.generate(_rng, "220102"),
        "address": "吉林省长春市南关区人民大街1号",
        "region_code": "220102",
        "economic_type": "173",
        "status": "1",
    } | fields
    body = _created(client.post("/api/operators", json=data))
    record: dict[str, Any] = body["record"]
    return record


def licence(client: Client, authority_id: int, operator_id: int) -> dict[str, Any]:
    return _created(
        client.post(
            "/api/licences",
            json={
                "operator_id": operator_id,
                "authority_id": authority_id,
                "type_code": ROAD_TRANSPORT_LICENCE.type_code,
                "number": cert_numbers.licence_number(
                    "吉", "长", "220102", _rng.randint(1, 999999)
                ),
                "business_scopes": ["02101"],
                "valid_from": (TODAY - timedelta(days=30)).isoformat(),
                "valid_until": (TODAY + timedelta(days=1000)).isoformat(),
                "issue_date": (TODAY - timedelta(days=30)).isoformat(),
            },
        )
    )


def vehicle(client: Client, authority_id: int, operator_id: int, licence_id: int) -> dict[str, Any]:
    return _created(
        client.post(
            "/api/vehicles",
            json={
                "operator_id": operator_id,
                "authority_id": authority_id,
                "licence_id": licence_id,
                "plate": plates.generate(_rng, "吉", "A"),
                "plate_color": "2",
                "vehicle_type": "H11",
                "brand_model": "解放牌CA1250",
                "tonnage_kg": 18000,
                "length_mm": 9600,
                "width_mm": 2500,
                "height_mm": 3600,
                "business_scopes": ["02101"],
                "transport_number": cert_numbers.transport_number(
                    "吉", "长", "220100", _rng.randint(1, 999999)
                ),
                "issue_date": TODAY.isoformat(),
                "valid_from": TODAY.isoformat(),
                "valid_until": (TODAY + timedelta(days=900)).isoformat(),
                "review_valid_until": (TODAY + timedelta(days=300)).isoformat(),
            },
        )
    )


def _pem_certs(text: str) -> list[bytes]:
    return [der for kind, _, der in pem.unarmor(text.encode("ascii"), multiple=True)]


def gmssl_verify(cert_der: bytes, signature_der: bytes, data: bytes) -> bool:
    """Check an SM2/SM3 signature with gmssl, reading key and signature with asn1crypto only."""
    point = asn1_x509.Certificate.load(cert_der).public_key["public_key"].native
    assert len(point) == 65 and point[0] == 4  # uncompressed point 04‖X‖Y
    xy = point[1:].hex()
    signature = algos.DSASignature.load(signature_der).native
    raw = f"{signature['r']:064x}{signature['s']:064x}"
    crypt = gmssl_sm2.CryptSM2(private_key=None, public_key=xy)
    # gmssl's constructor runs public_key.lstrip("04") when the hex starts with "04", which eats
    # leading "0" and "4" digits of X too (1 key in 256); set the exact X‖Y it must use.
    crypt.public_key = xy
    return bool(crypt.verify_with_sm3(raw, data))


def check_signature(body: dict[str, Any]) -> bytes:
    """Verify an e-cert's signature and chain as an outside verifier would; the signed bytes."""
    signature = body["signature"]
    assert signature["alg"] == "SM2-SM3"
    assert signature["user_id"] == "1234567812345678"
    value = base64.b64decode(signature["value"], validate=True)
    signed = base64.b64decode(signature["signed_data"], validate=True)
    chain = _pem_certs(signature["cert_chain"])
    assert len(chain) == 3
    leaf, ca, root = (asn1_x509.Certificate.load(der) for der in chain)
    # Signer first, then its issuer, then the self-signed root.
    assert leaf.issuer == ca.subject and ca.issuer == root.subject and root.issuer == root.subject
    assert not leaf.ca and ca.ca and root.ca
    assert leaf.key_identifier != ca.key_identifier
    # key_id is the first 8 bytes of the SM3 of the signer certificate's DER.
    fingerprint = gmssl_sm3.sm3_hash(gmssl_func.bytes_to_list(chain[0]))
    assert signature["key_id"] == fingerprint[:16]
    assert gmssl_verify(chain[0], value, signed)
    tampered = bytearray(signed)
    tampered[len(tampered) // 2] ^= 0x01
    assert not gmssl_verify(chain[0], value, bytes(tampered))
    # Not signed by the CA above it.
    assert not gmssl_verify(chain[1], value, signed)
    return signed


def test_requests_commit_into_the_test_transaction(client: Client, session: Session) -> None:
    # Each request commits (a savepoint here); a refused request rolls back only its own work.
    first = authority(client)
    assert session.get(Authority, first["id"]) is not None
    duplicate = {k: first[k] for k in ("name", "uscc", "region_code", "number_prefix")}
    _error(client.post("/api/authorities", json=duplicate), 409, "authority.exists")
    second = authority(client)
    assert {a["id"] for a in _ok(client.get("/api/authorities"))} >= {first["id"], second["id"]}
    assert session.get(Authority, second["id"]) is not None


# -- the ledger to a signed e-cert ---------------------------------------------------------------


def test_authority_operator_licence_gives_a_signed_ecert(client: Client) -> None:
    auth = authority(client)
    assert auth["ecert_enabled"] is True and isinstance(auth["id"], int)
    op = operator(client, auth["id"])
    body = licence(client, auth["id"], op["id"])

    assert body["findings"] == []
    assert body["ecerts"]["refused"] == []
    (issued,) = body["ecerts"]["issued"]
    assert issued["version"] == 1
    assert issued["status"] == "valid"
    assert issued["type_code"] == ROAD_TRANSPORT_LICENCE.type_code
    assert issued["identifier"].startswith(
        f"1.2.156.3005.2.{ROAD_TRANSPORT_LICENCE.type_code}.{auth['uscc']}."
    )
    assert issued["identifier"].split(".")[-2] == "001"

    shown = _ok(client.get(f"/api/ecerts/{issued['identifier']}"))
    assert shown["identifier"] == issued["identifier"]
    assert shown["holder_name"] == op["name"]
    assert shown["holder_code"] == op["uscc"]
    assert shown["status"] == "valid" and shown["mot_status_code"] == "10"
    signed = check_signature(shown)

    # What was signed is the deterministic CBOR of metadata and face items (read with cbor2).
    document = cbor2.loads(signed)
    assert document["ZZBS"] == issued["identifier"]
    assert document["ZZLXDM"] == ROAD_TRANSPORT_LICENCE.type_code
    assert document["ZZBFJGDM"] == auth["uscc"]
    assert document["CZZT"] == op["name"]
    assert document["CZZTDMLXDM"] == "001"
    assert document["KZ_YHMC"] == op["name"]
    assert document["KZ_JYFW"] == "道路普通货物运输"
    assert {k: document[k] for k in shown["metadata"]} == shown["metadata"]
    assert list(document) == sorted(document, key=lambda k: (len(k.encode()), k.encode()))

    by_id = _ok(client.get(f"/api/ecerts/{issued['id']}"))
    assert by_id["signature"] == shown["signature"]


def test_vehicle_and_practitioner_through_the_api(client: Client) -> None:
    auth = authority(client)
    op = operator(client, auth["id"])
    lic = licence(client, auth["id"], op["id"])["record"]

    # No photo yet: the vehicle is recorded and its 道路运输证 is refused, not the request.
    created = vehicle(client, auth["id"], op["id"], lic["id"])
    assert created["ecerts"]["issued"] == []
    (refusal,) = created["ecerts"]["refused"]
    assert refusal["code"] == "issuance.photo_missing" and refusal["field"] == "photo"

    put = _ok(
        client.put(
            f"/api/vehicles/{created['record']['id']}/photo",
            content=png(40, 30, (9, 99, 199)),
            headers={"content-type": "image/png"},
        )
    )
    (transport,) = put["ecerts"]["issued"]
    assert transport["type_code"] == ROAD_TRANSPORT_CERTIFICATE.type_code
    assert transport["version"] == 1 and transport["operation"] == "new"
    shown = _ok(client.get(f"/api/ecerts/{transport['identifier']}"))
    check_signature(shown)
    face = {item["key"]: item["value"] for item in shown["face"]}
    assert face["licence_number"] == lic["number"]
    assert len(face["vehicle_photo"]) == 64

    birth = date(1985, 6, 1)
    person = _created(
        client.post(
            "/api/practitioners",
            json={
                "authority_id": auth["id"],
                "name": "李四",
                "id_number": ric.generate(_rng, "220102", birth, True),
                "sex": "1",
                "birth_date": birth.isoformat(),
                "driving_class": "A2D",
                "qualifications": [
                    {
                        "category": "02001",
                        "valid_from": TODAY.isoformat(),
                        "valid_until": (TODAY + timedelta(days=2000)).isoformat(),
                    }
                ],
            },
        )
    )
    assert [r["code"] for r in person["ecerts"]["refused"]] == ["issuance.photo_missing"]
    photo = _ok(
        client.put(
            f"/api/practitioners/{person['record']['id']}/photo",
            content=png(30, 40, (200, 150, 100)),
            headers={"content-type": "image/png"},
        )
    )
    (qualification,) = photo["ecerts"]["issued"]
    assert qualification["type_code"].endswith("071")
    check_signature(_ok(client.get(f"/api/ecerts/{qualification['identifier']}")))


def test_patch_operator_issues_new_versions(client: Client) -> None:
    auth = authority(client)
    op = operator(client, auth["id"])
    (first,) = licence(client, auth["id"], op["id"])["ecerts"]["issued"]

    changed = _ok(
        client.patch(f"/api/operators/{op['id']}", json={"name": "长春市更名物流有限公司"})
    )
    assert changed["record"]["name"] == "长春市更名物流有限公司"
    (second,) = changed["ecerts"]["issued"]
    assert second["version"] == 2 and second["operation"] == "change"
    assert second["holder_name"] == "长春市更名物流有限公司"
    assert second["identifier"].split(".")[:-2] == first["identifier"].split(".")[:-2]
    assert second["identifier"].split(".")[-2] == "002"

    old = _ok(client.get(f"/api/ecerts/{first['identifier']}"))
    assert old["status"] == "superseded" and old["mot_status_code"] == "01"
    check_signature(old)  # an old version still verifies
    new = _ok(client.get(f"/api/ecerts/{second['identifier']}"))
    assert new["metadata"]["CZZT"] == "长春市更名物流有限公司"
    check_signature(new)

    history = _ok(client.get(f"/api/operators/{op['id']}/history"))
    assert [h["operation"] for h in history] == ["create", "change"]
    assert history[1]["snapshot"]["name"] == "长春市更名物流有限公司"
    assert history[0]["actor"].endswith("（省级管理员）")

    # A change with nothing new is refused and changes nothing.
    _error(
        client.patch(f"/api/operators/{op['id']}", json={"name": "长春市更名物流有限公司"}),
        422,
        "change.empty",
    )
    assert len(_ok(client.get(f"/api/operators/{op['id']}/history"))) == 2


def test_lists_are_paged(client: Client) -> None:
    auth = authority(client)
    other = authority(client)
    mine = [operator(client, auth["id"])["id"] for _ in range(3)]
    operator(client, other["id"])

    page = _ok(client.get("/api/operators", params={"authority_id": auth["id"], "limit": 2}))
    assert page["total"] == 3 and page["offset"] == 0
    assert [item["id"] for item in page["items"]] == mine[:2]
    rest = _ok(
        client.get("/api/operators", params={"authority_id": auth["id"], "offset": 2, "limit": 2})
    )
    assert rest["total"] == 3 and [item["id"] for item in rest["items"]] == mine[2:]
    past = _ok(client.get("/api/operators", params={"authority_id": auth["id"], "offset": 9}))
    assert past["items"] == [] and past["total"] == 3

    for kind in ("licences", "vehicles", "practitioners"):
        empty = _ok(client.get(f"/api/{kind}", params={"authority_id": auth["id"]}))
        assert empty == {"total": 0, "offset": 0, "items": []}

    for op_id in mine:
        licence(client, auth["id"], op_id)
    ecerts = _ok(
        client.get(
            "/api/ecerts",
            params={"type_code": ROAD_TRANSPORT_LICENCE.type_code, "limit": 500},
        )
    )
    ours = [e for e in ecerts if e["identifier"].split(".")[6] == auth["uscc"]]
    assert len(ours) == 3
    first = _ok(client.get("/api/ecerts", params={"limit": 1}))
    second = _ok(client.get("/api/ecerts", params={"limit": 1, "offset": 1}))
    assert len(first) == len(second) == 1 and first[0]["id"] != second[0]["id"]
    holder = _ok(client.get("/api/ecerts", params={"holder_code": ours[0]["holder_code"]}))
    assert [e["identifier"] for e in holder] == [ours[0]["identifier"]]

    authorities = _ok(client.get("/api/authorities"))
    assert {auth["id"], other["id"]} <= {a["id"] for a in authorities}

    for params in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"limit": "many"}):
        body = _error(client.get("/api/operators", params=params), 422, "bad_input")
        assert body["field"] == next(iter(params))


def test_quality_list_and_record_findings(client: Client) -> None:
    auth = authority(client)
    op = operator(client, auth["id"], uscc=None)
    detail = _ok(client.get(f"/api/operators/{op['id']}"))
    assert [(f["field"], f["rule"], f["severity"]) for f in detail["findings"]] == [
        ("uscc", "uscc.missing", "error")
    ]
    issues = _ok(client.get("/api/quality", params={"authority_id": auth["id"]}))
    assert [(i["entity"], i["entity_id"], i["rule"]) for i in issues] == [
        ("operator", op["id"], "uscc.missing")
    ]
    # A licence of this operator is recorded; its e-cert is refused for the missing USCC.
    body = licence(client, auth["id"], op["id"])
    assert [r["code"] for r in body["ecerts"]["refused"]] == ["issuance.operator_uscc"]


def test_keys_are_published(client: Client) -> None:
    auth = authority(client)
    licence(client, auth["id"], operator(client, auth["id"])["id"])
    keys = _ok(client.get("/api/keys"))
    assert {"root", "province", "signing"} <= {k["role"] for k in keys}
    response = client.get("/api/keys/trusted.pem")
    assert response.status_code == 200
    assert len(_pem_certs(response.text)) == len(keys)


def test_an_ecert_past_its_last_day_shows_expired(client: Client, runtime: Runtime) -> None:
    auth = authority(client)
    op = operator(client, auth["id"])
    lic = licence(client, auth["id"], op["id"])["record"]
    renewed = _ok(
        client.post(
            f"/api/licences/{lic['id']}/renew",
            json={"valid_from": TODAY.isoformat(), "valid_until": TODAY.isoformat()},
        )
    )
    (issued,) = renewed["ecerts"]["issued"]
    assert issued["status"] == "valid"
    later = runtime.clock() + timedelta(days=2)
    runtime.clock = lambda: later
    shown = _ok(client.get(f"/api/ecerts/{issued['identifier']}"))
    assert shown["status"] == "expired" and shown["mot_status_code"] == "02"
    check_signature(shown)


def test_the_ecert_list_agrees_with_the_detail(client: Client, runtime: Runtime) -> None:
    auth = authority(client)
    op = operator(client, auth["id"])
    lic = licence(client, auth["id"], op["id"])["record"]
    renewed = _ok(
        client.post(
            f"/api/licences/{lic['id']}/renew",
            json={"valid_from": TODAY.isoformat(), "valid_until": TODAY.isoformat()},
        )
    )
    (issued,) = renewed["ecerts"]["issued"]
    later = runtime.clock() + timedelta(days=2)
    runtime.clock = lambda: later
    listed = _ok(client.get("/api/ecerts", params={"holder_code": op["uscc"]}))
    (current,) = [e for e in listed if e["identifier"] == issued["identifier"]]
    assert current["status"] == "expired"


# -- photos ---------------------------------------------------------------------------------------


@pytest.fixture
def vehicle_id(client: Client) -> int:
    auth = authority(client)
    op = operator(client, auth["id"])
    lic = licence(client, auth["id"], op["id"])["record"]
    record_id: int = vehicle(client, auth["id"], op["id"], lic["id"])["record"]["id"]
    return record_id


def _gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("P", (8, 8), 1).save(buffer, format="GIF")
    return buffer.getvalue()


def test_photo_png_is_accepted(client: Client, vehicle_id: int) -> None:
    body = _ok(
        client.put(
            f"/api/vehicles/{vehicle_id}/photo",
            content=png(),
            headers={"content-type": "image/png"},
        )
    )
    assert body["record"]["photo_id"] is not None
    assert len(body["ecerts"]["issued"]) == 1


def _chunks(count: int, size: int) -> Iterator[bytes]:
    # A body sent chunked, with no Content-Length to refuse it by.
    for _ in range(count):
        yield b"\0" * size


def test_photo_refusals(client: Client, vehicle_id: int) -> None:
    cases: list[tuple[str, Any, str, str]] = [
        ("text", b"a vehicle photo", "text/plain", "photo.format"),
        ("octet-stream", b"", "application/octet-stream", "photo.format"),
        ("too large", b"\0" * (MAX_PHOTO_BYTES + 1), "image/png", "photo.too_large"),
        ("too large, chunked", _chunks(3, 1024 * 1024), "image/png", "photo.too_large"),
        ("gif sent as png", _gif(), "image/png", "photo.format"),
        ("noise", random.Random(2).randbytes(3000), "image/jpeg", "photo.unreadable"),
    ]
    for name, content, content_type, code in cases:
        response = client.put(
            f"/api/vehicles/{vehicle_id}/photo",
            content=content,
            headers={"content-type": content_type},
        )
        assert response.status_code == 422, name
        body = _error(response, 422, code)
        assert body["field"] == "photo", name
    record = _ok(client.get(f"/api/vehicles/{vehicle_id}"))
    assert record["photo_id"] is None
    history = _ok(client.get(f"/api/vehicles/{vehicle_id}/history"))
    assert [h["operation"] for h in history] == ["create"]


def test_photo_for_a_missing_vehicle(client: Client) -> None:
    _error(
        client.put(
            "/api/vehicles/987654/photo", content=png(), headers={"content-type": "image/png"}
        ),
        404,
        "vehicle.not_found",
    )


# -- explicit issuance -------------------------------------------------------------------------


def test_issue_refuses_for_a_disabled_authority(client: Client) -> None:
    auth = authority(client, enabled=False)
    op = operator(client, auth["id"])
    body = licence(client, auth["id"], op["id"])
    # The ledger operation stands (paper certificates go on); the e-cert is refused.
    assert body["ecerts"]["issued"] == []
    assert [r["code"] for r in body["ecerts"]["refused"]] == ["issuance.authority_disabled"]
    request = {"source_kind": "licence", "source_id": body["record"]["id"]}

    refused = _error(
        client.post("/api/ecerts/issue", json=request), 409, "issuance.authority_disabled"
    )
    assert refused["field"] == "authority_id"
    assert auth["name"] in refused["message"]

    enabled = _ok(
        client.put(f"/api/authorities/{auth['id']}/ecert-enabled", json={"enabled": True})
    )
    assert enabled["ecert_enabled"] is True
    issued = _created(client.post("/api/ecerts/issue", json=request))
    assert issued["version"] == 1 and issued["operation"] == "new" and issued["status"] == "valid"
    assert "signature" not in issued
    again = _created(client.post("/api/ecerts/issue", json=request))
    assert again["version"] == 2 and again["operation"] == "reissue"
    check_signature(_ok(client.get(f"/api/ecerts/{again['identifier']}")))


def test_issue_refusals(client: Client) -> None:
    auth = authority(client)
    op = operator(client, auth["id"], uscc="91220101MA0Y1234X0")
    lic = licence(client, auth["id"], op["id"])["record"]
    # The operator check (a USCC that fails its check char) comes before the data-quality one.
    _error(
        client.post("/api/ecerts/issue", json={"source_kind": "licence", "source_id": lic["id"]}),
        409,
        "issuance.operator_uscc",
    )
    good = operator(client, auth["id"])
    bad_scope = _created(
        client.post(
            "/api/licences",
            json={
                "operator_id": good["id"],
                "authority_id": auth["id"],
                "type_code": ROAD_TRANSPORT_LICENCE.type_code,
                "number": "吉交运管许可长字220102999991号",
                "business_scopes": ["99999"],
                "valid_from": TODAY.isoformat(),
                "valid_until": (TODAY + timedelta(days=10)).isoformat(),
                "issue_date": TODAY.isoformat(),
            },
        )
    )
    assert [(f["field"], f["rule"]) for f in bad_scope["findings"]] == [
        ("business_scopes", "business_scopes.code_table")
    ]
    non_standard = _error(
        client.post(
            "/api/ecerts/issue",
            json={"source_kind": "licence", "source_id": bad_scope["record"]["id"]},
        ),
        422,
        "issuance.non_standard",
    )
    assert non_standard["details"]["findings"][0]["rule"] == "business_scopes.code_table"
    _error(
        client.post("/api/ecerts/issue", json={"source_kind": "licence", "source_id": 987654}),
        404,
        "licence.not_found",
    )
    _error(
        client.post(
            "/api/ecerts/issue",
            json={
                "source_kind": "licence",
                "source_id": lic["id"],
                "type_code": ROAD_TRANSPORT_CERTIFICATE.type_code,
            },
        ),
        422,
        "issuance.no_target",
    )
    wrong_kind = _error(
        client.post("/api/ecerts/issue", json={"source_kind": "ship", "source_id": 1}),
        422,
        "bad_input",
    )
    assert wrong_kind["field"] == "source_kind"


# -- refusals of bad requests -------------------------------------------------------------------


def test_malformed_json(client: Client) -> None:
    body = _error(
        client.post(
            "/api/operators", content=b'{"name": ', headers={"content-type": "application/json"}
        ),
        422,
        "bad_input",
    )
    assert "JSON" in body["message"]
    assert "field" not in body  # a syntax error is in no field


def test_malformed_json_names_no_field(client: Client) -> None:
    response = client.post(
        "/api/operators", content=b"{", headers={"content-type": "application/json"}
    )
    assert response.json().get("field") in (None, "", "body")


def test_missing_and_wrong_fields(client: Client) -> None:
    missing = _error(client.post("/api/authorities", json={"name": "某局"}), 422, "bad_input")
    assert missing["field"] == "uscc"
    assert "缺少必填字段" in missing["message"]
    assert [e["field"] for e in missing["details"]["errors"]] == [
        "uscc",
        "region_code",
        "number_prefix",
    ]

    auth = authority(client)
    extra = _error(
        client.post(
            "/api/operators",
            json={"authority_id": auth["id"], "name": "x", "region_code": "220102", "colour": 1},
        ),
        422,
        "bad_input",
    )
    assert extra["field"] == "colour"
    wrong_type = _error(
        client.post(
            "/api/operators", json={"authority_id": "abc", "name": "x", "region_code": "220102"}
        ),
        422,
        "bad_input",
    )
    assert wrong_type["field"] == "authority_id"
    not_an_object = _error(client.post("/api/operators", json=[1, 2]), 422, "bad_input")
    assert "message" in not_an_object
    nested = _error(
        client.post(
            "/api/practitioners",
            json={
                "authority_id": auth["id"],
                "name": "王五",
                "id_number": "220102198506010011",
                "sex": "1",
                "birth_date": "1985-06-01",
                "qualifications": [{"category": "02001", "valid_from": "2025-13-01"}],
            },
        ),
        422,
        "bad_input",
    )
    assert nested["field"].startswith("qualifications.0.")
    licence_id = licence(client, auth["id"], operator(client, auth["id"])["id"])["record"]["id"]
    backwards = _error(
        client.post(
            f"/api/licences/{licence_id}/renew",
            json={"valid_from": "2030-01-02", "valid_until": "2030-01-01"},
        ),
        422,
        "validity.order",
    )
    assert backwards["field"] == "valid_until"


UNKNOWN = [
    ("GET", "/api/operators/987654", "operator.not_found"),
    ("GET", "/api/licences/987654", "licence.not_found"),
    ("GET", "/api/vehicles/987654", "vehicle.not_found"),
    ("GET", "/api/practitioners/987654", "practitioner.not_found"),
    ("GET", "/api/operators/987654/history", "operator.not_found"),
    ("GET", "/api/ecerts/987654", "ecert.not_found"),
    ("GET", "/api/ecerts/1.2.156.3005.2.unknown", "ecert.not_found"),
    ("POST", "/api/licences/987654/reissue", "licence.not_found"),
    ("POST", "/api/vehicles/987654/cancel", "vehicle.not_found"),
    ("POST", "/api/practitioners/987654/qualifications/02001/reissue", "practitioner.not_found"),
    ("PUT", "/api/authorities/987654/ecert-enabled", "authority.not_found"),
]


def test_unknown_ids(client: Client) -> None:
    for method, path, code in UNKNOWN:
        kwargs: dict[str, Any] = {"json": {"enabled": True}} if method == "PUT" else {}
        body = _error(client.request(method, path, **kwargs), 404, code)
        assert set(body) <= {"code", "message", "field", "details"}, path


def test_unknown_ids_in_bodies(client: Client) -> None:
    body = _error(
        client.patch("/api/operators/987654", json={"name": "某公司"}), 404, "operator.not_found"
    )
    assert "987654" in body["message"]
    _error(
        client.post(
            "/api/operators", json={"authority_id": 987654, "name": "x", "region_code": "220102"}
        ),
        404,
        "authority.not_found",
    )


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("GET", f"/api/operators/{2**70}", None, 422, "bad_input"),
        ("GET", f"/api/ecerts/{2**70}", None, 404, "ecert.not_found"),
        (
            "POST",
            "/api/operators",
            {"authority_id": 2**70, "name": "某公司", "region_code": "220102"},
            422,
            "bad_input",
        ),
    ],
    ids=["path", "ecert", "body"],
)
def test_huge_ids_are_refused(
    client: Client,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
    code: str,
) -> None:
    # An id past the database's integer range is bad input, named by field; an e-cert reference
    # is free text (identifier or id), so a huge number there is simply not found.
    _error(client.request(method, path, json=body), status, code)


def test_unknown_route_and_method(client: Client) -> None:
    body = _error(client.get("/api/nothing-here"), 404, "not_found")
    assert body["message"] == "请求的地址不存在"
    _error(client.delete("/api/operators"), 405, "method_not_allowed")


def test_openapi_lists_the_ledger_routes(client: Client) -> None:
    paths = _ok(client.get("/openapi.json"))["paths"]
    for path in (
        "/api/authorities",
        "/api/operators",
        "/api/operators/{operator_id}",
        "/api/licences",
        "/api/licences/{licence_id}/renew",
        "/api/vehicles",
        "/api/vehicles/{vehicle_id}/photo",
        "/api/practitioners",
        "/api/practitioners/{practitioner_id}/qualifications/{category}/renew",
        "/api/quality",
        "/api/ecerts",
        "/api/ecerts/{ref}",
        "/api/ecerts/issue",
    ):
        assert path in paths, path
    assert "patch" in paths["/api/operators/{operator_id}"]
    assert "put" in paths["/api/vehicles/{vehicle_id}/photo"]
    assert "/" not in paths  # pages are not part of the API


def test_staff_ecert_page_lists_ecerts_in_chinese(client: Client) -> None:
    auth = authority(client)
    (issued,) = licence(client, auth["id"], operator(client, auth["id"])["id"])["ecerts"]["issued"]
    response = client.get("/staff/ecerts")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "道路运输电子证照" in response.text
    assert '<html lang="zh-CN">' in response.text
    assert "有效" in response.text
    page = client.get(
        "/staff/ecerts", params={"type_code": ROAD_TRANSPORT_LICENCE.type_code, "page": 1}
    )
    assert page.status_code == 200
    assert issued["identifier"] in page.text
    assert "道路运输经营许可证" in page.text

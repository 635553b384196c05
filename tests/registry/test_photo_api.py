"""Photo uploads and their review through the JSON API, on both databases.

An enterprise uploads for its own vehicle, a practitioner for itself; only a clerk of the
record's authority reviews; approval puts the photo on a new e-cert version.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from roadcert.accounts.models import Role
from roadcert.catalog.types import ROAD_TRANSPORT_CERTIFICATE
from roadcert.crypto.sm import sm3
from roadcert.registry.service import MAX_PHOTO_BYTES
from roadcert.runtime import Runtime, Services
from tests import factories as f
from tests.clients import Client, api_client

JPEG = {"content-type": "image/jpeg"}
PNG = {"content-type": "image/png"}


@dataclass
class Setting:
    vehicle_id: int
    vehicle_identifier: str
    owner: Client
    stranger: Client
    clerk: Client
    other_clerk: Client
    driver: Client
    person_id: int


@pytest.fixture
def setting(runtime: Runtime, services: Services) -> Setting:
    auth, other = f.authority(services), f.authority(services, region="220200")
    op, stranger_op = f.operator(services, auth), f.operator(services, auth)
    lic = f.licence(services, auth, op).record
    (ecert,) = f.vehicle(services, auth, op, lic).effect.issued
    person = f.practitioner(services, auth).record
    services.session.commit()
    return Setting(
        vehicle_id=ecert.source_id,
        vehicle_identifier=ecert.identifier,
        owner=api_client(runtime, Role.ENTERPRISE, holder_code=op.uscc),
        stranger=api_client(runtime, Role.ENTERPRISE, holder_code=stranger_op.uscc),
        clerk=api_client(runtime, Role.CLERK, authority_id=auth.id),
        other_clerk=api_client(runtime, Role.CLERK, authority_id=other.id),
        driver=api_client(runtime, Role.PRACTITIONER, holder_code=person.id_number),
        person_id=person.id,
    )


def _upload(client: Client, vehicle_id: int, body: bytes, headers: dict[str, str] = PNG) -> object:
    return client.post(
        f"/api/vehicles/{vehicle_id}/photo-submissions", content=body, headers=headers
    )


def test_an_approved_upload_goes_on_a_new_version(setting: Setting) -> None:
    picture = f.png(colour=(200, 30, 30))
    response = _upload(setting.owner, setting.vehicle_id, picture)
    assert response.status_code == 201, response.text  # type: ignore[attr-defined]
    submission = response.json()  # type: ignore[attr-defined]
    assert submission["review"] == "pending" and "经营业户" in submission["submitted_by"]

    pending = setting.clerk.get("/api/photo-submissions").json()
    assert [p["id"] for p in pending] == [submission["id"]]
    assert setting.other_clerk.get("/api/photo-submissions").json() == []
    image = setting.clerk.get(f"/api/photo-submissions/{submission['id']}/image")
    assert image.status_code == 200 and image.content == picture

    approved = setting.clerk.post(f"/api/photo-submissions/{submission['id']}/approve")
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["review"] == "approved"
    (issued,) = body["outcome"]["ecerts"]["issued"]
    assert issued["version"] == 2
    shown = setting.owner.get(f"/api/ecerts/{issued['identifier']}").json()
    face = {item["key"]: item["value"] for item in shown["face"]}
    assert face["vehicle_photo"] == sm3(picture).hex()
    again = setting.clerk.post(f"/api/photo-submissions/{submission['id']}/approve")
    assert again.status_code == 409 and again.json()["code"] == "photo.reviewed"


def test_a_rejection_needs_a_reason_and_keeps_the_old_photo(setting: Setting) -> None:
    submission = _upload(setting.owner, setting.vehicle_id, f.png()).json()  # type: ignore[attr-defined]
    path = f"/api/photo-submissions/{submission['id']}/reject"
    empty = setting.clerk.post(path, json={"reason": ""})
    assert empty.status_code == 422
    rejected = setting.clerk.post(path, json={"reason": "无法辨别号牌号码或车身颜色"})
    assert rejected.status_code == 200
    assert rejected.json()["reason"] == "无法辨别号牌号码或车身颜色"
    current = setting.owner.get(
        "/api/ecerts", params={"type_code": ROAD_TRANSPORT_CERTIFICATE.type_code}
    ).json()
    assert [e["version"] for e in current] == [1]


def test_only_the_owner_uploads_and_only_its_authority_reviews(setting: Setting) -> None:
    refused = _upload(setting.stranger, setting.vehicle_id, f.png())
    assert refused.status_code == 403  # type: ignore[attr-defined]
    assert _upload(setting.clerk, setting.vehicle_id, f.png()).status_code == 403  # type: ignore[attr-defined]
    assert _upload(setting.owner, 999999, f.png()).status_code == 403  # type: ignore[attr-defined]
    submission = _upload(setting.owner, setting.vehicle_id, f.png()).json()  # type: ignore[attr-defined]
    for path in ("approve", "image"):
        method = setting.other_clerk.post if path == "approve" else setting.other_clerk.get
        response = method(f"/api/photo-submissions/{submission['id']}/{path}")
        assert response.status_code == 403, path
    assert setting.owner.get("/api/photo-submissions").status_code == 403


def test_upload_limits_are_clear_refusals(setting: Setting) -> None:
    wrong = _upload(setting.owner, setting.vehicle_id, b"GIF89a", {"content-type": "image/gif"})
    assert wrong.status_code == 422 and wrong.json()["code"] == "photo.format"  # type: ignore[attr-defined]
    big = _upload(setting.owner, setting.vehicle_id, b"\xff" * (MAX_PHOTO_BYTES + 1), JPEG)
    assert big.status_code == 422 and big.json()["code"] == "photo.too_large"  # type: ignore[attr-defined]
    fake = _upload(setting.owner, setting.vehicle_id, b"not really a png", PNG)
    assert fake.status_code == 422 and fake.json()["code"] == "photo.unreadable"  # type: ignore[attr-defined]


def test_a_practitioner_uploads_its_own_photo_and_reads_its_access_log(setting: Setting) -> None:
    response = setting.driver.post("/api/me/photo-submissions", content=f.png(), headers=PNG)
    assert response.status_code == 201, response.text
    (submission,) = response.json()
    assert submission["subject_kind"] == "practitioner"
    assert submission["subject_id"] == setting.person_id
    assert (
        setting.owner.post("/api/me/photo-submissions", content=f.png(), headers=PNG).status_code
        == 403
    )

    (ecert,) = setting.driver.get("/api/ecerts").json()
    setting.driver.get(f"/api/ecerts/{ecert['identifier']}/pdf")
    log = setting.driver.get("/api/me/access").json()
    assert {row["action"] for row in log} >= {"下载", "激活"}
    assert all(row["number"] == ecert["number"] for row in log)
    assert setting.clerk.get("/api/me/access").status_code == 403

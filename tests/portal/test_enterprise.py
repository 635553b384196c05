"""The enterprise pages on both databases: own licences and vehicles only, why an e-cert is
missing, and a vehicle photo from upload through review to a new, verifiable e-cert version.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from roadcert.accounts.models import Role
from roadcert.certificates.models import Ecert
from roadcert.crypto.sm import sm3
from roadcert.kit import uscc
from roadcert.registry.models import Authority, Licence, PhotoReview, PhotoSubmission, Vehicle
from roadcert.registry.service import MAX_PHOTO_BYTES
from roadcert.render import qr
from roadcert.runtime import Runtime
from tests import factories as f
from tests.clients import api_client
from tests.portal.pages import browser_client, text_of


@dataclass
class Holder:
    """An enterprise's records, and another operator's beside them."""

    authority: Authority
    uscc: str
    licence: Licence
    ecert: Ecert | None
    other_licence: Licence
    truck: Vehicle
    van: Vehicle
    other_truck: Vehicle


def _holder(runtime: Runtime, *, enabled: bool = True) -> Holder:
    """An operator with one licence and two vehicles, and another operator's of the same kind."""
    with runtime.unit_of_work() as svc:
        auth = f.authority(svc, enabled=enabled)
        mine = f.operator(svc, auth, name="长春市自家运输有限公司")
        other = f.operator(svc, auth, name="长春市别家运输有限公司")
        licence = f.licence(svc, auth, mine)
        other_licence = f.licence(svc, auth, other)
        truck = f.vehicle(svc, auth, mine, licence.record).record
        van = f.vehicle(svc, auth, mine, licence.record).record
        other_truck = f.vehicle(svc, auth, other, other_licence.record).record
        assert mine.uscc is not None
        return Holder(
            authority=auth,
            uscc=mine.uscc,
            licence=licence.record,
            ecert=licence.effect.issued[0] if licence.effect.issued else None,
            other_licence=other_licence.record,
            truck=truck,
            van=van,
            other_truck=other_truck,
        )


def test_enterprise_sees_its_own_licences_and_vehicles(runtime: Runtime) -> None:
    data = _holder(runtime)
    client = api_client(runtime, Role.ENTERPRISE, holder_code=data.uscc)

    page = client.get("/enterprise/licences")
    assert page.status_code == 200
    body = text_of(page.text)
    assert data.licence.number in body
    assert data.other_licence.number not in body
    assert "长春市自家运输有限公司" in body and "共 1 条" in body
    assert f'href="/ecerts/{data.ecert.identifier}"' in page.text

    vehicles = text_of(client.get("/enterprise/vehicles").text)
    assert data.truck.plate in vehicles and data.van.plate in vehicles
    assert data.other_truck.plate not in vehicles
    assert "共 2 条" in vehicles

    # Seed 000 §1.1.5.1: the enterprise finds a vehicle by its plate.
    plate = data.truck.plate
    found = text_of(client.get("/enterprise/vehicles", params={"q": plate[1:5]}).text)
    assert plate in found
    assert "共 1 条" in found or data.van.plate[1:5] == plate[1:5]
    # LIKE wildcards are taken literally: "%" matches no plate rather than every plate.
    assert "共 0 条" in text_of(client.get("/enterprise/vehicles", params={"q": "%"}).text)


def test_another_holders_records_are_refused(runtime: Runtime) -> None:
    data = _holder(runtime)
    client = api_client(runtime, Role.ENTERPRISE, holder_code=data.uscc)
    other_truck = data.other_truck.id
    other_licence = data.other_licence.id
    for path in (
        f"/enterprise/vehicles/{other_truck}",
        f"/enterprise/vehicles/{other_truck}/photo",
        f"/enterprise/licences/{other_licence}",
    ):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "无权访问" in answer.text
    upload = client.post(
        f"/enterprise/vehicles/{other_truck}/photo",
        files={"photo": ("truck.png", f.png(), "image/png")},
    )
    assert upload.status_code == 403
    assert client.get("/enterprise/vehicles/999999").status_code == 404
    assert client.get("/enterprise/vehicles/0").status_code == 422
    assert client.get("/enterprise/vehicles/99999999999").status_code == 422
    assert client.get("/enterprise/licences", params={"page": "x"}).status_code == 422
    # Only the enterprise role reaches these pages.
    clerk = api_client(runtime, Role.CLERK, authority_id=data.authority.id)
    assert clerk.get("/enterprise/licences").status_code == 403


def test_an_enterprise_with_no_ledger_records_sees_empty_lists(runtime: Runtime) -> None:
    _holder(runtime)
    stranger = uscc.generate(random.Random(3), "220102")
    client = api_client(runtime, Role.ENTERPRISE, holder_code=stranger)
    assert "本业户暂无经营许可证" in client.get("/enterprise/licences").text
    assert "本业户暂无车辆" in client.get("/enterprise/vehicles").text


def test_viewing_a_licence_opens_its_ecert_or_says_why_there_is_none(runtime: Runtime) -> None:
    issued = _holder(runtime)
    client = api_client(runtime, Role.ENTERPRISE, holder_code=issued.uscc)
    licence_id = issued.licence.id
    answer = client.get(f"/enterprise/licences/{licence_id}", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/ecerts/{issued.ecert.identifier}"
    face = client.get(answer.headers["location"])
    assert "保存文件（PDF）" in face.text and "打印" in face.text

    # Seed 000 §1.1.2: an authority that does not issue e-certs yet.
    paper = _holder(runtime, enabled=False)
    assert paper.ecert is None
    client = api_client(runtime, Role.ENTERPRISE, holder_code=paper.uscc)
    listing = text_of(client.get("/enterprise/licences").text)
    assert "未制发" in listing and "查看原因" in listing
    notice = client.get(f"/enterprise/licences/{paper.licence.id}")
    assert notice.status_code == 200
    body = text_of(notice.text)
    assert "该业户的核发机关暂不支持电子证照，或者该业户经营状态不是营运！" in body
    assert f"核发机关“{paper.authority.name}”暂不支持电子证照" in body
    assert "18 位统一社会信用代码" in body  # the four preconditions are listed
    vehicle = text_of(client.get(f"/enterprise/vehicles/{paper.truck.id}").text)
    assert "暂不支持电子证照" in vehicle


def test_photo_upload_review_and_the_new_verifiable_version(runtime: Runtime) -> None:
    data = _holder(runtime)
    truck = data.truck
    enterprise, csrf = browser_client(runtime, Role.ENTERPRISE, holder_code=data.uscc)
    path = f"/enterprise/vehicles/{truck.id}/photo"
    picture = f.png(320, 240, (200, 30, 30))

    # A cookie session must send its CSRF token with the form.
    refused = enterprise.post(path, files={"photo": ("t.png", picture, "image/png")})
    assert refused.status_code == 403 and "CSRF" in refused.text

    sent = enterprise.post(
        path,
        data={"csrf_token": csrf},
        files={"photo": ("t.png", picture, "image/png")},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    detail = enterprise.get(sent.headers["location"])
    assert "照片已上传，等待交通运输管理部门审核" in detail.text
    assert "待审核" in text_of(detail.text)
    (upload_id,) = [
        int(part.split('"')[0])
        for part in detail.text.split(f"/enterprise/vehicles/{truck.id}/uploads/")[1:]
    ]
    own_copy = enterprise.get(f"/enterprise/vehicles/{truck.id}/uploads/{upload_id}")
    assert own_copy.content == picture and own_copy.headers["content-type"] == "image/png"
    listing = text_of(enterprise.get("/enterprise/vehicles").text)
    assert "待审核" in listing

    # The clerk of the vehicle's authority sees it, with the picture as uploaded, and approves.
    clerk = api_client(runtime, Role.CLERK, authority_id=data.authority.id)
    queue = clerk.get("/staff/photos")
    assert truck.plate in queue.text
    assert clerk.get(f"/staff/photos/{upload_id}/image").content == picture
    approved = clerk.post(f"/staff/photos/{upload_id}/approve", follow_redirects=False)
    assert approved.status_code == 303
    message = clerk.get("/staff/photos").text
    assert "照片审核通过。已制发道路运输证第002版" in message

    # The new version carries the photo's digest, and its printed code verifies.
    with runtime.unit_of_work() as svc:
        (target,) = svc.issuance.targets_for_vehicle(svc.ledger.get(Vehicle, truck.id))
        current = svc.issuance.current(target)
        assert current is not None and current.version == 2
        assert current.face["vehicle_photo"] == sm3(picture).hex()
        identifier = current.identifier
        submission = svc.ledger.repo.get(PhotoSubmission, upload_id)
        assert submission is not None and submission.review == PhotoReview.APPROVED
    face = enterprise.get(f"/ecerts/{identifier}/face.png")
    (decoded,) = qr.decode_image(face.content)
    officer = api_client(runtime, Role.OFFICER)
    verdict = officer.post("/api/verify", json={"text": decoded.text}).json()
    assert verdict["ok"] is True, verdict
    assert verdict["face"]["identifier"] == identifier
    assert enterprise.get(f"/enterprise/vehicles/{truck.id}/photo").content == picture
    assert "审核通过" in enterprise.get(f"/enterprise/vehicles/{truck.id}").text


def test_a_rejected_photo_shows_its_reason(runtime: Runtime) -> None:
    data = _holder(runtime)
    van = data.van
    enterprise = api_client(runtime, Role.ENTERPRISE, holder_code=data.uscc)
    enterprise.post(
        f"/enterprise/vehicles/{van.id}/photo",
        files={"photo": ("v.png", f.png(90, 60, (1, 2, 3)), "image/png")},
    )
    clerk = api_client(runtime, Role.CLERK, authority_id=data.authority.id)
    with runtime.unit_of_work() as svc:
        (pending,) = svc.photos.pending(data.authority.id)
    empty = clerk.post(f"/staff/photos/{pending.id}/reject", data={"reason": ""})
    assert "请填写不通过的原因" in empty.text
    clerk.post(f"/staff/photos/{pending.id}/reject", data={"reason": "车辆影像不足照片的三分之二"})
    page = text_of(enterprise.get(f"/enterprise/vehicles/{van.id}").text)
    assert "审核不通过" in page and "车辆影像不足照片的三分之二" in page
    again = clerk.post(f"/staff/photos/{pending.id}/approve")
    assert "该照片已审核" in again.text
    with runtime.unit_of_work() as svc:
        (target,) = svc.issuance.targets_for_vehicle(svc.ledger.get(Vehicle, van.id))
        current = svc.issuance.current(target)
        assert current is not None and current.version == 1  # nothing was issued


@pytest.mark.parametrize(
    ("name", "content", "type_", "message"),
    [
        ("a.txt", b"not a picture", "text/plain", "照片不是可识别的图片"),
        ("a.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/gif", "照片"),
        ("a.png", b"", "image/png", "请选择要上传的车辆照片"),
    ],
)
def test_a_bad_upload_is_refused_with_a_message(
    runtime: Runtime, name: str, content: bytes, type_: str, message: str
) -> None:
    data = _holder(runtime)
    truck = data.truck
    client = api_client(runtime, Role.ENTERPRISE, holder_code=data.uscc)
    answer = client.post(
        f"/enterprise/vehicles/{truck.id}/photo",
        files={"photo": (name, content, type_)},
    )
    assert answer.status_code in (200, 422)
    assert message in answer.text
    with runtime.unit_of_work() as svc:
        assert list(svc.photos.of_subject("vehicle", truck.id)) == []


def test_an_oversized_upload_is_refused_by_its_declared_size(runtime: Runtime) -> None:
    data = _holder(runtime)
    client = api_client(runtime, Role.ENTERPRISE, holder_code=data.uscc)
    answer = client.post(
        f"/enterprise/vehicles/{data.truck.id}/photo",
        files={"photo": ("big.png", b"\x89PNG" + b"0" * (MAX_PHOTO_BYTES + 70_000), "image/png")},
    )
    assert answer.status_code == 422
    assert "照片过大" in answer.text

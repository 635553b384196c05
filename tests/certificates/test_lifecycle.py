"""Lifecycle: every business operation's e-cert effect (DESIGN.md §4), in the same transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from roadcert.certificates.models import Ecert, EcertStatus, Operation
from roadcert.errors import Conflict
from roadcert.kit import ecert_id
from roadcert.registry.models import EntryKind, Licence, Operator
from roadcert.registry.schemas import (
    EntryIn,
    LicenceChange,
    OperatorChange,
    QualificationIn,
    Renewal,
    VehicleChange,
)
from roadcert.runtime import Runtime, Services
from tests import factories as f


def _versions(svc: Services, ecert: Ecert) -> list[Ecert]:
    return list(svc.issuance.repo.versions(ecert.serial))


def test_change_supersedes_and_raises_the_version(services: Services) -> None:
    auth = f.authority(services)
    outcome = f.licence(services, auth, f.operator(services, auth))
    (first,) = outcome.effect.issued

    changed = services.business.change_licence(
        outcome.record.id, LicenceChange(business_scopes=["02101", "02201"])
    )
    (second,) = changed.effect.issued
    assert (second.serial, second.version) == (first.serial, 2)
    assert second.identifier.split(".")[-2] == "002"
    assert ecert_id.check(second.identifier).ok
    assert second.supersedes_id == first.id
    assert second.operation == Operation.CHANGE
    assert first.status == EcertStatus.SUPERSEDED and first.current_key is None
    assert second.status == EcertStatus.VALID
    assert "集装箱" in second.face["business_scope"]
    assert [e.version for e in _versions(services, first)] == [1, 2]


@pytest.mark.parametrize("operation", ["renew", "review", "reissue"])
def test_licence_operations_each_give_a_new_version(services: Services, operation: str) -> None:
    auth = f.authority(services)
    licence = f.licence(services, auth, f.operator(services, auth)).record
    today = services.issuance.today()
    new_dates = Renewal(valid_from=today, valid_until=today + timedelta(days=1460))
    if operation == "renew":
        outcome = services.business.renew_licence(licence.id, new_dates)
    elif operation == "review":
        outcome = services.business.renew_licence(licence.id, new_dates, Operation.REVIEW)
    else:
        outcome = services.business.reissue_licence(licence.id)
    (ecert,) = outcome.effect.issued
    assert ecert.version == 2
    assert ecert.operation == operation
    if operation != "reissue":
        assert ecert.valid_until == today + timedelta(days=1460)
        assert ecert.metadata_items["ZZYXQJZRQ"] == ecert.valid_until.isoformat()


def test_cancel_revokes_and_blocks_further_operations(services: Services) -> None:
    auth = f.authority(services)
    licence = f.licence(services, auth, f.operator(services, auth)).record
    outcome = services.business.cancel_licence(licence.id)
    (revoked,) = outcome.effect.revoked
    assert revoked.status == EcertStatus.REVOKED
    assert revoked.current_key is None
    assert revoked.status_reason == "经营许可证注销"
    with pytest.raises(Conflict) as refused:
        services.business.reissue_licence(licence.id)
    assert refused.value.code == "record.cancelled"


def test_vehicle_review_carries_new_dates_and_grade(services: Services) -> None:
    auth = f.authority(services)
    op = f.operator(services, auth)
    vehicle = f.vehicle(services, auth, op, f.licence(services, auth, op).record).record
    today = services.issuance.today()
    outcome = services.business.review_vehicle(
        vehicle.id, Renewal(review_valid_until=today + timedelta(days=365), technical_grade="2")
    )
    (ecert,) = outcome.effect.issued
    assert ecert.face["review_valid_until"] == (today + timedelta(days=365)).isoformat()
    assert ecert.face["technical_grade"] == "二级"
    assert ecert.operation == Operation.REVIEW


def test_vehicle_leaving_service(services: Services) -> None:
    auth = f.authority(services)
    op = f.operator(services, auth)
    lic = f.licence(services, auth, op).record
    lost = f.vehicle(services, auth, op, lic).record
    scrapped = f.vehicle(services, auth, op, lic).record
    stopped = f.vehicle(services, auth, op, lic).record

    suspended = services.business.change_vehicle(lost.id, VehicleChange(status="22")).effect
    assert [e.status for e in suspended.suspended] == [EcertStatus.SUSPENDED]
    revoked = services.business.change_vehicle(scrapped.id, VehicleChange(status="33")).effect
    assert [e.status for e in revoked.revoked] == [EcertStatus.REVOKED]
    # 停运 keeps the certificate valid (seed 000 §1.1.4: 营运 or 停运).
    still = services.business.change_vehicle(stopped.id, VehicleChange(status="21")).effect
    assert [e.status for e in still.issued] == [EcertStatus.VALID]


def test_operator_change_reaches_every_certificate(services: Services) -> None:
    auth = f.authority(services)
    op = f.operator(services, auth)
    lic = f.licence(services, auth, op).record
    f.vehicle(services, auth, op, lic)
    f.vehicle(services, auth, op, lic)

    renamed = services.business.change_operator(
        op.id, OperatorChange(name="长春市新名称物流有限公司")
    )
    assert len(renamed.effect.issued) == 3
    assert {e.holder_name for e in renamed.effect.issued} == {"长春市新名称物流有限公司"}
    assert {e.version for e in renamed.effect.issued} == {2}

    stopped = services.business.change_operator(op.id, OperatorChange(status="2"))
    assert len(stopped.effect.suspended) == 3
    resumed = services.business.change_operator(op.id, OperatorChange(status="1"))
    assert {e.version for e in resumed.effect.issued} == {3}

    closed = services.business.change_operator(op.id, OperatorChange(status="6"))
    assert len(closed.effect.revoked) == 3
    current = services.session.scalar(
        select(func.count())
        .select_from(Ecert)
        .where(Ecert.current_key.is_not(None), Ecert.holder_code == op.uscc)
    )
    assert current == 0


def test_qualification_changes(services: Services) -> None:
    auth = f.authority(services)
    outcome = f.practitioner(services, auth, ("02001",))
    person = outcome.record
    (first,) = outcome.effect.issued
    today = services.issuance.today()

    added = services.business.add_qualification(
        person.id,
        QualificationIn(
            category="01001", valid_from=today, valid_until=today + timedelta(days=2190)
        ),
    )
    (second,) = added.effect.issued
    assert second.version == 2 and second.serial == first.serial
    assert [c["code"] for c in second.face["categories"]] == ["01001", "02001"]

    taxi = services.business.add_qualification(
        person.id,
        QualificationIn(
            category="09002", valid_from=today, valid_until=today + timedelta(days=2190)
        ),
    )
    new_types = [e.type_code[-3:] for e in taxi.effect.issued if e.version == 1]
    assert new_types == ["075"]

    signed = services.business.add_entry(
        person.id, EntryKind.INTEGRITY_ASSESSMENT, EntryIn(entry_date=today, text="诚信考核 AAA")
    )
    assert {e.operation for e in signed.effect.issued} == {Operation.INTEGRITY}
    assert all("诚信考核 AAA" in e.face["integrity_assessment"] for e in signed.effect.issued)

    dropped = services.business.cancel_qualification(person.id, "02001")
    (qualification,) = [e for e in dropped.effect.issued if e.type_code.endswith("071")]
    assert [c["code"] for c in qualification.face["categories"]] == ["01001"]
    gone = services.business.cancel_qualification(person.id, "09002")
    assert [e.type_code[-3:] for e in gone.effect.revoked] == ["075"]


def test_expiry_turns_on_the_day_after_the_last_valid_day(
    runtime: Runtime, services: Services
) -> None:
    auth = f.authority(services)
    today = services.issuance.today()
    (ecert,) = f.licence(
        services, auth, f.operator(services, auth), valid_until=today + timedelta(days=2)
    ).effect.issued

    def at(day_offset: int) -> datetime:
        # Noon in China on that day.
        day = today + timedelta(days=day_offset)
        return datetime(day.year, day.month, day.day, 4, tzinfo=UTC)

    for offset, expected in [(2, EcertStatus.VALID), (3, EcertStatus.EXPIRED)]:
        runtime.clock = lambda offset=offset: at(offset)  # type: ignore[misc]
        later = runtime.services(services.session)
        assert later.issuance.effective_status(ecert) is expected
    assert later.issuance.expire_due() == 1
    services.session.refresh(ecert)
    assert ecert.status == EcertStatus.EXPIRED
    assert later.issuance.describe(ecert)["mot_status_code"] == "02"


def test_a_failed_operation_leaves_nothing_behind(runtime: Runtime, services: Services) -> None:
    auth = f.authority(services)
    op = f.operator(services, auth)
    services.session.commit()
    licences_before = services.session.scalar(select(func.count()).select_from(Licence))
    ecerts_before = services.session.scalar(select(func.count()).select_from(Ecert))

    class SignerDown(RuntimeError):
        pass

    def broken_signer(_: object) -> object:
        def sign(data: bytes) -> bytes:
            raise SignerDown("HSM unavailable")

        return sign

    with pytest.raises(SignerDown), runtime.unit_of_work() as svc:
        svc.keys.signer = broken_signer  # type: ignore[method-assign, assignment]
        f.licence(svc, svc.ledger.get(type(auth), auth.id), svc.ledger.get(Operator, op.id))

    assert services.session.scalar(select(func.count()).select_from(Licence)) == licences_before
    assert services.session.scalar(select(func.count()).select_from(Ecert)) == ecerts_before

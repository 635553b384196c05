"""制证率 and 年度激活率 (seed 002 App. A) on a small ledger built with the business operations.

Every count is checked exactly on both databases: which certificates are valid, which of them
have a valid current e-cert, and which e-certs issued this year were activated this year.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from roadcert.certificates.collection import (
    CollectionRate,
    activation_score,
    collection_rates,
    issuance_score,
    percent,
    province_total,
    year_window,
)
from roadcert.certificates.models import Ecert, EcertStatus
from roadcert.registry.models import Authority
from roadcert.registry.schemas import LicenceChange, QualificationIn, VehicleChange
from roadcert.runtime import Services
from tests import factories as f

# -- scores (App. A, 表 A.1) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("numerator", "denominator", "points"),
    [
        (0, 5, 0),
        (29, 100, 0),
        (2999, 10000, 0),
        (3, 10, 5),  # exactly 30%: not "低于 30%"
        (39, 100, 5),
        (4, 10, 15),
        (49, 100, 15),
        (5, 10, 20),
        (6, 10, 25),
        (7, 10, 30),
        (8, 10, 35),
        (899, 1000, 35),
        (9, 10, 40),
        (1, 1, 40),
        (0, 0, None),
    ],
)
def test_issuance_score_bands(numerator: int, denominator: int, points: int | None) -> None:
    assert issuance_score(numerator, denominator) == points


@pytest.mark.parametrize(
    ("numerator", "denominator", "points"),
    [
        (0, 1, 0),
        (19, 100, 0),
        (2, 10, 5),
        (29, 100, 5),
        (3, 10, 10),
        (4, 10, 15),
        (5, 10, 20),
        (6, 10, 25),
        (7, 10, 30),
        (8, 10, 35),
        (89, 100, 35),
        (9, 10, 40),
        (0, 0, None),
    ],
)
def test_activation_score_bands(numerator: int, denominator: int, points: int | None) -> None:
    assert activation_score(numerator, denominator) == points


def test_percent_is_cut_not_rounded() -> None:
    assert percent(29 / 100) == "29.0%"
    assert percent(2999 / 10000) == "29.9%"  # rounding would show 30.0% with 0 points
    assert percent(1.0) == "100.0%"
    assert percent(None) == "—"


def test_year_window_is_china_time() -> None:
    start, end = year_window(date(2026, 3, 5))
    assert start == datetime(2025, 12, 31, 16, tzinfo=UTC)
    assert end == datetime(2026, 3, 5, 16, tzinfo=UTC)


# -- the ledger --------------------------------------------------------------------------------


def _mine(rates: list[CollectionRate], auth: Authority) -> CollectionRate:
    (rate,) = [r for r in rates if r.authority_id == auth.id]
    return rate


def test_rates_count_exactly_what_is_valid(services: Services) -> None:
    svc = services
    today = svc.issuance.today()
    past = today - timedelta(days=1)
    auth = f.authority(svc)
    op = f.operator(svc, auth)

    # Licences: 3 valid certificates, 2 with a valid current e-cert.
    plain = f.licence(svc, auth, op).record  # counted, with e-cert
    changed = f.licence(svc, auth, op).record  # v1 superseded by v2: counted once
    svc.business.change_licence(changed.id, LicenceChange(business_scopes=["02101", "02201"]))
    unswept = f.licence(svc, auth, op).record  # its e-cert ended yesterday, not swept yet
    (unswept_ecert,) = svc.issuance.repo.of_source("licence", unswept.id)
    unswept_ecert.valid_until = past
    cancelled = f.licence(svc, auth, op).record  # 注销: not a valid certificate
    svc.business.cancel_licence(cancelled.id)
    f.licence(  # expired in the ledger: not a valid certificate (its e-cert is 已过期)
        svc,
        auth,
        op,
        valid_from=today - timedelta(days=400),
        valid_until=past,
        issue_date=today - timedelta(days=400),
    )

    # Vehicles: 4 valid certificates, 1 with a valid current e-cert.
    f.vehicle(svc, auth, op, plain)  # counted, with e-cert
    f.vehicle(svc, auth, op, plain, photo=None)  # refused (no photo): no e-cert
    lost = f.vehicle(svc, auth, op, plain).record  # 挂失: e-cert suspended
    assert svc.business.change_vehicle(lost.id, VehicleChange(status="22")).effect.suspended
    scrapped = f.vehicle(svc, auth, op, plain).record  # 报废: e-cert revoked, 道路运输证 kept
    assert svc.business.change_vehicle(scrapped.id, VehicleChange(status="33")).effect.revoked
    gone = f.vehicle(svc, auth, op, plain).record  # 道路运输证注销: not a valid certificate
    svc.business.cancel_vehicle(gone.id)

    # Practitioners: 4 valid person × type, 3 with e-cert.
    f.practitioner(svc, auth, ("02001", "09002"))  # two types: 从业资格证 and 巡游出租车
    f.practitioner(svc, auth, ("02001", "03001"))  # two categories on one type: one cert
    f.practitioner(svc, auth, ("02001",), photo=None)  # no photo: refused
    f.practitioner(  # only expired qualification: not a valid certificate
        svc,
        auth,
        qualifications=[
            QualificationIn(
                category="02001",
                valid_from=today - timedelta(days=2000),
                valid_until=past,
            )
        ],
    )

    # An authority not switched to e-certs: its valid licence counts, with no e-cert.
    disabled = f.authority(svc, enabled=False)
    f.licence(svc, disabled, f.operator(svc, disabled))

    rates = collection_rates(svc.session, today)
    mine = _mine(rates, auth)
    assert (mine.by_kind["licence"].valid, mine.by_kind["licence"].with_ecert) == (3, 2)
    assert (mine.by_kind["vehicle"].valid, mine.by_kind["vehicle"].with_ecert) == (4, 1)
    assert (mine.by_kind["practitioner"].valid, mine.by_kind["practitioner"].with_ecert) == (4, 3)
    assert (mine.valid, mine.with_ecert) == (11, 6)
    assert mine.rate == pytest.approx(6 / 11)
    assert mine.score == 20  # 54.5 %: the 50%—60% band
    assert (mine.authority_uscc, mine.ecert_enabled) == (auth.uscc, True)

    off = _mine(rates, disabled)
    assert (off.valid, off.with_ecert, off.rate, off.score) == (1, 0, 0.0, 0)
    assert off.ecert_enabled is False
    assert off.issued_this_year == 0 and off.activation_rate is None

    # One authority alone gives the same figures as in the whole list.
    (alone,) = collection_rates(svc.session, today, auth.id)
    assert alone.as_dict() == mine.as_dict()

    total = province_total([mine, off])
    assert (total.valid, total.with_ecert, total.score) == (12, 6, 20)
    assert total.by_kind["licence"].valid == 4


def test_a_version_renewed_today_counts_and_validity_is_checked_on_today(
    services: Services,
) -> None:
    svc = services
    today = svc.issuance.today()
    auth = f.authority(svc)
    op = f.operator(svc, auth)
    f.licence(svc, auth, op, valid_until=today)  # last valid day: still counted
    (rate,) = collection_rates(svc.session, today, auth.id)
    assert (rate.valid, rate.with_ecert, rate.score) == (1, 1, 40)
    (tomorrow,) = collection_rates(svc.session, today + timedelta(days=1), auth.id)
    assert (tomorrow.valid, tomorrow.with_ecert, tomorrow.rate) == (0, 0, None)
    assert tomorrow.score is None


def test_activation_counts_this_years_issues_activated_this_year(services: Services) -> None:
    svc = services
    today = svc.issuance.today()
    start, end = year_window(today)
    auth = f.authority(svc)
    op = f.operator(svc, auth)
    ecerts = [f.licence(svc, auth, op).effect.issued[0] for _ in range(6)]
    svc.session.flush()
    used, unused, last_year, first_moment, late, edge = ecerts
    assert svc.issuance.mark_activated(used)  # issued and activated this year
    # Issued last year (one microsecond before 1 January 00:00 China time), used this year.
    last_year.issued_at = start - timedelta(microseconds=1)
    last_year.activated_at = start + timedelta(days=1)
    # Issued at the first moment of the year and activated then: counts.
    first_moment.issued_at = first_moment.activated_at = start
    # Activated after the end of ``today``: issued this year, not activated in the window.
    late.activated_at = end
    # Activated last year although issued this year cannot happen; the window rules it out.
    edge.activated_at = start - timedelta(seconds=1)
    svc.session.flush()

    (rate,) = collection_rates(svc.session, today, auth.id)
    assert rate.issued_this_year == 5  # all but last_year
    assert rate.activated_this_year == 2  # used, first_moment
    assert rate.activation_rate == pytest.approx(2 / 5)
    assert rate.activation_score == 15  # 40%: the 40%—50% band
    assert unused.activated_at is None


def test_non_standard_counts_by_rule(services: Services) -> None:
    svc = services
    auth = f.authority(svc)
    f.operator(svc, auth, uscc="91220101MA0Y1234X0")  # wrong check character
    f.operator(svc, auth, uscc="91220101MA0Y1234X0", name="长春市另一错码运输有限公司")
    broken = f.operator(svc, auth, uscc=None)
    svc.session.flush()
    (rate,) = collection_rates(svc.session, svc.issuance.today(), auth.id)
    assert rate.non_standard == {"uscc.check_char": 2, "uscc.missing": 1}
    assert rate.non_standard_total == 3
    assert list(rate.non_standard) == ["uscc.check_char", "uscc.missing"]  # most first
    # The non-standard operator's licence is refused: a valid certificate without e-cert.
    f.licence(svc, auth, broken)
    (rate,) = collection_rates(svc.session, svc.issuance.today(), auth.id)
    assert (rate.valid, rate.with_ecert, rate.score) == (1, 0, 0)


def test_rates_use_the_current_version_only(services: Services) -> None:
    """A stray valid version that is not current (current_key unset) never counts."""
    svc = services
    today = svc.issuance.today()
    auth = f.authority(svc)
    lic = f.licence(svc, auth, f.operator(svc, auth)).record
    (ecert,) = svc.issuance.repo.of_source("licence", lic.id)
    ecert.current_key = None
    svc.session.flush()
    (rate,) = collection_rates(svc.session, today, auth.id)
    assert (rate.valid, rate.with_ecert) == (1, 0)
    statuses = svc.session.scalars(select(Ecert.status).where(Ecert.id == ecert.id)).all()
    assert statuses == [EcertStatus.VALID]

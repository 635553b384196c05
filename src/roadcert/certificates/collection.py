"""制证率 and 激活率 per issuing authority, scored by seed 002 Appendix A (表 A.1).

Seed 002 §5.2 asks every authority to bring all its valid certificates into the system and make
them electronic; App. A scores how far it got. The definitions used here:

* A **valid certificate** (有效证照, the denominator of 制证率) is
  - a licence (经营许可证) with status ``active`` and ``valid_until`` ≥ today;
  - a vehicle's 道路运输证: ``transport_status`` ``active`` and ``valid_until`` ≥ today;
  - a practitioner × certificate type: at least one ``active`` qualification of a category
    printed on that type (``service.type_for_category``) with ``valid_until`` ≥ today.
  It belongs to the authority of its ledger record (for a practitioner, the person's).
* It **has an e-cert** (已制电子证照, the numerator) when the current version of its
  certificate (``Ecert.current_key`` = ``kind:id:type_code``) has status ``valid`` and its own
  ``valid_until`` ≥ today (valid as of today even before the daily expiry sweep ran).
  Superseded, revoked, suspended and expired versions do not count; an authority not switched
  to e-certs still counts its valid certificates, so its rate is 0.
* **制证率** = numerator ÷ denominator; None when the authority has no valid certificate.
* **年度激活率** = the e-cert versions (rows of ``ecert``) the authority issued this calendar
  year (China time, 1 January up to the end of ``today``) that were activated in the same
  window (``activated_at``: first shown, downloaded or verified by its holder or an officer)
  ÷ all those versions. A version issued last year and activated this year counts in neither;
  a new version (变更, 换证 …) must be activated anew, as the holder shows the new one.

Scores (App. A, 40 points each): a band "a%—b%" covers a ≤ rate < b, since "低于 30%" alone
scores nothing and 30% itself must fall in "30%—40%"; "高于 90%" therefore starts at 90%.
Bands are compared in integers, so 3 of 10 is exactly 30%.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from roadcert.catalog import codes
from roadcert.catalog.types import RIDE_HAILING_TRANSPORT_CERTIFICATE, ROAD_TRANSPORT_CERTIFICATE
from roadcert.certificates.models import SourceKind
from roadcert.certificates.repository import CollectionRepository
from roadcert.certificates.service import type_for_category
from roadcert.kit.chinatime import CHINA_OFFSET

#: 制证率 bands (lower bound in percent, points), highest first; below the last scores 0.
ISSUANCE_BANDS: tuple[tuple[int, int], ...] = (
    (90, 40),
    (80, 35),
    (70, 30),
    (60, 25),
    (50, 20),
    (40, 15),
    (30, 5),
)
#: 年度激活率 bands, as above.
ACTIVATION_BANDS: tuple[tuple[int, int], ...] = (
    (90, 40),
    (80, 35),
    (70, 30),
    (60, 25),
    (50, 20),
    (40, 15),
    (30, 10),
    (20, 5),
)
MAX_SCORE = 40


def band_score(numerator: int, denominator: int, bands: Sequence[tuple[int, int]]) -> int | None:
    """Points for numerator/denominator in ``bands``; None when there is nothing to rate."""
    if denominator <= 0:
        return None
    for percent, points in bands:
        if numerator * 100 >= percent * denominator:
            return points
    return 0


def issuance_score(numerator: int, denominator: int) -> int | None:
    """App. A item 1 (制证率), 0–40 points."""
    return band_score(numerator, denominator, ISSUANCE_BANDS)


def activation_score(numerator: int, denominator: int) -> int | None:
    """App. A item 2 (年度激活率), 0–40 points."""
    return band_score(numerator, denominator, ACTIVATION_BANDS)


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@dataclass
class KindCount:
    """Valid certificates of one kind and how many of them have a valid e-cert."""

    valid: int = 0
    with_ecert: int = 0


@dataclass
class CollectionRate:
    """One authority's 制证率 and 年度激活率 with their App. A scores, and its 不规范数据."""

    authority_id: int | None  # None for a total
    authority_name: str
    authority_uscc: str
    ecert_enabled: bool
    valid: int = 0  # 有效证照 (denominator)
    with_ecert: int = 0  # 已制电子证照 (numerator)
    issued_this_year: int = 0  # 本年制发
    activated_this_year: int = 0  # 已激活
    by_kind: dict[str, KindCount] = field(default_factory=dict)
    non_standard: dict[str, int] = field(default_factory=dict)  # rule → open findings

    @property
    def rate(self) -> float | None:
        """制证率, None when the authority has no valid certificate."""
        return _rate(self.with_ecert, self.valid)

    @property
    def score(self) -> int | None:
        """App. A points for 制证率."""
        return issuance_score(self.with_ecert, self.valid)

    @property
    def activation_rate(self) -> float | None:
        """年度激活率, None when nothing was issued this year."""
        return _rate(self.activated_this_year, self.issued_this_year)

    @property
    def activation_score(self) -> int | None:
        """App. A points for 年度激活率."""
        return activation_score(self.activated_this_year, self.issued_this_year)

    @property
    def non_standard_total(self) -> int:
        """Open 不规范数据 findings of the authority."""
        return sum(self.non_standard.values())

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (``roadcert quality --json``, the import report)."""
        return {
            "authority_id": self.authority_id,
            "authority": self.authority_name,
            "uscc": self.authority_uscc,
            "ecert_enabled": self.ecert_enabled,
            "valid": self.valid,
            "with_ecert": self.with_ecert,
            "rate": self.rate,
            "score": self.score,
            "issued_this_year": self.issued_this_year,
            "activated_this_year": self.activated_this_year,
            "activation_rate": self.activation_rate,
            "activation_score": self.activation_score,
            "by_kind": {
                kind: {"valid": c.valid, "with_ecert": c.with_ecert}
                for kind, c in self.by_kind.items()
            },
            "non_standard": dict(self.non_standard),
            "non_standard_total": self.non_standard_total,
        }


def year_window(today: date) -> tuple[datetime, datetime]:
    """[1 January 00:00, the day after ``today`` 00:00) in China time, as UTC instants."""
    start = datetime.combine(date(today.year, 1, 1), time(), tzinfo=UTC) - CHINA_OFFSET
    end = datetime.combine(today + timedelta(days=1), time(), tzinfo=UTC) - CHINA_OFFSET
    return start, end


def category_types() -> dict[str, str]:
    """Qualification category code → code of the certificate type it is printed on."""
    found: dict[str, str] = {}
    for category in codes.QualificationCategory:
        cert_type = type_for_category(category.value)
        if cert_type is not None:
            found[category.value] = cert_type.type_code
    return found


def collection_rates(
    session: Session, today: date, authority_id: int | None = None
) -> list[CollectionRate]:
    """制证率 and 年度激活率 of every authority (or one), in region-code order.

    Four queries in all, whatever the number of certificates (the authorities, the valid
    certificates joined to their current e-certs, this year's issues and activations, the open
    不规范数据 by rule); ``today`` is the China date that decides validity and the year of the
    activation rate.
    """
    repo = CollectionRepository(session)
    rates = {
        a.id: CollectionRate(a.id, a.name, a.uscc, bool(a.ecert_enabled))
        for a in repo.authorities(authority_id)
    }
    counts = repo.certificate_counts(
        today,
        authority_id,
        transport_type=ROAD_TRANSPORT_CERTIFICATE.type_code,
        ride_hailing_type=RIDE_HAILING_TRANSPORT_CERTIFICATE.type_code,
        category_types=category_types(),
    )
    for rate in rates.values():
        for kind in SourceKind:
            valid, covered = counts.get((rate.authority_id or 0, kind.value), (0, 0))
            rate.by_kind[kind.value] = KindCount(valid, covered)
            rate.valid += valid
            rate.with_ecert += covered
    start, end = year_window(today)
    for auth, (issued, activated) in repo.activation_counts(start, end, authority_id).items():
        if auth in rates:
            rates[auth].issued_this_year = issued
            rates[auth].activated_this_year = activated
    for auth, rule, count in repo.open_issues_by_rule(authority_id):
        if auth in rates:
            rates[auth].non_standard[rule] = count
    return list(rates.values())


def province_total(rates: Sequence[CollectionRate], name: str = "全省合计") -> CollectionRate:
    """The sum of ``rates`` as one row; its rates and scores are those of the sums."""
    total = CollectionRate(None, name, "", any(r.ecert_enabled for r in rates))
    for rate in rates:
        total.valid += rate.valid
        total.with_ecert += rate.with_ecert
        total.issued_this_year += rate.issued_this_year
        total.activated_this_year += rate.activated_this_year
        for kind, count in rate.by_kind.items():
            into = total.by_kind.setdefault(kind, KindCount())
            into.valid += count.valid
            into.with_ecert += count.with_ecert
        for rule, n in rate.non_standard.items():
            total.non_standard[rule] = total.non_standard.get(rule, 0) + n
    total.non_standard = dict(sorted(total.non_standard.items(), key=lambda kv: (-kv[1], kv[0])))
    return total


def collection_summary(
    rates: Sequence[CollectionRate], today: date, *, whole_province: bool = True
) -> dict[str, Any]:
    """``rates`` as JSON: what ``roadcert quality --json`` prints and report.json of an import
    holds under ``collection``, so the two always agree.

    ``province_total`` is the 全省合计 row, or None when ``rates`` are not the whole province
    (``quality --authority``).
    """
    total = province_total(rates) if whole_province else None
    return {
        "date": today.isoformat(),
        "authorities": [r.as_dict() for r in rates],
        "province_total": total.as_dict() if total else None,
        "non_standard_total": sum(r.non_standard_total for r in rates),
    }


def percent(rate: float | None) -> str:
    """``87.5%`` for display, cut (not rounded) so it never shows a band it has not reached."""
    if rate is None:
        return "—"
    return f"{math.floor(rate * 1000 + 1e-9) / 10:.1f}%"

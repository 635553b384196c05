"""A realistic demo province (吉林): authorities, operators, vehicles, practitioners, e-certs.

Deterministic for a given seed. Every identifier is valid except in a handful of deliberately
non-standard records, which the quality list shows and issuance refuses.
"""

from __future__ import annotations

import io
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from PIL import Image, ImageDraw
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from roadcert.accounts.models import Role
from roadcert.accounts.service import NewUser
from roadcert.catalog.types import (
    CATALOGUE,
    DANGEROUS_GOODS_LICENCE,
    RADIOACTIVE_LICENCE,
    RIDE_HAILING_LICENCE,
    ROAD_TRANSPORT_LICENCE,
    CertGroup,
    CertificateType,
)
from roadcert.certificates.operations import Outcome
from roadcert.kit import cert_numbers, plates, regions, ric, uscc
from roadcert.migration.vocabulary import (
    BUS_MODELS,
    CAR_MODELS,
    FIRM_WORDS,
    GIVEN,
    ROADS,
    SURNAMES,
    TANK_MODELS,
    TRUCK_MODELS,
)
from roadcert.registry.models import EntryKind, Operator, Practitioner
from roadcert.registry.schemas import (
    AuthorityIn,
    EntryIn,
    LicenceIn,
    OperatorChange,
    OperatorIn,
    PractitionerIn,
    QualificationIn,
    Renewal,
    VehicleIn,
)
from roadcert.runtime import Services

PROVINCE = "220000"
PROVINCE_ABBR = "吉"

# (prefecture code, plate letter, e-certs enabled, share of records): 白城 and 延边 have not
# switched to e-certs yet, so their records are refused with issuance.authority_disabled.
CITIES: list[tuple[str, str, bool, int]] = [
    ("220100", "A", True, 40),  # 长春
    ("220200", "B", True, 20),  # 吉林
    ("220300", "C", True, 12),  # 四平
    ("220700", "J", True, 14),  # 松原
    ("220800", "G", False, 7),  # 白城
    ("222400", "H", False, 7),  # 延边
]


@dataclass
class DemoReport:
    """What the demo built, for the console."""

    authorities: int = 0
    operators: int = 0
    licences: int = 0
    vehicles: int = 0
    practitioners: int = 0
    issued: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    revoked: int = 0
    non_standard: int = 0
    skipped: bool = False

    def add(self, outcome: Outcome) -> None:
        """Count an operation's e-cert effect."""
        for ecert in outcome.effect.issued:
            self.issued[ecert.type_code] += 1
        for refusal in outcome.effect.refused:
            self.refused[refusal.code] += 1
        self.revoked += len(outcome.effect.revoked)

    def lines(self) -> list[str]:
        """A Chinese summary."""
        if self.skipped:
            return ["演示省份已存在，未重复建数。"]
        out = [
            f"演示省份：吉林省；核发机关 {self.authorities} 个，业户 {self.operators} 户，"
            f"经营许可证 {self.licences} 件，车辆 {self.vehicles} 辆，"
            f"从业人员 {self.practitioners} 人",
            "制发电子证照（含新版本）："
            + "，".join(f"{CATALOGUE[code].name} {n}" for code, n in sorted(self.issued.items())),
            f"注销电子证照 {self.revoked} 张；"
            f"不规范数据 {self.non_standard} 条（roadcert quality 查看）",
        ]
        if self.refused:
            out.append(
                "未制发（前置条件不满足）："
                + "，".join(f"{code} ×{n}" for code, n in sorted(self.refused.items()))
            )
        return out


def photo_png(rng: random.Random, caption: str, person: bool) -> bytes:
    """A small generated picture standing in for a vehicle or ID photo."""
    width, height = (120, 160) if person else (240, 160)
    background = (rng.randint(200, 255), rng.randint(200, 255), rng.randint(200, 255))
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    colour = (rng.randint(0, 120), rng.randint(0, 120), rng.randint(60, 160))
    if person:
        draw.ellipse((35, 20, 85, 75), fill=colour)
        draw.rectangle((20, 85, 100, 160), fill=colour)
    else:
        draw.rectangle((20, 50, 220, 120), fill=colour)
        draw.ellipse((40, 105, 80, 145), fill=(30, 30, 30))
        draw.ellipse((160, 105, 200, 145), fill=(30, 30, 30))
    draw.text((6, 4), caption.encode("ascii", "replace").decode(), fill=(0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class DemoBuilder:
    """Builds the demo province through the same business operations a clerk uses."""

    def __init__(self, svc: Services, seed: int, today: date) -> None:
        self.svc = svc
        self.rng = random.Random(seed)
        self.today = today
        self.report = DemoReport()
        self.seq: Counter[str] = Counter()
        self.used_ids: set[str] = set()
        self.used_plates: set[str] = set()
        self.used_names: set[str] = set()
        self.authorities: list[tuple[Any, str, str]] = []  # (authority, prefecture, letter)

    # -- names and places --------------------------------------------------------------------

    def person_name(self) -> str:
        return self.rng.choice(SURNAMES) + "".join(
            self.rng.choice(GIVEN) for _ in range(self.rng.randint(1, 2))
        )

    def city_authority(self) -> tuple[Any, str, str]:
        """A city authority, drawn by each city's share of the province's records."""
        weights = [share for *_, share in CITIES]
        return self.rng.choices(self.authorities[1:], weights=weights)[0]

    def address(self, prefecture: str) -> tuple[str, str]:
        county = self.rng.choice(regions.counties(prefecture) or [prefecture])
        text = (
            f"{regions.name_of(PROVINCE)}{regions.name_of(prefecture)}"
            f"{regions.name_of(county) or ''}"
            f"{self.rng.choice(ROADS)}{self.rng.randint(1, 3999)}号"
        )
        return text, county

    def date_between(self, start: date, end: date) -> date:
        return start + timedelta(days=self.rng.randint(0, max((end - start).days, 0)))

    # -- authorities -------------------------------------------------------------------------

    def build_authorities(self) -> None:
        ledger = self.svc.ledger
        province = ledger.create_authority(
            AuthorityIn(
                name="吉林省交通运输厅",
                uscc=uscc.generate(self.rng, PROVINCE, "1", "1"),
                region_code=PROVINCE,
                number_prefix="吉",
                ecert_enabled=True,
            )
        )
        self.authorities.append((province, "220100", "A"))
        for prefecture, letter, enabled, _share in CITIES:
            city = regions.name_of(prefecture) or prefecture
            name = f"{city}交通运输局"
            authority = ledger.create_authority(
                AuthorityIn(
                    name=name,
                    uscc=uscc.generate(self.rng, prefecture, "1", "1"),
                    region_code=prefecture,
                    number_prefix=regions.CITY_SHORT_NAMES.get(prefecture, city[0]),
                    ecert_enabled=enabled,
                )
            )
            self.authorities.append((authority, prefecture, letter))
        self.report.authorities = len(self.authorities)

    # -- operators, licences, vehicles ---------------------------------------------------------

    def firm_name(self, city: str, trade: str) -> str:
        """A unique company name in the city's usual style."""
        while True:
            words = self.rng.sample(FIRM_WORDS, 2)
            name = f"{city.removesuffix('市')}{words[0]}{trade}有限公司"
            if name in self.used_names:
                name = f"{city.removesuffix('市')}{words[0]}{words[1]}{trade}有限公司"
            if name not in self.used_names:
                self.used_names.add(name)
                return name

    def build_operator(self, index: int) -> None:
        authority, prefecture, letter = self.city_authority()
        city = regions.name_of(prefecture) or ""
        address, county = self.address(prefecture)
        kind = self.rng.choices(
            ["freight", "passenger", "dangerous", "ride", "radioactive"], weights=[55, 20, 15, 8, 2]
        )[0]
        trade = {
            "freight": "物流",
            "passenger": "客运",
            "dangerous": "危险货物运输",
            "ride": "网约车服务",
            "radioactive": "放射性物品运输",
        }[kind]
        name = self.firm_name(city, trade)
        outcome = self.svc.business.new_operator(
            OperatorIn(
                authority_id=authority.id,
                name=name,
                uscc=uscc.generate(self.rng, county),
                address=address,
                region_code=county,
                economic_type=self.rng.choice(["173", "171", "110", "175"]),
                status="1",
            )
        )
        operator = outcome.record
        self.report.operators += 1
        scopes, cert_type = {
            "freight": (["02101"], ROAD_TRANSPORT_LICENCE),
            "passenger": (
                self.rng.sample(["01103", "01104", "01203", "01204"], 2),
                ROAD_TRANSPORT_LICENCE,
            ),
            "dangerous": (
                ["02101", self.rng.choice(["03131", "03121", "03181"])],
                DANGEROUS_GOODS_LICENCE,
            ),
            "ride": (["01000"], RIDE_HAILING_LICENCE),
            "radioactive": (["03170"], RADIOACTIVE_LICENCE),
        }[kind]
        issued = self.date_between(
            self.today - timedelta(days=3 * 365), self.today - timedelta(days=30)
        )
        licence_outcome = self.new_licence(
            operator, authority, prefecture, county, cert_type, scopes, issued
        )
        for _ in range(self.rng.randint(1, 4)):
            self.build_vehicle(
                operator, licence_outcome.record, authority, prefecture, letter, kind
            )

    def new_licence(
        self,
        operator: Any,
        authority: Any,
        prefecture: str,
        county: str,
        cert_type: CertificateType,
        scopes: list[str],
        issued: date,
    ) -> Outcome:
        """新增 a licence numbered in the authority's sequence, valid for its type's term."""
        self.seq[prefecture] += 1
        outcome = self.svc.business.new_licence(
            LicenceIn(
                operator_id=operator.id,
                authority_id=authority.id,
                type_code=cert_type.type_code,
                number=cert_numbers.licence_number(
                    PROVINCE_ABBR, authority.number_prefix, county, self.seq[prefecture]
                ),
                business_scopes=scopes,
                valid_from=issued,
                valid_until=issued + timedelta(days=365 * cert_type.validity_years - 1),
                issue_date=issued,
            )
        )
        self.report.add(outcome)
        self.report.licences += 1
        return outcome

    def plate(self, letter: str, new_energy: bool) -> str:
        while True:
            plate = plates.generate(self.rng, PROVINCE_ABBR, letter, new_energy)
            if plate not in self.used_plates:
                self.used_plates.add(plate)
                return plate

    def build_vehicle(
        self,
        operator: Any,
        licence: Any,
        authority: Any,
        prefecture: str,
        letter: str,
        kind: str,
        **override: Any,
    ) -> Outcome:
        ride = kind == "ride"
        plate = self.plate(letter, new_energy=ride)
        if kind == "passenger":
            vtype, model, seats, tonnage, dims, colour = (
                "K11",
                self.rng.choice(BUS_MODELS),
                self.rng.choice([35, 45, 49, 53]),
                None,
                (12000, 2550, 3800),
                "2",
            )
        elif kind in ("dangerous", "radioactive"):
            vtype, model, seats, tonnage, dims, colour = (
                "H14",
                self.rng.choice(TANK_MODELS),
                None,
                self.rng.randint(8, 30) * 1000,
                (10500, 2500, 3500),
                "2",
            )
        elif ride:
            vtype, model, seats, tonnage, dims, colour = (
                "K33",
                self.rng.choice(CAR_MODELS),
                5,
                None,
                (4800, 1850, 1500),
                "5",
            )
        else:
            vtype, model, seats, tonnage, dims, colour = (
                self.rng.choice(["H11", "H12", "H17", "H19"]),
                self.rng.choice(TRUCK_MODELS),
                None,
                self.rng.randint(5, 40) * 1000,
                (9600, 2500, 3600),
                "2",
            )
        issued = self.date_between(
            self.today - timedelta(days=2 * 365), self.today - timedelta(days=10)
        )
        self.seq["transport" + prefecture] += 1
        fields: dict[str, Any] = dict(
            operator_id=operator.id,
            authority_id=authority.id,
            licence_id=licence.id,
            plate=plate,
            plate_color=colour,
            vehicle_type=vtype,
            brand_model=model,
            seats=seats,
            tonnage_kg=tonnage,
            length_mm=dims[0],
            width_mm=dims[1],
            height_mm=dims[2],
            business_scopes=licence.business_scopes if not ride else [],
            technical_grade=self.rng.choice(["1", "1", "2"]),
            status="10",
            ride_hailing=ride,
            transport_number=cert_numbers.transport_number(
                PROVINCE_ABBR,
                authority.number_prefix,
                prefecture,
                self.seq["transport" + prefecture],
            ),
            issue_date=issued,
            valid_from=issued,
            valid_until=issued + timedelta(days=3 * 365 - 1),
            review_valid_until=self.date_between(
                self.today + timedelta(days=30), self.today + timedelta(days=365)
            ),
        )
        photo = override.pop("_photo", photo_png(self.rng, plate, person=False))
        fields.update(override)
        outcome = self.svc.business.new_vehicle(VehicleIn(**fields), photo)
        self.report.add(outcome)
        self.report.vehicles += 1
        return outcome

    # -- practitioners -------------------------------------------------------------------------

    def id_number(self, county: str, birth: date, male: bool) -> str:
        while True:
            number = ric.generate(self.rng, county, birth, male)
            if number not in self.used_ids:
                self.used_ids.add(number)
                return number

    def build_practitioner(self, **override: Any) -> Outcome:
        authority, prefecture, _ = self.city_authority()
        address, county = self.address(prefecture)
        birth = self.date_between(date(1965, 1, 1), date(2000, 12, 31))
        male = self.rng.random() < 0.85
        number = self.id_number(county, birth, male)
        roles = self.rng.choices(
            [
                ["02001"],
                ["01001"],
                ["01001", "02001"],
                ["02001", "03001"],
                ["03002"],
                ["03003"],
                ["09002"],
                ["09003"],
                ["02001", "09003"],
            ],
            weights=[40, 12, 10, 10, 4, 4, 8, 8, 4],
        )[0]
        qualifications = []
        for role in roles:
            start = self.date_between(
                self.today - timedelta(days=5 * 365), self.today - timedelta(days=20)
            )
            qualifications.append(
                QualificationIn(
                    category=role,
                    first_issued=start,
                    valid_from=start,
                    valid_until=start + timedelta(days=6 * 365 - 1),
                )
            )
        fields: dict[str, Any] = dict(
            authority_id=authority.id,
            name=self.person_name(),
            id_number=number,
            sex="1" if male else "2",
            birth_date=birth,
            address=address,
            driving_class=self.rng.choice(["A1", "A2", "B2", "A2D", "C1"]),
            qualifications=qualifications,
        )
        photo = override.pop("_photo", photo_png(self.rng, number[-6:], person=True))
        fields.update(override)
        outcome = self.svc.business.new_practitioner(PractitionerIn(**fields), photo)
        self.report.add(outcome)
        self.report.practitioners += 1
        return outcome

    # -- the non-standard and the lifecycle --------------------------------------------------

    def build_exceptions(self) -> None:
        """Deliberately non-standard or refused records, as legacy ledgers hold them."""
        authority, prefecture, letter = self.authorities[1]
        address, county = self.address(prefecture)
        # (name, USCC, status): wrong check char, no USCC, an allow-listed early pilot code,
        # and an operator that is not 营运.
        bad: list[tuple[str, str | None, str]] = [
            ("长春市示例不规范运输有限公司", "91220101MA0Y1234X0", "1"),
            ("长春市缺码货运站", None, "1"),
            ("福州市早期试点物流有限公司", "91350100M0001TGQXM", "1"),
            ("长春市停业客运有限公司", uscc.generate(self.rng, county), "2"),
        ]
        for name, code, status in bad:
            outcome = self.svc.business.new_operator(
                OperatorIn(
                    authority_id=authority.id,
                    address=address,
                    region_code=county,
                    economic_type="173",
                    status=status,
                    name=name,
                    uscc=code,
                )
            )
            self.report.operators += 1
            operator = outcome.record
            self.new_licence(
                operator,
                authority,
                prefecture,
                county,
                ROAD_TRANSPORT_LICENCE,
                ["02101"],
                self.today - timedelta(days=100),
            )
        # Vehicles of a valid operator: a malformed plate, an unknown type code, no photo, scrapped.
        operator_outcome = self.svc.business.new_operator(
            OperatorIn(
                authority_id=authority.id,
                name="长春市顺通物流有限公司",
                uscc=uscc.generate(self.rng, county),
                address=address,
                region_code=county,
                economic_type="173",
                status="1",
            )
        )
        operator = operator_outcome.record
        self.report.operators += 1
        licence = self.new_licence(
            operator,
            authority,
            prefecture,
            county,
            ROAD_TRANSPORT_LICENCE,
            ["02101"],
            self.today - timedelta(days=200),
        ).record
        self.build_vehicle(
            operator, licence, authority, prefecture, letter, "freight", plate="吉AO1234"
        )
        self.build_vehicle(
            operator, licence, authority, prefecture, letter, "freight", vehicle_type="X00"
        )
        self.build_vehicle(operator, licence, authority, prefecture, letter, "freight", _photo=None)
        self.build_vehicle(operator, licence, authority, prefecture, letter, "freight", status="33")
        # Practitioners: a wrong ID check digit, an unknown category, no photo.
        broken = ric.generate(self.rng, county, date(1980, 5, 17), True)
        broken = broken[:-1] + ("0" if broken[-1] != "0" else "1")
        self.build_practitioner(id_number=broken, birth_date=date(1980, 5, 17), sex="1")
        self.build_practitioner(
            qualifications=[
                QualificationIn(
                    category="99999",
                    valid_from=self.today - timedelta(days=10),
                    valid_until=self.today + timedelta(days=2000),
                )
            ]
        )
        self.build_practitioner(_photo=None)

    def build_lifecycle(self) -> None:
        """A few operations after issuance, so that versions and states show."""
        business = self.svc.business
        repo = self.svc.ledger.repo
        operators, _ = repo.page(Operator, authority_id=None, offset=0, limit=5)
        for operator in operators[:2]:
            self.report.add(
                business.change_operator(
                    operator.id, OperatorChange(address=operator.address + "（新址）")
                )
            )
        licences = repo.licences_of(operators[2].id)
        if licences:
            self.report.add(
                business.renew_licence(
                    licences[0].id,
                    Renewal(
                        valid_from=self.today, valid_until=self.today + timedelta(days=4 * 365 - 1)
                    ),
                )
            )
        vehicles = repo.vehicles_of(operators[3].id)
        if vehicles:
            self.report.add(
                business.review_vehicle(
                    vehicles[0].id,
                    Renewal(
                        review_valid_until=self.today + timedelta(days=365), technical_grade="1"
                    ),
                )
            )
            self.report.add(
                business.cancel_vehicle(vehicles[-1].id)
                if len(vehicles) > 1
                else business.reissue_vehicle(vehicles[0].id)
            )
        people, _ = repo.page(Practitioner, authority_id=None, offset=0, limit=3)
        for person in people[:2]:
            self.report.add(
                business.add_entry(
                    person.id,
                    EntryKind.INTEGRITY_ASSESSMENT,
                    EntryIn(entry_date=self.today, text="诚信考核等级 AAA"),
                )
            )


def build(
    svc: Services, *, operators: int, practitioners: int, seed: int, progress: Console | None = None
) -> DemoReport:
    """Load the demo province into the (empty) ledger and issue its e-certs."""
    if svc.ledger.repo.authorities():
        report = DemoReport()
        report.skipped = True
        return report
    today = svc.issuance.today()
    builder = DemoBuilder(svc, seed, today)
    svc.keys.ensure_hierarchy()
    builder.build_authorities()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=progress, disable=progress is None) as bar:
        task = bar.add_task("业户、许可证与车辆", total=operators)
        for index in range(operators):
            builder.build_operator(index)
            bar.advance(task)
        task = bar.add_task("从业人员", total=practitioners)
        for _ in range(practitioners):
            builder.build_practitioner()
            bar.advance(task)
    builder.build_exceptions()
    builder.build_lifecycle()
    builder.report.non_standard = len(svc.ledger.repo.all_open_issues())
    return builder.report


#: Every demo account's password. The demo runs only in development; a province creates real
#: accounts with `roadcert user add`.
DEMO_PASSWORD = "demo2026"


@dataclass(frozen=True)
class DemoLogin:
    """One demo account as the console prints it."""

    role: Role
    username: str
    bound_to: str


def ensure_users(svc: Services) -> list[DemoLogin]:
    """One account per role, bound to demo records that show each role's pages; idempotent."""
    ledger, ecerts = svc.ledger.repo, svc.issuance.repo
    authorities = ledger.authorities()
    if not authorities:
        return []
    enabled = [a for a in authorities if a.ecert_enabled and a.region_code != PROVINCE]
    disabled = [a for a in authorities if not a.ecert_enabled]
    clerk_authority = enabled[0]
    group_types = {
        group: [code for code, t in CATALOGUE.items() if t.group is group] for group in CertGroup
    }
    enterprise = ecerts.busiest_holder(
        group_types[CertGroup.TRANSPORT], authority_id=clerk_authority.id
    )
    practitioner = ecerts.busiest_holder(group_types[CertGroup.QUALIFICATION])
    refused = _operator_without_ecerts(svc, disabled)
    wanted: list[tuple[str, str, Role, int | None, str | None, str]] = [
        ("admin", "省级管理员", Role.ADMIN, None, None, "吉林省"),
        ("clerk", "长春窗口", Role.CLERK, clerk_authority.id, None, clerk_authority.name),
        ("officer", "执法检查员", Role.OFFICER, None, None, "全省"),
    ]
    if enterprise:
        wanted.append(("enterprise", "业户用户", Role.ENTERPRISE, None, enterprise, enterprise))
    if refused:
        wanted.append(
            ("enterprise2", "业户用户（未开通）", Role.ENTERPRISE, None, refused, refused)
        )
    if practitioner:
        wanted.append(("driver", "从业人员", Role.PRACTITIONER, None, practitioner, practitioner))
    logins = []
    for username, name, role, authority_id, holder, bound in wanted:
        if svc.accounts.repo.user_by_name(username) is None:
            display = _holder_name(svc, holder) or name
            svc.accounts.create_user(
                NewUser(username, DEMO_PASSWORD, display, role, authority_id, holder)
            )
        logins.append(DemoLogin(role, username, bound))
    return logins


def _operator_without_ecerts(svc: Services, authorities: list[Any]) -> str | None:
    """An operator with a valid USCC at an authority not yet issuing e-certs."""
    for authority in authorities:
        rows, _ = svc.ledger.repo.page(Operator, authority_id=authority.id, offset=0, limit=50)
        for operator in rows:
            if operator.uscc and uscc.check(operator.uscc).ok:
                return operator.uscc
    return None


def _holder_name(svc: Services, holder_code: str | None) -> str | None:
    if holder_code is None:
        return None
    rows = svc.issuance.repo.search(holder_code=holder_code, limit=1)
    if rows:
        return rows[0].holder_name
    operators, _ = svc.ledger.repo.page(
        Operator, authority_id=None, offset=0, limit=1, uscc=holder_code
    )
    return operators[0].name if operators else None

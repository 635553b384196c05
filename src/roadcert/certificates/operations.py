"""Business operations (业务办理): a ledger change and its e-cert effect, in one transaction.

新增 → new e-cert; 变更/补证/换证/审验/签注 → new version, the old one 已换发; 注销 → revoked;
an operator or vehicle leaving service → suspended. A refused precondition does not undo the
ledger change (paper certificates go on); it is reported with its code next to the result.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from roadcert.catalog import codes
from roadcert.certificates.models import Operation
from roadcert.certificates.service import (
    Effect,
    IssuanceRefused,
    IssuanceService,
    Target,
    type_for_category,
)
from roadcert.errors import BadInput
from roadcert.registry import quality
from roadcert.registry.models import (
    EntryKind,
    Licence,
    Operator,
    Practitioner,
    RecordStatus,
    Vehicle,
)
from roadcert.registry.schemas import (
    EntryIn,
    LicenceChange,
    LicenceIn,
    OperatorChange,
    OperatorIn,
    PractitionerChange,
    PractitionerIn,
    QualificationIn,
    Renewal,
    VehicleChange,
    VehicleIn,
)
from roadcert.registry.service import LedgerService

# Vehicle states that end the certificate for good, and those that pause it.
_VEHICLE_GONE = {codes.VehicleStatus.from_code(c).value for c in ("31", "32", "33", "80")}
_VEHICLE_VALID = {codes.VehicleStatus.OPERATING.value, codes.VehicleStatus.SUSPENDED.value}


@dataclass
class Outcome:
    """A business operation's result: the record, its quality findings and the e-cert effect."""

    record: Any
    findings: list[quality.Finding] = field(default_factory=list)
    effect: Effect = field(default_factory=Effect)


class BusinessService:
    """The business operations a clerk runs on the ledger."""

    def __init__(self, ledger: LedgerService, issuance: IssuanceService) -> None:
        self.ledger = ledger
        self.issuance = issuance

    # -- shared ------------------------------------------------------------------------------

    def _issue(self, targets: Iterable[Target], operation: Operation, outcome: Outcome) -> Outcome:
        self.issuance.try_issue(targets, operation, outcome.effect)
        return outcome

    def _revoke(self, targets: Iterable[Target], reason: str, outcome: Outcome) -> Outcome:
        for target in targets:
            revoked = self.issuance.revoke(target, reason)
            if revoked is not None:
                outcome.effect.revoked.append(revoked)
        return outcome

    def _suspend(self, targets: Iterable[Target], reason: str, outcome: Outcome) -> Outcome:
        for target in targets:
            suspended = self.issuance.suspend(target, reason)
            if suspended is not None:
                outcome.effect.suspended.append(suspended)
        return outcome

    # -- operators ---------------------------------------------------------------------------

    def new_operator(self, data: OperatorIn) -> Outcome:
        """Record an operator; it gets e-certs through its licences and vehicles."""
        operator, findings = self.ledger.create_operator(data)
        return Outcome(operator, findings)

    def change_operator(self, operator_id: int, data: OperatorChange) -> Outcome:
        """变更 an operator: every certificate it holds gets a new version (or ends)."""
        operator, _changed, findings = self.ledger.change_operator(operator_id, data)
        outcome = Outcome(operator, findings)
        licences = [
            lic
            for lic in self.ledger.repo.licences_of(operator.id)
            if lic.status == RecordStatus.ACTIVE
        ]
        vehicles = [
            v
            for v in self.ledger.repo.vehicles_of(operator.id)
            if v.transport_status == RecordStatus.ACTIVE
        ]
        targets = [t for lic in licences for t in self.issuance.targets_for_licence(lic)]
        targets += [t for v in vehicles for t in self.issuance.targets_for_vehicle(v)]
        if operator.status == codes.OperatorStatus.from_code("6"):
            return self._revoke(targets, "业户注销", outcome)
        if operator.status != codes.OperatorStatus.OPERATING:
            return self._suspend(targets, "业户非营运状态", outcome)
        return self._issue(targets, Operation.CHANGE, outcome)

    # -- licences ----------------------------------------------------------------------------

    def new_licence(self, data: LicenceIn) -> Outcome:
        """新增 a licence and issue its e-cert."""
        licence, findings = self.ledger.create_licence(data)
        return self._issue(
            self.issuance.targets_for_licence(licence), Operation.NEW, Outcome(licence, findings)
        )

    def change_licence(self, licence_id: int, data: LicenceChange) -> Outcome:
        """变更 a licence's scope."""
        licence, _ = self.ledger.change_licence(licence_id, data)
        return self._issue(
            self.issuance.targets_for_licence(licence), Operation.CHANGE, Outcome(licence)
        )

    def renew_licence(
        self, licence_id: int, data: Renewal, operation: Operation = Operation.RENEW
    ) -> Outcome:
        """换证 or 审验 of a licence: new validity, new version."""
        if data.valid_from is None or data.valid_until is None:
            raise BadInput("换证须给出新的有效期起止", code="renewal.dates", field="valid_until")
        licence = self.ledger.renew_licence(licence_id, data.valid_from, data.valid_until)
        return self._issue(self.issuance.targets_for_licence(licence), operation, Outcome(licence))

    def reissue_licence(self, licence_id: int) -> Outcome:
        """补证: the same content as a new version."""
        licence = self.ledger._active(Licence, licence_id)
        return self._issue(
            self.issuance.targets_for_licence(licence), Operation.REISSUE, Outcome(licence)
        )

    def cancel_licence(self, licence_id: int, revoked: bool = False) -> Outcome:
        """注销 (or 吊销) a licence: its e-cert is revoked."""
        status = RecordStatus.REVOKED if revoked else RecordStatus.CANCELLED
        licence = self.ledger.cancel_licence(licence_id, status)
        reason = "经营许可证吊销" if revoked else "经营许可证注销"
        return self._revoke(self.issuance.targets_for_licence(licence), reason, Outcome(licence))

    # -- vehicles ----------------------------------------------------------------------------

    def new_vehicle(self, data: VehicleIn, photo: bytes | None = None) -> Outcome:
        """新增 a vehicle and issue its 道路运输证."""
        vehicle, findings = self.ledger.create_vehicle(data, photo)
        return self._issue(
            self.issuance.targets_for_vehicle(vehicle), Operation.NEW, Outcome(vehicle, findings)
        )

    def change_vehicle(self, vehicle_id: int, data: VehicleChange) -> Outcome:
        """变更 a vehicle; a status leaving service ends or pauses its e-cert."""
        vehicle, _ = self.ledger.change_vehicle(vehicle_id, data)
        outcome = Outcome(vehicle)
        targets = self.issuance.targets_for_vehicle(vehicle)
        if vehicle.status in _VEHICLE_GONE:
            return self._revoke(
                targets, "车辆" + codes.VehicleStatus.from_code(vehicle.status).label, outcome
            )
        if vehicle.status not in _VEHICLE_VALID:
            return self._suspend(targets, "车辆非营运或停运状态", outcome)
        return self._issue(targets, Operation.CHANGE, outcome)

    def review_vehicle(self, vehicle_id: int, data: Renewal) -> Outcome:
        """年审/审验: the new review date and grade go on a new version."""
        if data.review_valid_until is None:
            raise BadInput("年审须给出审验有效期至", code="review.date", field="review_valid_until")
        vehicle = self.ledger.review_vehicle(
            vehicle_id, data.review_valid_until, data.technical_grade
        )
        return self._issue(
            self.issuance.targets_for_vehicle(vehicle), Operation.REVIEW, Outcome(vehicle)
        )

    def renew_vehicle(self, vehicle_id: int, data: Renewal) -> Outcome:
        """换证 of a 道路运输证."""
        if data.valid_from is None or data.valid_until is None:
            raise BadInput("换证须给出新的有效期起止", code="renewal.dates", field="valid_until")
        vehicle = self.ledger.renew_vehicle(vehicle_id, data.valid_from, data.valid_until)
        return self._issue(
            self.issuance.targets_for_vehicle(vehicle), Operation.RENEW, Outcome(vehicle)
        )

    def reissue_vehicle(self, vehicle_id: int) -> Outcome:
        """补证 of a 道路运输证."""
        vehicle = self.ledger._active(Vehicle, vehicle_id)
        return self._issue(
            self.issuance.targets_for_vehicle(vehicle), Operation.REISSUE, Outcome(vehicle)
        )

    def cancel_vehicle(self, vehicle_id: int) -> Outcome:
        """注销 a 道路运输证."""
        vehicle = self.ledger.cancel_vehicle(vehicle_id)
        return self._revoke(
            self.issuance.targets_for_vehicle(vehicle), "道路运输证注销", Outcome(vehicle)
        )

    def vehicle_photo(self, vehicle_id: int, content: bytes) -> Outcome:
        """A new vehicle photo goes on a new version (or lets the first one be issued)."""
        vehicle = self.ledger.set_vehicle_photo(vehicle_id, content)
        targets = self.issuance.targets_for_vehicle(vehicle)
        operation = Operation.CHANGE if self.issuance.current(targets[0]) else Operation.NEW
        return self._issue(targets, operation, Outcome(vehicle))

    # -- practitioners -------------------------------------------------------------------------

    def new_practitioner(self, data: PractitionerIn, photo: bytes | None = None) -> Outcome:
        """新增 a practitioner: one e-cert per certificate type their categories need."""
        person, findings = self.ledger.create_practitioner(data, photo)
        return self._issue(
            self.issuance.targets_for_practitioner(person), Operation.NEW, Outcome(person, findings)
        )

    def _resync_person(
        self, person: Practitioner, before: list[Target], operation: Operation, reason: str
    ) -> Outcome:
        after = self.issuance.targets_for_practitioner(person)
        outcome = Outcome(person)
        self._revoke([t for t in before if t not in after], reason, outcome)
        new = [t for t in after if t not in before]
        self._issue(new, Operation.NEW, outcome)
        return self._issue([t for t in after if t in before], operation, outcome)

    def change_practitioner(self, practitioner_id: int, data: PractitionerChange) -> Outcome:
        """变更 personal data: every qualification certificate gets a new version."""
        person, _ = self.ledger.change_practitioner(practitioner_id, data)
        return self._issue(
            self.issuance.targets_for_practitioner(person), Operation.CHANGE, Outcome(person)
        )

    def add_qualification(self, practitioner_id: int, data: QualificationIn) -> Outcome:
        """增项: a new category, on a new version or on a certificate of a new type."""
        person = self.ledger.get(Practitioner, practitioner_id)
        before = self.issuance.targets_for_practitioner(person)
        self.ledger.add_qualification(practitioner_id, data)
        return self._resync_person(person, before, Operation.CHANGE, "")

    def renew_qualification(self, practitioner_id: int, category: str, data: Renewal) -> Outcome:
        """换证 of one category: its certificate gets a new version with the new dates."""
        if data.valid_from is None or data.valid_until is None:
            raise BadInput("换证须给出新的有效期起止", code="renewal.dates", field="valid_until")
        self.ledger.renew_qualification(
            practitioner_id, category, data.valid_from, data.valid_until
        )
        person = self.ledger.get(Practitioner, practitioner_id)
        return self._issue(
            self._targets_of_category(person, category), Operation.RENEW, Outcome(person)
        )

    def reissue_qualification(self, practitioner_id: int, category: str) -> Outcome:
        """补证 of the certificate carrying one category."""
        self.ledger.qualification(practitioner_id, category)
        person = self.ledger.get(Practitioner, practitioner_id)
        return self._issue(
            self._targets_of_category(person, category), Operation.REISSUE, Outcome(person)
        )

    def cancel_qualification(self, practitioner_id: int, category: str) -> Outcome:
        """注销 one category: its certificate loses it, or is revoked when none remains."""
        person = self.ledger.get(Practitioner, practitioner_id)
        before = self.issuance.targets_for_practitioner(person)
        self.ledger.cancel_qualification(practitioner_id, category)
        return self._resync_person(person, before, Operation.CHANGE, "从业资格注销")

    def add_entry(self, practitioner_id: int, kind: EntryKind, data: EntryIn) -> Outcome:
        """诚信考核签注 or a continuing-education entry: a new version carrying it."""
        self.ledger.add_entry(practitioner_id, kind, data)
        person = self.ledger.get(Practitioner, practitioner_id)
        operation = (
            Operation.INTEGRITY if kind is EntryKind.INTEGRITY_ASSESSMENT else Operation.CHANGE
        )
        return self._issue(
            self.issuance.targets_for_practitioner(person), operation, Outcome(person)
        )

    def practitioner_photo(self, practitioner_id: int, content: bytes) -> Outcome:
        """A new personal photo: a new version of each certificate (or the first one)."""
        person = self.ledger.set_practitioner_photo(practitioner_id, content)
        outcome = Outcome(person)
        for target in self.issuance.targets_for_practitioner(person):
            operation = Operation.CHANGE if self.issuance.current(target) else Operation.NEW
            self._issue([target], operation, outcome)
        return outcome

    def _targets_of_category(self, person: Practitioner, category: str) -> list[Target]:
        cert_type = type_for_category(category)
        return [
            t
            for t in self.issuance.targets_for_practitioner(person)
            if cert_type is not None and t.type_code == cert_type.type_code
        ]

    # -- bulk --------------------------------------------------------------------------------

    def issue_all(self, records: Iterable[Operator | Licence | Vehicle | Practitioner]) -> Effect:
        """Issue every missing e-cert of the given records (used by the demo and catch-up)."""
        effect = Effect()
        records = list(records)
        targets: list[Target] = []
        for record in records:
            if isinstance(record, Licence):
                targets += self.issuance.targets_for_licence(record)
            elif isinstance(record, Vehicle):
                targets += self.issuance.targets_for_vehicle(record)
            elif isinstance(record, Practitioner):
                targets += self.issuance.targets_for_practitioner(record)
        # One query each for what exists and for the photos, instead of one per e-cert.
        existing = self.issuance.current_many(targets)
        self.issuance.prefetch_photos(
            r.photo_id for r in records if isinstance(r, Vehicle | Practitioner)
        )
        for target in targets:
            if target.current_key in existing:
                continue
            try:
                effect.issued.append(self.issuance.issue(target, Operation.NEW, previous=None))
            except IssuanceRefused as refusal:
                effect.refused.append(refusal)
        return effect

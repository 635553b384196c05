"""Issuance and lifecycle of e-certs (DESIGN.md §4).

Every business operation on the ledger produces its e-cert effect in the same transaction: a
new e-cert, a new version superseding the old one, a revocation, or a suspension. A signed
version is never edited: only its status changes.
"""

from __future__ import annotations

import base64
import os
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache, lru_cache
from typing import Any, Protocol

from sqlalchemy.orm import Session

from roadcert.catalog import codes
from roadcert.catalog.types import CATALOGUE, CertificateType, PhotoKind
from roadcert.catalog.types import type_for_category as catalogue_type_for_category
from roadcert.certificates import faces
from roadcert.certificates.models import Ecert, EcertStatus, Operation, SourceKind
from roadcert.certificates.repository import EcertRepository
from roadcert.certificates.status import StatusIndexAllocator
from roadcert.crypto import cbor, sm, x509
from roadcert.crypto.service import KeyService
from roadcert.db import utcnow
from roadcert.errors import NotFound, RoadcertError
from roadcert.kit import ecert_id, uscc
from roadcert.kit.checks import Verdict
from roadcert.kit.chinatime import china_date
from roadcert.registry import quality
from roadcert.registry.models import (
    Authority,
    Licence,
    Practitioner,
    RecordStatus,
    Vehicle,
)
from roadcert.registry.repository import LedgerRepository
from roadcert.registry.schemas import MAX_ID
from roadcert.registry.service import findings_of


class IssuanceRefused(RoadcertError):
    """An e-cert cannot be issued: one of the preconditions of seed 000 §1.1.4 fails."""

    status = 409
    code = "issuance.refused"


class NotStandardData(IssuanceRefused):
    """The record breaks an identifier or code-table rule (不规范数据, seed 002 §3.3)."""

    status = 422
    code = "issuance.non_standard"


@dataclass(frozen=True)
class Target:
    """One certificate a ledger record gives rise to."""

    source_kind: SourceKind
    source_id: int
    type_code: str

    @property
    def current_key(self) -> str:
        """Key that is unique among current versions."""
        return f"{self.source_kind}:{self.source_id}:{self.type_code}"


@dataclass
class Effect:
    """What a business operation did to e-certs."""

    issued: list[Ecert] = field(default_factory=list)
    revoked: list[Ecert] = field(default_factory=list)
    suspended: list[Ecert] = field(default_factory=list)
    refused: list[IssuanceRefused] = field(default_factory=list)


Clock = Callable[[], datetime]


class _Unknown:
    """Marks "not looked up yet", as distinct from "looked up, there is none"."""


UNKNOWN = _Unknown()


class IssuanceService:
    """Signs e-cert versions and moves them through their states."""

    def __init__(
        self, session: Session, keys: KeyService, clock: Clock = utcnow, actor: str = "system"
    ) -> None:
        self.session = session
        self.keys = keys
        self.clock = clock
        self.actor = actor
        self.repo = EcertRepository(session)
        self.ledger = LedgerRepository(session)
        # Serials need to be unique, not secret: one seed from the OS, then a fast generator
        # (SystemRandom costs two system calls per character).
        self._rng = random.Random(os.urandom(32))
        # Photo digests prefetched for a batch by ``prefetch_photos``.
        self._photo_digests: dict[int, str] = {}
        # Status list: every version gets a random index in its authority's list, so the list
        # (built from ``Ecert.status``) follows every lifecycle change with no further step.
        self.status_indices = StatusIndexAllocator(self.repo)

    def today(self) -> date:
        """The current date in China (UTC+8), which decides validity days."""
        return china_date(self.clock())

    # -- targets -----------------------------------------------------------------------------

    def targets_for_licence(self, licence: Licence) -> list[Target]:
        """A licence gives its own type of 经营许可证."""
        return [Target(SourceKind.LICENCE, licence.id, licence.type_code)]

    def targets_for_vehicle(self, vehicle: Vehicle) -> list[Target]:
        """A vehicle gives a 道路运输证, or a 网络预约出租汽车运输证 for ride-hailing."""
        suffix = "073" if vehicle.ride_hailing else "013"
        return [Target(SourceKind.VEHICLE, vehicle.id, _by_suffix(suffix).type_code)]

    def targets_for_practitioner(self, person: Practitioner) -> list[Target]:
        """One qualification certificate per type its active categories fall in."""
        types: dict[str, None] = {}
        for q in person.qualifications:
            if q.status == RecordStatus.ACTIVE:
                cert_type = type_for_category(q.category)
                if cert_type is not None:
                    types[cert_type.type_code] = None
        return [Target(SourceKind.PRACTITIONER, person.id, code) for code in types]

    def targets_for(self, source_kind: str, source_id: int) -> list[Target]:
        """The certificates a ledger record gives rise to."""
        if source_kind == SourceKind.LICENCE:
            return self.targets_for_licence(self._get(Licence, source_id))
        if source_kind == SourceKind.VEHICLE:
            return self.targets_for_vehicle(self._get(Vehicle, source_id))
        return self.targets_for_practitioner(self._get(Practitioner, source_id))

    # -- issuance ----------------------------------------------------------------------------

    def issue(
        self,
        target: Target,
        operation: Operation = Operation.NEW,
        *,
        previous: Ecert | _Unknown | None = UNKNOWN,
    ) -> Ecert:
        """Sign a new version for ``target``; the previous current version becomes 已换发.

        ``previous`` is the current version when the caller already looked it up (bulk work).
        Raises :class:`IssuanceRefused` (or :class:`NotStandardData`) naming the precondition.
        """
        cert_type = CATALOGUE[target.type_code]
        content, authority = self._content(target, cert_type)
        if isinstance(previous, _Unknown):
            previous = self.repo.current(target.current_key)
        now = self.clock()
        if previous is not None:
            previous.status = EcertStatus.SUPERSEDED
            previous.status_changed_at = now
            previous.status_reason = f"{operation.label}换发新版本"
            previous.current_key = None
            self.session.flush()
            ident = ecert_id.parse(previous.identifier).with_version(previous.version + 1)
        else:
            ident = ecert_id.build(
                cert_type.type_code, authority.uscc, ecert_id.new_serial(self._rng), 1
            )
        identifier = str(ident)
        today = self.today()
        meta = faces.metadata(content, identifier, authority, today)
        document = faces.signed_document(meta, cert_type, content.face)
        signed = cbor.encode_ordered(document)
        key = self.keys.signing_key(authority)
        signature = self.keys.signer(key)(signed)
        status = EcertStatus.EXPIRED if content.valid_until < today else EcertStatus.VALID
        ecert = Ecert(
            identifier=identifier,
            type_code=cert_type.type_code,
            serial=ident.serial,
            version=ident.version,
            authority_id=authority.id,
            source_kind=target.source_kind,
            source_id=target.source_id,
            current_key=target.current_key,
            number=content.number,
            holder_name=content.holder.name,
            holder_code=content.holder.code,
            holder_code_type=content.holder.code_type,
            issue_date=today,
            valid_from=content.valid_from,
            valid_until=content.valid_until,
            status=status,
            status_changed_at=now,
            operation=operation,
            signed_data=signed,
            signature=signature,
            signing_key_id=key.id,
            supersedes_id=previous.id if previous else None,
            status_index=self.status_indices.allocate(authority.id),  # status list entry
            issued_at=now,
        )
        self.repo.add(ecert)
        return ecert

    def try_issue(self, targets: Iterable[Target], operation: Operation, effect: Effect) -> None:
        """Issue each target, collecting refusals instead of failing the whole operation."""
        for target in targets:
            try:
                effect.issued.append(self.issue(target, operation))
            except IssuanceRefused as refusal:
                effect.refused.append(refusal)
        # One operation's few e-certs get their ids now, for the answer that lists them.
        self.session.flush()

    def refusal_for(self, target: Target) -> RoadcertError | None:
        """What issuing ``target`` now would be refused with (None if it would be issued).

        Reads only: the same preconditions as :meth:`issue`, without signing or writing, so a
        page can say exactly why a record has no e-cert.
        """
        try:
            self._content(target, CATALOGUE[target.type_code])
        except RoadcertError as refusal:  # IssuanceRefused, NotStandardData, NotFound
            return refusal
        return None

    def _content(
        self, target: Target, cert_type: CertificateType
    ) -> tuple[faces.Content, Authority]:
        if target.source_kind is SourceKind.LICENCE:
            licence = self._get(Licence, target.source_id)
            authority = licence.authority
            operator = licence.operator
            findings = [*findings_of(operator), *findings_of(licence)]
            content = licence_content(cert_type, licence, operator, authority, findings)
            return content, authority
        if target.source_kind is SourceKind.VEHICLE:
            vehicle = self._get(Vehicle, target.source_id)
            authority = vehicle.authority
            operator = vehicle.operator
            findings = [*findings_of(operator), *findings_of(vehicle)]
            photo = self._photo_digest(cert_type, vehicle.photo_id)
            licence_number = vehicle.licence.number if vehicle.licence else None
            content = transport_content(
                cert_type, vehicle, operator, licence_number, authority, photo, findings
            )
            return content, authority
        person = self._get(Practitioner, target.source_id)
        authority = person.authority
        photo = self._photo_digest(cert_type, person.photo_id)
        content = qualification_content(
            cert_type,
            person,
            person.qualifications,
            person.entries,
            authority,
            photo,
            lambda: findings_of(person),
        )
        return content, authority

    def _photo_digest(self, cert_type: CertificateType, photo_id: int | None) -> str | None:
        if cert_type.photo is None or photo_id is None:
            return None
        if photo_id in self._photo_digests:
            return self._photo_digests[photo_id]
        return self.ledger.photo_digest(photo_id)

    def _get(self, model: Any, record_id: int) -> Any:
        record = self.ledger.get(model, record_id)
        if record is None:
            raise NotFound(f"记录 {record_id} 不存在", code="record.not_found")
        return record

    # -- lifecycle ---------------------------------------------------------------------------

    def revoke(self, target: Target, reason: str) -> Ecert | None:
        """注销/吊销: the current version becomes revoked and no version is current."""
        current = self.repo.current(target.current_key)
        if current is None:
            return None
        current.status = EcertStatus.REVOKED
        current.status_changed_at = self.clock()
        current.status_reason = reason
        current.current_key = None
        return current

    def suspend(self, target: Target, reason: str) -> Ecert | None:
        """暂停: the current version stays current but is not valid until reissued."""
        current = self.repo.current(target.current_key)
        if current is None or current.status != EcertStatus.VALID:
            return None
        current.status = EcertStatus.SUSPENDED
        current.status_changed_at = self.clock()
        current.status_reason = reason
        return current

    def prefetch_photos(self, photo_ids: Iterable[int | None]) -> None:
        """Load the SM3 digests of many photos in one query, for bulk issuance."""
        self._photo_digests.update(self.ledger.photo_digests([i for i in photo_ids if i]))

    def current_many(self, targets: Iterable[Target]) -> dict[str, Ecert]:
        """The current versions of many targets in one query, by current key."""
        return self.repo.current_many([t.current_key for t in targets])

    def current(self, target: Target) -> Ecert | None:
        """The current version for a target, if any."""
        return self.repo.current(target.current_key)

    def expire_due(self) -> int:
        """Turn e-certs whose validity ended before today 已过期; returns how many."""
        return self.repo.expire_before(self.today(), self.clock())

    def effective_status(self, ecert: Ecert) -> EcertStatus:
        """The status as of today, even if the daily expiry sweep has not run yet."""
        status = EcertStatus(ecert.status)
        if status is EcertStatus.VALID and ecert.valid_until < self.today():
            return EcertStatus.EXPIRED
        return status

    # -- presentation ------------------------------------------------------------------------

    def get(self, ref: str | int) -> Ecert:
        """An e-cert version by numeric id or GB/T 36904 identifier."""
        ecert: Ecert | None
        if isinstance(ref, int) or str(ref).isdigit():
            # Out of the id range cannot exist; asking the database would be an error.
            ecert = self.repo.get(int(ref)) if 0 < int(ref) <= MAX_ID else None
        else:
            ecert = self.repo.by_identifier(str(ref))
        if ecert is None:
            raise NotFound(f"电子证照 {ref} 不存在", code="ecert.not_found")
        return ecert

    def mark_activated(self, ecert: Ecert) -> bool:
        """Record the first showing, download or verification (激活, seed 002 App. A).

        True when this call activated it; later uses keep the first time.
        """
        if ecert.activated_at is not None:
            return False
        ecert.activated_at = self.clock()
        return True

    def describe(self, ecert: Ecert, *, with_signature: bool = True) -> dict[str, Any]:
        """The JSON view of an e-cert, as `ecert show --json` and the API print it."""
        cert_type = CATALOGUE[ecert.type_code]
        status = self.effective_status(ecert)
        out: dict[str, Any] = {
            "id": ecert.id,
            "identifier": ecert.identifier,
            "type_code": ecert.type_code,
            "type_name": cert_type.name,
            "group": str(cert_type.group),
            "version": ecert.version,
            "status": str(status),
            "status_label": status.label,
            "mot_status_code": status.mot_code,
            "number": ecert.number,
            "holder_name": ecert.holder_name,
            "holder_code": ecert.holder_code,
            "holder_code_type": ecert.holder_code_type,
            "valid_from": ecert.valid_from.isoformat(),
            "valid_until": ecert.valid_until.isoformat(),
            "issue_date": ecert.issue_date.isoformat(),
            "issued_at": ecert.issued_at.isoformat(),
            "operation": ecert.operation,
            "metadata": ecert.metadata_items,
            "face": [
                {
                    "key": item.key,
                    "label": item.label,
                    "ext_code": item.ext_code,
                    "value": ecert.face.get(item.key),
                }
                for item in cert_type.face
            ],
        }
        if with_signature:
            key = self.keys.repo.get(ecert.signing_key_id)
            assert key is not None
            out["signature"] = {
                "alg": sm.SIGNATURE_ALG,
                "value": base64.b64encode(ecert.signature).decode(),
                "signed_data": base64.b64encode(ecert.signed_data).decode(),
                "signed_data_format": "CBOR (RFC 8949 §4.2.1 deterministic)",
                "user_id": sm.DEFAULT_USER_ID.decode(),
                "key_id": key.key_id,
                "cert_chain": "".join(x509.to_pem(der) for der in self.keys.chain(key)),
            }
        return out


# -- preconditions (seed 000 §1.1.4) and content: shared by IssuanceService and bulk issuance ---
#
# Each takes the ledger data as plain attributes (ORM records or the rows bulk issuance reads)
# and either returns what the e-cert will say or raises the refusal naming the precondition.


class AuthorityState(faces.AuthorityData, Protocol):
    """An authority as issuance checks it."""

    @property
    def ecert_enabled(self) -> bool: ...


class OperatorState(faces.OperatorData, Protocol):
    """An operator as issuance checks it."""

    @property
    def status(self) -> str: ...


class LicenceState(faces.LicenceData, Protocol):
    """A licence as issuance checks it."""

    @property
    def status(self) -> str: ...


class VehicleState(faces.VehicleData, Protocol):
    """A vehicle as issuance checks it."""

    @property
    def status(self) -> str: ...
    @property
    def transport_status(self) -> str: ...


class QualificationState(faces.QualificationData, Protocol):
    """A qualification category as issuance checks it."""

    @property
    def status(self) -> str: ...


def licence_content(
    cert_type: CertificateType,
    licence: LicenceState,
    operator: OperatorState,
    authority: AuthorityState,
    findings: list[quality.Finding],
) -> faces.Content:
    """The content of a 经营许可证 e-cert, or the refusal."""
    require_active(licence.status, "经营许可证")
    require_operator(authority, operator)
    require_standard(findings)
    return faces.licence_content(cert_type, licence, operator, authority)


def transport_content(
    cert_type: CertificateType,
    vehicle: VehicleState,
    operator: OperatorState,
    licence_number: str | None,
    authority: AuthorityState,
    photo: str | None,
    findings: list[quality.Finding],
) -> faces.Content:
    """The content of a 道路运输证 or 网约车运输证 e-cert, or the refusal."""
    require_active(vehicle.transport_status, "道路运输证")
    require_operator(authority, operator)
    if vehicle.status not in (codes.VehicleStatus.OPERATING, codes.VehicleStatus.SUSPENDED):
        raise IssuanceRefused(
            f"车辆 {vehicle.plate} 的运行状态为"
            f"“{faces.label(codes.VehicleStatus, vehicle.status)}”，"
            "须为营运或停运",
            code="issuance.vehicle_status",
            field="status",
        )
    require_photo(cert_type, photo, f"车辆 {vehicle.plate}")
    require_standard(findings)
    return faces.transport_content(cert_type, vehicle, operator, licence_number, authority, photo)


def qualification_content(
    cert_type: CertificateType,
    person: faces.PractitionerData,
    qualifications: Sequence[QualificationState],
    entries: Sequence[faces.EntryData],
    authority: AuthorityState,
    photo: str | None,
    findings: Callable[[], list[quality.Finding]],
) -> faces.Content:
    """The content of a 从业资格证 e-cert of ``cert_type``, or the refusal.

    ``findings`` is called only once the cheaper preconditions hold.
    """
    require_enabled(authority)
    covered = [
        q
        for q in qualifications
        if q.status == RecordStatus.ACTIVE and _type_code_of(q.category) == cert_type.type_code
    ]
    if not covered:
        raise IssuanceRefused(
            f"从业人员 {person.name} 没有属于“{cert_type.name}”的有效从业资格类别",
            code="issuance.no_qualification",
        )
    require_photo(cert_type, photo, f"从业人员 {person.name}")
    require_standard(findings())
    return faces.qualification_content(cert_type, person, covered, entries, authority, photo)


def require_enabled(authority: AuthorityState) -> None:
    """The authority issues e-certs."""
    if not authority.ecert_enabled:
        raise IssuanceRefused(
            f"核发机关“{authority.name}”暂不支持电子证照",
            code="issuance.authority_disabled",
            field="authority_id",
        )


def require_operator(authority: AuthorityState, operator: OperatorState) -> None:
    """The authority issues e-certs and the operator is 营运 with a sound USCC."""
    require_enabled(authority)
    if operator.status != codes.OperatorStatus.OPERATING:
        raise IssuanceRefused(
            f"业户“{operator.name}”的经营状态为"
            f"“{faces.label(codes.OperatorStatus, operator.status)}”，"
            "不是营运",
            code="issuance.operator_not_operating",
            field="status",
        )
    if not operator.uscc or not _uscc_acceptable(operator.uscc):
        raise IssuanceRefused(
            f"业户“{operator.name}”在系统中不具备完整正确的 18 位统一社会信用代码"
            f"（当前：{operator.uscc or '空'}）",
            code="issuance.operator_uscc",
            field="uscc",
        )


def require_photo(cert_type: CertificateType, photo: str | None, who: str) -> None:
    """A type with a photo on its face has one."""
    if cert_type.photo is not None and photo is None:
        kind = "车辆照片" if cert_type.photo is PhotoKind.VEHICLE else "个人照片"
        raise IssuanceRefused(
            f"{who} 缺少{kind}，{cert_type.name}须带照片",
            code="issuance.photo_missing",
            field="photo",
        )


def require_standard(findings: list[quality.Finding]) -> None:
    """No 不规范数据 finding blocks issuance."""
    blocking = quality.blocking(findings)
    if blocking:
        raise NotStandardData(
            "记录存在不规范数据，不能制发电子证照：" + "；".join(f.message for f in blocking),
            details={"findings": [f.__dict__ | {"severity": str(f.severity)} for f in blocking]},
        )


def require_active(status: str, what: str) -> None:
    """The ledger record is 有效, not 注销 or 吊销."""
    if status != RecordStatus.ACTIVE:
        raise IssuanceRefused(
            f"{what}已注销或吊销，不能制发电子证照", code="issuance.record_cancelled"
        )


def _by_suffix(suffix: str) -> CertificateType:
    for cert_type in CATALOGUE.values():
        if cert_type.suffix == suffix:
            return cert_type
    raise KeyError(suffix)


@cache
def type_for_category(category: str) -> CertificateType | None:
    """The certificate type a qualification category is printed on, None if unknown."""
    try:
        return catalogue_type_for_category(codes.QualificationCategory.from_code(category))
    except ValueError:
        return None


def _type_code_of(category: str) -> str | None:
    cert_type = type_for_category(category)
    return cert_type.type_code if cert_type else None


@lru_cache(maxsize=1 << 16)
def _uscc_acceptable(code: str) -> bool:
    # Cached: bulk issuance checks an operator's code once for each of its vehicles.
    return uscc.check(code).verdict in (Verdict.VALID, Verdict.WARN)


__all__ = [
    "Effect",
    "IssuanceRefused",
    "IssuanceService",
    "NotStandardData",
    "Target",
    "type_for_category",
]

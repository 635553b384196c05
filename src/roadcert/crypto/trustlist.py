"""The trust list: the signed list of certificates a verifier may trust now (DESIGN.md §5).

A COSE_Sign1 message (SM2/SM3, see ``crypto/cose.py``) signed by the provincial CA, over the
deterministic CBOR of a map naming its issue and next-update times and one entry per trusted
certificate: the root, the provincial CA and every authority signing certificate that has not
been withdrawn (retired keys stay, so e-certs they signed keep verifying; a withdrawn key is
absent from the next list). A verifier holds the root certificate out of band; the CA
certificate rides in the list and must chain to it. The format is in docs/trust.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from roadcert.crypto import cbor, cose, x509
from roadcert.crypto.errors import ChainError
from roadcert.crypto.models import KeyRecord, KeyRole, KeyState
from roadcert.crypto.service import KeyService
from roadcert.crypto.sm import PublicKey
from roadcert.errors import ConfigurationError, RoadcertError
from roadcert.registry.repository import LedgerRepository

__all__ = [
    "FORMAT_VERSION",
    "MAX_TOKEN_BYTES",
    "MEDIA_TYPE",
    "TRUST_LIST_TYP",
    "TrustEntry",
    "TrustList",
    "TrustListError",
    "build_trust_list",
    "parse_trust_list",
    "verify_trust_list",
]

#: COSE ``typ`` (RFC 9596) of a trust list.
TRUST_LIST_TYP = "application/vnd.roadcert.trustlist+cbor"
#: HTTP media type of the signed list.
MEDIA_TYPE = 'application/cose; cose-type="cose-sign1"'
FORMAT_VERSION = 1
#: Largest trust list accepted (a province has hundreds of certificates of ~600 bytes).
MAX_TOKEN_BYTES = 1 << 23

_ROLE_ORDER = {KeyRole.ROOT: 0, KeyRole.PROVINCE: 1, KeyRole.SIGNING: 2}


class TrustListError(RoadcertError):
    """A trust list could not be read or did not verify.

    Codes: ``trust_list.malformed``, ``trust_list.too_large``, ``trust_list.type`` (not a trust
    list), ``trust_list.alg`` (not SM2/SM3), ``trust_list.signer_unknown`` (the signing key is
    not a provincial CA in the list), ``trust_list.chain`` (the CA does not chain to the given
    root at the given time), ``trust_list.signature`` (the list's signature is wrong),
    ``trust_list.entry_chain`` (a signing certificate was not issued by a CA in the list).
    """

    status = 422
    code = "trust_list.malformed"


@dataclass(frozen=True)
class TrustEntry:
    """One trusted certificate."""

    kid: bytes  # first 8 bytes of the SM3 of the certificate DER
    role: KeyRole
    state: KeyState  # ACTIVE or RETIRED: a retired key signs no more, but still verifies
    authority_uscc: str | None  # 统一社会信用代码 of the key's holder, when it has one
    authority_name: str | None
    not_before: datetime
    not_after: datetime
    certificate: bytes  # DER
    retired_at: datetime | None = None

    @property
    def public_key(self) -> PublicKey:
        """The SM2 public key of the certificate."""
        return x509.load(self.certificate).public_key

    def to_cbor(self) -> dict[str, Any]:
        """The entry as the list carries it."""
        return {
            "kid": self.kid,
            "role": str(self.role),
            "state": str(self.state),
            "authority_uscc": self.authority_uscc,
            "authority_name": self.authority_name,
            "not_before": _seconds(self.not_before),
            "not_after": _seconds(self.not_after),
            "retired_at": _seconds(self.retired_at) if self.retired_at else None,
            "certificate": self.certificate,
        }


@dataclass(frozen=True)
class TrustList:
    """A decoded trust list (verified only if it came from :func:`verify_trust_list`)."""

    issued_at: datetime
    next_update: datetime
    province_code: str
    signer_kid: bytes | None
    entries: tuple[TrustEntry, ...]

    def by_kid(self, kid: bytes) -> TrustEntry | None:
        """The entry whose key id is ``kid``, or None (not trusted)."""
        return next((e for e in self.entries if e.kid == bytes(kid)), None)

    def of_role(self, role: KeyRole) -> list[TrustEntry]:
        """The entries of one role, in list order."""
        return [e for e in self.entries if e.role == role]

    def is_stale(self, now: datetime) -> bool:
        """Whether ``now`` is past the next-update time: fetch a new list."""
        return now > self.next_update


# -- building ------------------------------------------------------------------------------------


def build_trust_list(
    session: Session, keys: KeyService, now: datetime, next_update: datetime
) -> bytes:
    """The signed trust list as the key hierarchy stands now, signed by the provincial CA.

    Raises ``ConfigurationError`` (``keys.none``) when there is no key hierarchy yet.
    """
    if next_update <= now:
        raise ValueError("next_update must be later than now")
    province = keys.repo.current(KeyRole.PROVINCE)
    if province is None:
        # Serving a list must not create the hierarchy behind the administrator's back.
        raise ConfigurationError("尚无密钥体系：请先运行 roadcert init", code="keys.none")
    authorities = {a.id: a for a in LedgerRepository(session).authorities()}
    records = sorted(keys.trusted(), key=lambda r: (_ROLE_ORDER[KeyRole(r.role)], r.id))
    entries = []
    for record in records:
        info = x509.load(record.certificate)
        authority = authorities.get(record.authority_id) if record.authority_id else None
        entries.append(
            TrustEntry(
                kid=bytes.fromhex(record.key_id),
                role=KeyRole(record.role),
                state=KeyState(record.state),
                authority_uscc=authority.uscc if authority else info.subject.serial_number,
                authority_name=authority.name if authority else info.subject.organization,
                not_before=record.not_before,
                not_after=record.not_after,
                certificate=record.certificate,
                retired_at=_retired_at(record),
            )
        )
    payload = {
        "version": FORMAT_VERSION,
        "province": keys.settings.province_code,
        "issued_at": _seconds(now),
        "next_update": _seconds(next_update),
        "entries": [e.to_cbor() for e in entries],
    }
    signer: Callable[[bytes], bytes] = keys.signer(province)
    return cose.sign1(
        cbor.canonical(payload), signer, kid=bytes.fromhex(province.key_id), typ=TRUST_LIST_TYP
    )


def _retired_at(record: KeyRecord) -> datetime | None:
    if record.state == KeyState.RETIRED:
        return record.state_changed_at
    return None


# -- reading -------------------------------------------------------------------------------------


def parse_trust_list(token: bytes) -> TrustList:
    """Decode a trust list without checking its signature or chain.

    Every entry's key id must match its certificate. Raises :class:`TrustListError`.
    """
    return _decode(token)[1]


def verify_trust_list(token: bytes, root_der: bytes, now: datetime) -> TrustList:
    """Decode a trust list and check it against the root certificate ``root_der``.

    Checks, in order: the list is well formed; it was signed by a provincial CA certificate in
    it, which chains to ``root_der`` and is valid at ``now``; the signature; and every signing
    certificate in it was issued by a CA in the list (at the start of its validity, since a
    retired key whose certificate has ended still verifies what it signed). Staleness is the
    caller's decision (:meth:`TrustList.is_stale`). Raises :class:`TrustListError`.
    """
    message, trust_list = _decode(token)
    signer = trust_list.by_kid(message.kid) if message.kid else None
    if signer is None or signer.role != KeyRole.PROVINCE:
        raise TrustListError(
            "信任列表的签名者不是列表中的省级 CA", code="trust_list.signer_unknown"
        )
    try:
        x509.verify_chain([signer.certificate], [root_der], now)
    except ChainError as exc:
        raise TrustListError(
            f"信任列表的省级 CA 证书不能链到给定根证书（{exc.code}：{exc.message}）",
            code="trust_list.chain",
            details={"chain": exc.code},
        ) from exc
    if not message.verify(signer.public_key):
        raise TrustListError("信任列表签名无效", code="trust_list.signature")
    cas = [e.certificate for e in trust_list.of_role(KeyRole.PROVINCE)]
    for entry in trust_list.of_role(KeyRole.SIGNING):
        if not any(_issued_by(entry, ca, root_der) for ca in cas):
            raise TrustListError(
                f"签名证书 {entry.kid.hex()}（{entry.authority_name}）不是列表中的 CA 签发的",
                code="trust_list.entry_chain",
            )
    return trust_list


def _issued_by(entry: TrustEntry, ca_der: bytes, root_der: bytes) -> bool:
    try:
        x509.verify_chain([entry.certificate, ca_der], [root_der], entry.not_before)
    except ChainError:
        return False
    return True


def _decode(token: bytes) -> tuple[cose.Sign1, TrustList]:
    try:
        message, body = cose.open_typed(token, typ=TRUST_LIST_TYP, max_size=MAX_TOKEN_BYTES)
    except cose.CoseError as exc:
        raise TrustListError(
            f"信任列表无法读取：{exc.message}", code=cose.list_code(exc.code, "trust_list")
        ) from exc
    if body.get("version") != FORMAT_VERSION:
        raise TrustListError(f"信任列表须为第 {FORMAT_VERSION} 版的 CBOR 映射")
    entries = body.get("entries")
    province = body.get("province")
    if not isinstance(entries, list) or not isinstance(province, str):
        raise TrustListError("信任列表缺少 entries 或 province")
    trust_list = TrustList(
        issued_at=_time(body.get("issued_at"), "issued_at"),
        next_update=_time(body.get("next_update"), "next_update"),
        province_code=province,
        signer_kid=message.kid,
        entries=tuple(_entry(item, n) for n, item in enumerate(entries)),
    )
    return message, trust_list


def _entry(item: object, n: int) -> TrustEntry:
    where = f"entries[{n}]"
    if not isinstance(item, dict):
        raise TrustListError(f"{where} 不是映射")
    certificate, kid = item.get("certificate"), item.get("kid")
    if not isinstance(certificate, bytes) or not isinstance(kid, bytes):
        raise TrustListError(f"{where} 缺少 certificate 或 kid")
    try:
        info = x509.load(certificate)
        role = KeyRole(str(item.get("role")))
        state = KeyState(str(item.get("state")))
    except ValueError as exc:
        raise TrustListError(f"{where} 无效：{exc}") from exc
    if info.key_id != kid:
        raise TrustListError(f"{where} 的 kid 与证书不符")
    if state == KeyState.WITHDRAWN:
        raise TrustListError(f"{where} 是已撤回的密钥")
    uscc, name = item.get("authority_uscc"), item.get("authority_name")
    if not (uscc is None or isinstance(uscc, str)) or not (name is None or isinstance(name, str)):
        raise TrustListError(f"{where} 的 authority_uscc / authority_name 须为文本或 null")
    retired = item.get("retired_at")
    return TrustEntry(
        kid=kid,
        role=role,
        state=state,
        authority_uscc=uscc,
        authority_name=name,
        not_before=_time(item.get("not_before"), f"{where}.not_before"),
        not_after=_time(item.get("not_after"), f"{where}.not_after"),
        certificate=certificate,
        retired_at=None if retired is None else _time(retired, f"{where}.retired_at"),
    )


def _seconds(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("naive datetime in a trust list")
    return int(moment.timestamp())


def _time(value: object, name: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 40:
        raise TrustListError(f"信任列表的 {name} 须为秒数（整数）")
    return datetime.fromtimestamp(value, UTC)

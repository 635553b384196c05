"""Trust sources for verification: the database (online) and cached signed lists (offline)."""

from __future__ import annotations

from datetime import datetime

from roadcert.certificates.status import StatusList, parse_status_list, verify_status_list
from roadcert.crypto import x509
from roadcert.crypto.models import KeyRole, KeyState
from roadcert.crypto.trustlist import TrustList, TrustListError, verify_trust_list
from roadcert.errors import BadInput
from roadcert.kit import ecert_id
from roadcert.kit.chinatime import china_time
from roadcert.registry.models import Authority
from roadcert.runtime import Services
from roadcert.verification import payload
from roadcert.verification.service import (
    INTERNAL_TO_RESULT,
    SignerInfo,
    StatusResult,
    china_today,
    status_from_list_value,
)


class OnlineSource:
    """Trust and status straight from this installation's database."""

    mode = "online"

    def __init__(self, services: Services) -> None:
        self.services = services

    def signer(self, kid: bytes) -> SignerInfo | None:
        """A signing key of this province, retired ones included (old e-certs verify)."""
        record = self.services.keys.repo.by_key_id(kid.hex())
        if record is None or record.role != KeyRole.SIGNING or record.authority_id is None:
            return None
        authority = self.services.ledger.repo.get(Authority, record.authority_id)
        return SignerInfo(
            kid=kid,
            certificate=record.certificate,
            authority_name=authority.name if authority else "",
            authority_uscc=authority.uscc if authority else "",
            withdrawn=record.state == KeyState.WITHDRAWN,
        )

    def status(self, claims: payload.Claims, now: datetime) -> tuple[StatusResult, str]:
        """The status recorded for exactly this version."""
        ecert = self.services.issuance.repo.by_identifier(claims.identifier)
        if ecert is None:
            return StatusResult.UNKNOWN, "电子证照库中没有此证照"
        result = INTERNAL_TO_RESULT[ecert.status]
        if result is StatusResult.VALID and ecert.valid_until < china_today(now):
            result = StatusResult.EXPIRED  # the daily sweep may not have run yet
        return result, "据电子证照库实时状态"


def _beijing(moment: datetime) -> str:
    return china_time(moment)


class OfflineSource:
    """Trust and status from a signed trust list and status lists cached on the device.

    A status list older than its time-to-live gives UNKNOWN, never REVOKED: an officer without
    network is told the status cannot be confirmed, not that a good certificate is bad.
    """

    mode = "offline"

    def __init__(self, trust: TrustList, status_lists: list[StatusList]) -> None:
        self.trust = trust
        # With several lists of one authority, the newest decides: an older one could hide a
        # revocation.
        self.status_lists: dict[str, StatusList] = {}
        for status_list in sorted(status_lists, key=lambda s: s.issued_at):
            self.status_lists[status_list.authority_uscc] = status_list

    def signer(self, kid: bytes) -> SignerInfo | None:
        """A signing key on the trust list."""
        entry = self.trust.by_kid(kid)
        if entry is None or entry.role != KeyRole.SIGNING:
            return None
        return SignerInfo(
            kid=kid,
            certificate=entry.certificate,
            authority_name=entry.authority_name or "",
            authority_uscc=entry.authority_uscc or "",
            withdrawn=entry.state == KeyState.WITHDRAWN,
        )

    def status(self, claims: payload.Claims, now: datetime) -> tuple[StatusResult, str]:
        """The version's entry in its authority's cached status list, if that list is fresh."""
        issuer = ecert_id.parse(claims.identifier).issuer_code
        status_list = self.status_lists.get(issuer)
        if status_list is None:
            return StatusResult.UNKNOWN, "无该签发机关的状态列表"
        if status_list.is_stale(now):
            return (
                StatusResult.UNKNOWN,
                f"状态列表已过期（北京时间 {_beijing(status_list.issued_at)} 生成）",
            )
        try:
            value = status_list.status_at(claims.status_index)
        except IndexError:
            return StatusResult.UNKNOWN, "状态列表中没有该证照的条目"
        return status_from_list_value(
            value
        ), f"据北京时间 {_beijing(status_list.issued_at)} 的状态列表"


def _self_signed(der: bytes) -> bool:
    info = x509.load(der)
    return info.subject == info.issuer


def load_offline(
    trust_token: bytes, root_pem: bytes, status_tokens: list[bytes], now: datetime
) -> OfflineSource:
    """Check a cached trust list against the root and status lists against it; keep the good."""
    try:
        roots = [der for der in x509.from_pem(root_pem) if _self_signed(der)]
    except ValueError as exc:
        raise BadInput(f"根证书文件无法读取：{exc}", code="verify.root") from exc
    if not roots:
        raise BadInput("根证书文件中没有自签名根证书", code="verify.root")
    trust: TrustList | None = None
    error: Exception | None = None
    for root in roots:
        try:
            trust = verify_trust_list(trust_token, root, now)
            break
        except TrustListError as exc:
            error = exc
    if trust is None:
        assert isinstance(error, TrustListError)
        raise error
    if trust.is_stale(now):
        # An old list may still trust a key withdrawn since: refuse it rather than guess.
        raise TrustListError(
            f"受信任列表已过期（应于北京时间 {_beijing(trust.next_update)} 前更新），"
            "请联网后重新获取",
            code="trust_list.stale",
        )
    lists: list[StatusList] = []
    for token in status_tokens:
        parsed = parse_status_list(token)
        entry = trust.by_kid(parsed.kid) if parsed.kid else None
        # A status list counts only when signed by a trusted key of the authority it is about.
        if entry is None or entry.authority_uscc != parsed.authority_uscc:
            continue
        if entry.state == KeyState.WITHDRAWN or not verify_status_list(token, entry.public_key):
            continue
        lists.append(parsed)
    return OfflineSource(trust, lists)

"""Verification of a scanned or uploaded e-cert code (DESIGN.md §6).

The verifier reports five separate results — signature, issuer, status, validity, identifier —
and never turns "cannot check the status" into "revoked". It verifies the signature before it
reads any claim. Trust and status come from a ``TrustSource``: the database (online) or a
cached signed trust list and status lists (offline).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any, Protocol

from roadcert.crypto import sm, x509
from roadcert.kit import ecert_id
from roadcert.kit.checks import Verdict
from roadcert.kit.chinatime import china_date
from roadcert.verification import payload


class StatusResult(StrEnum):
    """What the verifier can say about an e-cert's lifecycle status."""

    VALID = "VALID"
    SUPERSEDED = "SUPERSEDED"
    REVOKED = "REVOKED"
    SUSPENDED = "SUSPENDED"
    EXPIRED = "EXPIRED"
    UNKNOWN = "UNKNOWN"

    @property
    def label(self) -> str:
        """Chinese wording for the verify page."""
        return {
            "VALID": "有效",
            "SUPERSEDED": "已换发（此为旧版本）",
            "REVOKED": "已注销",
            "SUSPENDED": "已暂停",
            "EXPIRED": "已过期",
            "UNKNOWN": "无法确认状态",
        }[self.value]


@dataclass(frozen=True)
class SignerInfo:
    """A trusted signing key as a verifier knows it."""

    kid: bytes
    certificate: bytes
    authority_name: str
    authority_uscc: str
    withdrawn: bool = False


class TrustSource(Protocol):
    """Where a verifier learns which keys to trust and what state an e-cert is in."""

    mode: str  # "online" or "offline"

    def signer(self, kid: bytes) -> SignerInfo | None:
        """The trusted signer with this key id, or None."""
        ...

    def status(self, claims: payload.Claims, now: datetime) -> tuple[StatusResult, str]:
        """The e-cert's status and a Chinese note on where it came from."""
        ...


@dataclass
class Part:
    """One of the separate results."""

    result: str
    ok: bool
    message: str
    code: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        out: dict[str, Any] = {"result": self.result, "ok": self.ok, "message": self.message}
        if self.code:
            out["code"] = self.code
        out.update(self.details)
        return out


@dataclass
class Verification:
    """The whole answer about one code."""

    signature: Part
    issuer: Part
    status: Part
    validity: Part
    identifier: Part
    claims: payload.Claims | None = None
    mode: str = "online"

    @property
    def ok(self) -> bool:
        """True only when every part says good."""
        return all(
            p.ok for p in (self.signature, self.issuer, self.status, self.validity, self.identifier)
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form, as `roadcert verify --json` and POST /api/verify print it."""
        out: dict[str, Any] = {
            "ok": self.ok,
            "mode": self.mode,
            "signature": self.signature.to_dict(),
            "issuer": self.issuer.to_dict(),
            "status": self.status.to_dict(),
            "validity": self.validity.to_dict(),
            "identifier": self.identifier.to_dict(),
        }
        if self.claims is not None:
            out["face"] = claims_view(self.claims)
        return out


def claims_view(claims: payload.Claims) -> dict[str, Any]:
    """The face data a code carries, JSON-ready."""
    return {
        "identifier": claims.identifier,
        "type_code": claims.type_code,
        "number": claims.number,
        "holder_name": claims.holder_name,
        "holder_code": claims.holder_code,
        "valid_from": claims.valid_from.isoformat(),
        "valid_until": claims.valid_until.isoformat(),
        "issued_at": claims.issued_at.isoformat(),
        "items": dict(claims.items),
    }


_NOT_CHECKED = Part("NOT_CHECKED", False, "签名未通过，未继续检查")


def _failed(signature: Part, mode: str, issuer: Part | None = None) -> Verification:
    return Verification(
        signature=signature,
        issuer=issuer or _NOT_CHECKED,
        status=Part(StatusResult.UNKNOWN, False, "签名未通过，状态无从确认"),
        validity=_NOT_CHECKED,
        identifier=_NOT_CHECKED,
        mode=mode,
    )


def china_today(now: datetime) -> date:
    """The date in China (UTC+8), which decides validity days."""
    return china_date(now)


def verify_cose(cose: bytes, source: TrustSource, now: datetime) -> Verification:
    """Verify a COSE_Sign1 e-cert code against a trust source."""
    try:
        envelope = payload.open_envelope(cose)
    except payload.PayloadError as exc:
        return _failed(Part("MALFORMED", False, exc.message, exc.code), source.mode)
    signer = source.signer(envelope.kid)
    if signer is None:
        # Without a trusted key the signature cannot be checked, and no claim is read.
        return _failed(
            Part(
                "UNVERIFIED",
                False,
                "签名密钥不在受信任列表中，无法验证签名",
                "signature.unknown_key",
            ),
            source.mode,
            Part(
                "UNTRUSTED",
                False,
                f"签名密钥 {envelope.kid.hex()} 不受信任",
                "issuer.unknown",
                {"kid": envelope.kid.hex()},
            ),
        )
    public_key = _public_key(signer.certificate)
    if not payload.verify(envelope, public_key):
        return _failed(
            Part("INVALID", False, "签名无效：内容被改动或签名伪造", "signature.invalid"),
            source.mode,
            _issuer_part(signer),
        )
    signature = Part("VALID", True, "签名有效（SM2/SM3）")
    try:
        claims = payload.decode_claims(envelope)
    except payload.PayloadError as exc:
        return _failed(Part("MALFORMED", False, exc.message, exc.code), source.mode)
    issuer = _issuer_part(signer)
    identifier = _identifier_part(claims, signer)
    status_result, note = source.status(claims, now)
    status = Part(
        status_result, status_result is StatusResult.VALID, f"{status_result.label}；{note}"
    )
    validity = _validity_part(claims, now)
    return Verification(signature, issuer, status, validity, identifier, claims, source.mode)


@lru_cache(maxsize=256)
def _public_key(certificate: bytes) -> sm.PublicKey:
    """The public key of a signer certificate, parsed once per certificate."""
    return x509.load(certificate).public_key


def _issuer_part(signer: SignerInfo) -> Part:
    details = {
        "kid": signer.kid.hex(),
        "authority": signer.authority_name,
        "authority_uscc": signer.authority_uscc,
    }
    if signer.withdrawn:
        return Part(
            "WITHDRAWN",
            False,
            f"{signer.authority_name} 的签名密钥已撤回",
            "issuer.withdrawn",
            details,
        )
    return Part("TRUSTED", True, f"由 {signer.authority_name} 签发", None, details)


def _identifier_part(claims: payload.Claims, signer: SignerInfo) -> Part:
    check = ecert_id.check(claims.identifier)
    details = {"value": claims.identifier}
    if check.verdict is Verdict.LEGACY:
        return Part("LEGACY", False, check.message, check.rule, details)
    if not check.ok:
        return Part("INVALID", False, check.message, check.rule, details)
    issuer_code = ecert_id.parse(claims.identifier).issuer_code
    if signer.authority_uscc and issuer_code != signer.authority_uscc:
        return Part(
            "MISMATCH",
            False,
            f"证照标识中的颁发机构代码 {issuer_code} 与签名机关不符",
            "identifier.issuer_mismatch",
            details,
        )
    return Part("VALID", True, "证照标识符合 GB/T 36904", None, details)


def _validity_part(claims: payload.Claims, now: datetime) -> Part:
    today = china_today(now)
    details = {
        "valid_from": claims.valid_from.isoformat(),
        "valid_until": claims.valid_until.isoformat(),
    }
    if today < claims.valid_from:
        return Part(
            "NOT_YET_VALID",
            False,
            f"尚未生效（{claims.valid_from} 起）",
            "validity.not_yet",
            details,
        )
    if today > claims.valid_until:
        return Part(
            "EXPIRED", False, f"已过有效期（至 {claims.valid_until}）", "validity.expired", details
        )
    return Part("VALID", True, f"在有效期内（至 {claims.valid_until}）", None, details)


def status_from_list_value(value: int) -> StatusResult:
    """Token Status List value → result (0 valid, 1 invalid, 2 suspended, 3 已换发)."""
    return {
        0: StatusResult.VALID,
        1: StatusResult.REVOKED,
        2: StatusResult.SUSPENDED,
        3: StatusResult.SUPERSEDED,
    }.get(value, StatusResult.UNKNOWN)


INTERNAL_TO_RESULT: Mapping[str, StatusResult] = {
    "valid": StatusResult.VALID,
    "superseded": StatusResult.SUPERSEDED,
    "revoked": StatusResult.REVOKED,
    "suspended": StatusResult.SUSPENDED,
    "expired": StatusResult.EXPIRED,
}

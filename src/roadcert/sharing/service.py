"""What a holder discloses, and to whom: 亮证 codes, their checking, grants, the access log.

Only the holder of a certificate (the enterprise or practitioner whose USCC or ID number it
carries) may show it, share it or read who looked at it. Checking a show code is open to anyone:
an officer signed in sees the full data, everyone else a masked summary (seed 002 §7.3).
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from roadcert.accounts.models import Role
from roadcert.accounts.policy import NOT_YOURS, Principal
from roadcert.accounts.service import digest
from roadcert.audit.service import TAGS, ecert_subject
from roadcert.catalog import codes
from roadcert.catalog.types import CATALOGUE, ValueKind
from roadcert.certificates import faces
from roadcert.certificates.models import Ecert, EcertStatus
from roadcert.crypto import x509
from roadcert.errors import BadInput, Conflict, Forbidden, NotFound
from roadcert.kit import chinatime, masking
from roadcert.runtime import Services
from roadcert.sharing import showing
from roadcert.sharing.models import ShareGrant
from roadcert.sharing.repository import SharingRepository
from roadcert.sharing.showing import ShowClaims, ShowCodeRefused
from roadcert.verification.masking import public_number
from roadcert.verification.service import Part
from roadcert.verification.sources import OnlineSource

HOLDER_ROLES = (Role.ENTERPRISE, Role.PRACTITIONER)
#: Grant durations a holder may choose: one hour to thirty days.
MIN_GRANT_HOURS = 1
MAX_GRANT_HOURS = 30 * 24
GRANT_DURATIONS: tuple[tuple[int, str], ...] = (
    (1, "1 小时"),
    (24, "1 天"),
    (72, "3 天"),
    (168, "7 天"),
    (720, "30 天"),
)
MAX_GRANTEE = 100
MAX_PURPOSE = 200
#: The access log shows this many newest events.
ACCESS_LOG_LIMIT = 200
GRANT_STATE_LABELS = {"live": "有效", "expired": "已过期", "withdrawn": "已撤回"}


def china_time(moment: datetime | None) -> str:
    """Sharing shows times to the second: a show code lives 45 of them."""
    return chinatime.china_time(moment, seconds=True)


def mask_ip(address: str) -> str:
    """The client address with its last part hidden: 203.0.113.■, 2001:db8:1:■."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return masking.MASK if address else ""
    if parsed.version == 4:
        return ".".join(address.split(".")[:3]) + "." + masking.MASK
    groups = parsed.exploded.split(":")
    return ":".join(g.lstrip("0") or "0" for g in groups[:3]) + ":" + masking.MASK


@dataclass(frozen=True)
class ShowCode:
    """A show code as made for the holder's screen."""

    text: str
    identifier: str
    version: int
    issued_at: datetime
    expires_at: datetime
    size: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form (times in UTC, ISO 8601)."""
        return {
            "text": self.text,
            "identifier": self.identifier,
            "version": self.version,
            "issued_at": self.issued_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "ttl_seconds": int((self.expires_at - self.issued_at).total_seconds()),
            "refresh_seconds": showing.REFRESH_SECONDS,
            "cose_bytes": self.size,
        }


_NOT_CHECKED = Part("NOT_CHECKED", False, "前一项未通过，未继续检查")


@dataclass
class ShowCheck:
    """The separate results of checking one show code."""

    signature: Part
    issuer: Part = field(default_factory=lambda: _NOT_CHECKED)
    freshness: Part = field(default_factory=lambda: _NOT_CHECKED)
    single_use: Part = field(default_factory=lambda: _NOT_CHECKED)
    status: Part = field(default_factory=lambda: _NOT_CHECKED)
    refusal: ShowCodeRefused | None = None
    claims: ShowClaims | None = None
    ecert: Ecert | None = None

    @property
    def parts(self) -> list[tuple[str, str, Part]]:
        """(key, Chinese name, result) in the order they were checked."""
        return [
            ("signature", "签名", self.signature),
            ("issuer", "签发机关", self.issuer),
            ("freshness", "时效", self.freshness),
            ("single_use", "一次性使用", self.single_use),
            ("status", "证照状态", self.status),
        ]

    @property
    def ok(self) -> bool:
        """True only when every result is good."""
        return self.refusal is None and all(part.ok for _, _, part in self.parts)

    @property
    def headline(self) -> str:
        """One sentence for the top of the page."""
        if self.ok:
            return "亮证核验通过：电子证照真实有效"
        if self.refusal is not None:
            return self.refusal.message
        return f"证照状态：{self.status.message}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form (without the certificate data, which depends on who asks)."""
        out: dict[str, Any] = {
            "ok": self.ok,
            "message": self.headline,
            "code": self.refusal.code if self.refusal else None,
        }
        for key, _, part in self.parts:
            out[key] = part.to_dict()
        if self.claims is not None:
            out["shown"] = {
                "identifier": self.claims.identifier,
                "version": self.claims.version,
                "issued_at": self.claims.issued_at.isoformat(),
                "expires_at": self.claims.expires_at.isoformat(),
            }
        return out


@dataclass(frozen=True)
class GrantAccess:
    """What opening a grant link finds: ``state`` is live, expired, withdrawn or unknown."""

    state: str
    grant: ShareGrant | None
    ecert: Ecert | None

    @property
    def live(self) -> bool:
        return self.state == "live"


class SharingService:
    """Sharing rules in the session of ``services``; never commits."""

    def __init__(self, services: Services, clock: Callable[[], datetime] | None = None) -> None:
        self.svc = services
        self.repo = SharingRepository(services.session)
        self.clock = clock or services.issuance.clock

    # -- ownership -------------------------------------------------------------------------------

    def owned(self, principal: Principal, ref: str) -> Ecert:
        """The e-cert ``ref`` if ``principal`` holds it; 403 otherwise, also when it does not exist.

        The same refusal either way, so another person's identifier reveals nothing.
        """
        if principal.role not in HOLDER_ROLES or not principal.holder_code:
            raise Forbidden("此功能仅限持证的经营业户或从业人员使用", code="auth.role")
        try:
            ecert = self.svc.issuance.get(ref)
        except NotFound:
            raise Forbidden(NOT_YOURS, code="auth.not_yours") from None
        if ecert.holder_code != principal.holder_code:
            raise Forbidden(NOT_YOURS, code="auth.not_yours")
        return ecert

    def newest(self, ecert: Ecert) -> Ecert:
        """The newest version of the certificate ``ecert`` is a version of."""
        return self.repo.newest_version(ecert.serial) or ecert

    def certificates(self, principal: Principal) -> list[Ecert]:
        """The newest version of each of the holder's certificates."""
        if not principal.holder_code:
            return []
        return self.repo.holder_certificates(principal.holder_code)

    # -- 亮证 ------------------------------------------------------------------------------------

    def make_show_code(self, principal: Principal, ref: str) -> ShowCode:
        """Sign a show code for the holder's e-cert ``ref``, good for :data:`showing.TTL`."""
        ecert = self.owned(principal, ref)
        status = self.svc.issuance.effective_status(ecert)
        if status is not EcertStatus.VALID:
            raise Conflict(
                f"该证照当前状态为“{status.label}”，不能亮证", code="show_code.ecert_invalid"
            )
        authority = self.repo.authority(ecert.authority_id)
        assert authority is not None  # foreign key
        key = self.svc.keys.signing_key(authority)
        # Whole seconds, as the code carries them, so what the page shows is what is signed.
        now = self.clock().replace(microsecond=0)
        claims = ShowClaims(
            identifier=ecert.identifier,
            version=ecert.version,
            issued_at=now,
            expires_at=now + showing.TTL,
            nonce=secrets.token_bytes(showing.NONCE_BYTES),
        )
        message = showing.sign_show_code(
            claims, bytes.fromhex(key.key_id), self.svc.keys.signer(key)
        )
        text = showing.text_of(message, self.svc.keys.settings.verify_host)
        return ShowCode(
            text, ecert.identifier, ecert.version, claims.issued_at, claims.expires_at, len(message)
        )

    def check_show_code(self, text: str, used_by: str, client_ip: str = "") -> ShowCheck:
        """Check a show code: signature, issuer, freshness, single use, then the e-cert's status.

        Text that is no show code raises :class:`ShowCodeRefused` (``show_code.not_ours``);
        every other refusal is in the answer. A check that reaches the single-use step uses the
        code up. Records ``sharing:show_code:verified`` or ``…:refused``.
        """
        result = self._check(text, used_by)
        tag = "sharing:show_code:verified" if result.ok else "sharing:show_code:refused"
        details: dict[str, Any] = {"result": "ok" if result.ok else self._reason(result)}
        subject = ""
        if result.claims is not None:
            subject = ecert_subject(result.claims.serial)
            details["identifier"] = result.claims.identifier
        self.svc.audit.record(tag, used_by, subject, client_ip=client_ip, **details)
        return result

    @staticmethod
    def _reason(result: ShowCheck) -> str:
        if result.refusal is not None:
            return result.refusal.code
        return f"status.{result.status.result.lower()}"

    def _check(self, text: str, used_by: str) -> ShowCheck:
        message, body = showing.open_code(showing.cose_of(text))
        assert message.kid is not None  # open_code refuses a code without one
        signer = OnlineSource(self.svc).signer(message.kid)
        if signer is None:
            # Without a trusted key nothing in the code can be believed, not even the e-cert.
            return ShowCheck(
                signature=Part(
                    "UNVERIFIED", False, "签名密钥不在受信任列表中", "signature.unknown_key"
                ),
                issuer=Part("UNTRUSTED", False, f"签名密钥 {message.kid.hex()} 不受信任"),
                refusal=ShowCodeRefused("show_code.forged"),
            )
        issuer = Part("TRUSTED", True, f"由 {signer.authority_name} 签发")
        if not message.verify(x509.load(signer.certificate).public_key):
            return ShowCheck(
                signature=Part("INVALID", False, "签名无效：内容被改动或签名伪造"),
                issuer=issuer,
                refusal=ShowCodeRefused("show_code.forged"),
            )
        check = ShowCheck(signature=Part("VALID", True, "签名有效（SM2/SM3）"), issuer=issuer)
        if signer.withdrawn:
            check.issuer = Part("WITHDRAWN", False, f"{signer.authority_name} 的签名密钥已撤回")
            check.refusal = ShowCodeRefused("show_code.withdrawn")
            return check
        claims = showing.read_claims(body)
        check.claims = claims
        if claims.issuer_code != signer.authority_uscc:
            # This server signs with the e-cert's own authority's key; no other key made it.
            check.issuer = Part("MISMATCH", False, "签名机关与证照的颁发机构不符")
            check.refusal = ShowCodeRefused("show_code.forged")
            return check
        now = self.clock()
        problem = showing.freshness(claims, now)
        if problem is not None:
            check.freshness = Part(
                "EXPIRED" if problem == "show_code.expired" else "INVALID",
                False,
                f"{showing.MESSAGES[problem]}（有效至 {china_time(claims.expires_at)}）",
            )
            check.refusal = ShowCodeRefused(problem)
            return check
        left = max(int((claims.expires_at - now).total_seconds()), 0)
        check.freshness = Part(
            "FRESH", True, f"在有效时间内（{china_time(claims.issued_at)} 出示，剩余 {left} 秒）"
        )
        ecert = self.svc.issuance.repo.by_identifier(claims.identifier)
        if ecert is None:
            check.status = Part("UNKNOWN", False, "电子证照库中没有此证照")
            check.refusal = ShowCodeRefused("show_code.unknown_ecert")
            return check
        check.ecert = ecert
        if not self.repo.claim_nonce(claims.nonce.hex(), ecert.id, used_by, now):
            check.single_use = Part("REUSED", False, showing.MESSAGES["show_code.reused"])
            check.refusal = ShowCodeRefused("show_code.reused")
            return check
        check.single_use = Part("FIRST_USE", True, "首次核验（核验后即作废）")
        status = self.svc.issuance.effective_status(ecert)
        check.status = Part(status.name, status is EcertStatus.VALID, status.label)
        return check

    # -- grants ----------------------------------------------------------------------------------

    def create_grant(
        self,
        principal: Principal,
        ref: str,
        grantee: str,
        purpose: str,
        hours: int,
        client_ip: str = "",
    ) -> tuple[ShareGrant, str]:
        """Let ``grantee`` see the certificate ``ref`` for ``hours``; returns the grant and the
        link token, which is shown once and kept only as its SM3 digest."""
        ecert = self.owned(principal, ref)
        grantee = " ".join(grantee.split())
        purpose = " ".join(purpose.split())
        if not grantee:
            raise BadInput("请填写被授权方名称", code="share.grantee", field="grantee")
        if len(grantee) > MAX_GRANTEE:
            raise BadInput(
                f"被授权方名称不能超过 {MAX_GRANTEE} 字", code="share.grantee", field="grantee"
            )
        if len(purpose) > MAX_PURPOSE:
            raise BadInput(f"用途不能超过 {MAX_PURPOSE} 字", code="share.purpose", field="purpose")
        if not MIN_GRANT_HOURS <= hours <= MAX_GRANT_HOURS:
            raise BadInput("授权期限应为 1 小时至 30 天", code="share.duration", field="hours")
        now = self.clock()
        token = secrets.token_urlsafe(24)
        grant = self.repo.add_grant(
            ShareGrant(
                token_sm3=digest(token),
                serial=ecert.serial,
                holder_code=ecert.holder_code,
                grantee=grantee,
                purpose=purpose,
                created_by=principal.user_id,
                created_at=now,
                expires_at=now + timedelta(hours=hours),
            )
        )
        self.svc.audit.record(
            "sharing:grant:created",
            principal.actor,
            ecert_subject(ecert.serial),
            user_id=principal.user_id,
            client_ip=client_ip,
            grant=grant.id,
            grantee=grantee,
            identifier=ecert.identifier,
            hours=hours,
        )
        return grant, token

    def state_of(self, grant: ShareGrant) -> str:
        """live, expired or withdrawn."""
        if grant.withdrawn_at is not None:
            return "withdrawn"
        if grant.expires_at <= self.clock():
            return "expired"
        return "live"

    def grants(self, principal: Principal) -> list[dict[str, Any]]:
        """The holder's grants, newest first, with their state and number of accesses."""
        if principal.role not in HOLDER_ROLES or not principal.holder_code:
            return []
        grants = self.repo.grants_of(principal.holder_code)
        subjects = sorted({ecert_subject(g.serial) for g in grants})
        counts = self.repo.access_counts(subjects, "sharing:grant:accessed")
        certificates = {e.serial: e for e in self.repo.holder_certificates(principal.holder_code)}
        return [self.grant_view(g, certificates.get(g.serial), counts.get(g.id, 0)) for g in grants]

    def describe_grant(self, grant: ShareGrant) -> dict[str, Any]:
        """One grant with its certificate and number of accesses."""
        counts = self.repo.access_counts([ecert_subject(grant.serial)], "sharing:grant:accessed")
        ecert = self.repo.newest_version(grant.serial)
        return self.grant_view(grant, ecert, counts.get(grant.id, 0))

    def grant_view(self, grant: ShareGrant, ecert: Ecert | None, accesses: int) -> dict[str, Any]:
        """One grant, JSON-ready (times in Beijing time for reading, UTC ISO for programs)."""
        state = self.state_of(grant)
        return {
            "id": grant.id,
            "serial": grant.serial,
            "identifier": ecert.identifier if ecert else None,
            "type_name": CATALOGUE[ecert.type_code].name if ecert else "",
            "number": ecert.number if ecert else "",
            "grantee": grant.grantee,
            "purpose": grant.purpose,
            "created_at": grant.created_at.isoformat(),
            "expires_at": grant.expires_at.isoformat(),
            "created": china_time(grant.created_at),
            "expires": china_time(grant.expires_at),
            "withdrawn_at": grant.withdrawn_at.isoformat() if grant.withdrawn_at else None,
            "state": state,
            "state_label": GRANT_STATE_LABELS[state],
            "accesses": accesses,
        }

    def withdraw(self, principal: Principal, grant_id: int, client_ip: str = "") -> ShareGrant:
        """撤回: the link stops working at once."""
        grant = self.repo.grant(grant_id) if 0 < grant_id < 2**31 else None
        if (
            grant is None
            or principal.role not in HOLDER_ROLES
            or grant.holder_code != principal.holder_code
        ):
            raise Forbidden(NOT_YOURS, code="auth.not_yours")
        if grant.withdrawn_at is not None:
            raise Conflict("该授权已撤回", code="share.withdrawn")
        grant.withdrawn_at = self.clock()
        self.svc.audit.record(
            "sharing:grant:withdrawn",
            principal.actor,
            ecert_subject(grant.serial),
            user_id=principal.user_id,
            client_ip=client_ip,
            grant=grant.id,
            grantee=grant.grantee,
        )
        return grant

    def open_grant(self, token: str, client_ip: str = "", *, record: bool = True) -> GrantAccess:
        """What the link ``/shared/{token}`` gives now; each opening is recorded when ``record``.

        The certificate shown is the newest version of the one shared: a renewal keeps the grant.
        """
        grant = self.repo.grant_by_token(digest(token)) if 0 < len(token) <= 100 else None
        if grant is None:
            if record:
                self.svc.audit.record(
                    "sharing:grant:refused", "公众", "", client_ip=client_ip, reason="unknown"
                )
            return GrantAccess("unknown", None, None)
        state = self.state_of(grant)
        ecert = self.repo.newest_version(grant.serial)
        if record:
            details: dict[str, Any] = {"grant": grant.id}
            details["identifier"] = ecert.identifier if ecert else None
            if state != "live":
                details["reason"] = state
            self.svc.audit.record(
                "sharing:grant:accessed" if state == "live" else "sharing:grant:refused",
                grant.grantee,
                ecert_subject(grant.serial),
                client_ip=client_ip,
                **details,
            )
        return GrantAccess(state, grant, ecert)

    # -- the access log --------------------------------------------------------------------------

    def access_log(self, principal: Principal) -> list[dict[str, Any]]:
        """Who did what to any version of the holder's certificates, newest first."""
        if principal.role not in HOLDER_ROLES or not principal.holder_code:
            raise Forbidden("此功能仅限持证的经营业户或从业人员使用", code="auth.role")
        certificates = {
            ecert_subject(e.serial): e for e in self.repo.holder_certificates(principal.holder_code)
        }
        events = self.svc.audit.about(list(certificates), limit=ACCESS_LOG_LIMIT)
        rows = []
        for event in events:
            ecert = certificates.get(event.subject)
            rows.append(
                {
                    "at": event.at.isoformat(),
                    "time": china_time(event.at),
                    "actor": event.actor,
                    "tag": event.tag,
                    "action": TAGS.get(event.tag, event.tag),
                    "type_name": CATALOGUE[ecert.type_code].name if ecert else "",
                    "number": ecert.number if ecert else "",
                    "identifier": str(event.details.get("identifier") or ""),
                    "from": mask_ip(event.client_ip),
                }
            )
        return rows


# -- what a viewer may see of an e-cert --------------------------------------------------------


def _item_text(kind: ValueKind, value: Any) -> str:
    if kind is ValueKind.CATEGORIES:
        return "；".join(
            f"{c.get('label') or faces.label(codes.QualificationCategory, str(c.get('code')))}"
            f"（{c.get('valid_from', '')} 至 {c.get('valid_until', '')}）"
            for c in value or ()
        )
    return "" if value is None else str(value)


def ecert_rows(svc: Services, ecert: Ecert, *, full: bool) -> dict[str, Any]:
    """The certificate data shown beside a check or a grant: in full, or masked for the public.

    The public sees the type, masked holder and number, the authority, the validity and the
    state; never an ID number (seed 002 §7.3). Photos are left to the face picture.
    """
    cert_type = CATALOGUE[ecert.type_code]
    status = svc.issuance.effective_status(ecert)
    authority = str(ecert.metadata_items.get("ZZBFJG", ""))
    if full:
        rows = [("证照编号", ecert.number), ("持证主体", ecert.holder_name)]
        rows += [
            (item.label, _item_text(item.kind, ecert.face.get(item.key)))
            for item in cert_type.face
            if item.kind is not ValueKind.PHOTO and ecert.face.get(item.key) not in (None, "")
        ]
    else:
        rows = [
            ("证照编号", public_number(ecert.number)),
            ("持证主体", masking.mask_name(ecert.holder_name)),
            ("核发机关", authority),
            ("有效期", f"{ecert.valid_from.isoformat()} 至 {ecert.valid_until.isoformat()}"),
        ]
    return {
        "type_name": cert_type.name,
        "holder_name": ecert.holder_name if full else masking.mask_name(ecert.holder_name),
        "status": status.label,
        "status_ok": status is EcertStatus.VALID,
        "version": f"{ecert.version:03d}",
        "identifier": ecert.identifier if full else None,
        "rows": rows,
        "full": full,
    }


def photo_of(svc: Services, ecert: Ecert) -> tuple[bytes, str] | None:
    """The photo printed on the face (person or vehicle), as bytes and media type."""
    for item in CATALOGUE[ecert.type_code].face:
        value = ecert.face.get(item.key)
        if item.kind is ValueKind.PHOTO and value:
            photo = svc.ledger.repo.photo_by_sm3(str(value))
            if photo is not None:
                return photo.content, photo.media_type
    return None

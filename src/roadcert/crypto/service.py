"""The key hierarchy: national root → provincial CA → one signing key per issuing authority.

The root stands in for the national hub's root in a stand-alone installation. Signing keys are
short-lived: a key past its end, or rotated, is retired (it verifies old e-certs but signs no
more); a withdrawn key is no longer trusted at all.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from roadcert.catalog.types import MOT_USCC
from roadcert.config import Settings
from roadcert.crypto import x509
from roadcert.crypto.keystore import KeyStore
from roadcert.crypto.models import KeyRecord, KeyRole, KeyState
from roadcert.crypto.repository import KeyRepository
from roadcert.db import utcnow
from roadcert.errors import ConfigurationError, NotFound
from roadcert.kit import regions
from roadcert.registry.models import Authority

ROOT_YEARS = 20
PROVINCE_YEARS = 10
# A signing key is replaced this long before its certificate ends, so an e-cert is never
# signed by a key about to lapse.
RENEW_MARGIN = timedelta(days=7)


def _label(prefix: str, now: datetime) -> str:
    # Time for humans reading the key directory, random bits so two processes never collide.
    return f"{prefix}-{now:%Y%m%d%H%M%S}-{secrets.token_hex(4)}"


class KeyService:
    """Creates, rotates and withdraws the keys of the hierarchy."""

    def __init__(self, session: Session, store: KeyStore, settings: Settings) -> None:
        self.session = session
        self.store = store
        self.settings = settings
        self.repo = KeyRepository(session)
        self._signers: dict[int, Callable[[bytes], bytes]] = {}
        # The signing key record of each authority, so bulk issuance does not query it per
        # e-cert; cleared whenever a key changes state.
        self._signing: dict[int, KeyRecord] = {}

    # -- hierarchy -------------------------------------------------------------------------

    def ensure_hierarchy(self) -> tuple[KeyRecord, KeyRecord]:
        """The root and the provincial CA, created if missing."""
        root = self.repo.current(KeyRole.ROOT)
        if root is None:
            root = self._create_root()
        province = self.repo.current(KeyRole.PROVINCE)
        if province is None:
            province = self._create_province(root)
        return root, province

    def _create_root(self) -> KeyRecord:
        now = utcnow()
        label = _label("root", now)
        self.store.generate(label)
        name = x509.Name(
            common_name="交通运输部道路运输电子证照根CA",
            organization="中华人民共和国交通运输部",
            serial_number=MOT_USCC,
        )
        der = self._self_signed(label, name, now, ROOT_YEARS)
        return self._keep(label, KeyRole.ROOT, der, None, None)

    def _self_signed(self, label: str, name: x509.Name, now: datetime, years: int) -> bytes:
        return x509.issue_certificate(
            subject=name,
            subject_public_key=self.store.public_key(label),
            issuer=None,
            issuer_key=self.store.signer(label),
            issuer_cert_der=None,
            serial=None,
            not_before=now - timedelta(minutes=5),
            not_after=now + timedelta(days=365 * years),
            is_ca=True,
            path_length=None,
            key_usage={"key_cert_sign", "crl_sign"},
        )

    def _create_province(self, root: KeyRecord) -> KeyRecord:
        now = utcnow()
        code = self.settings.province_code
        province_name = regions.name_of(code) or code
        label = _label(f"province-{code}", now)
        public = self.store.generate(label)
        name = x509.Name(
            common_name=f"{province_name}道路运输电子证照CA",
            organization=f"{province_name}交通运输厅",
            province=province_name,
        )
        der = x509.make_intermediate(
            public,
            name,
            self.store.signer(root.label),
            root.certificate,
            now - timedelta(minutes=5),
            now + timedelta(days=365 * PROVINCE_YEARS),
        )
        return self._keep(label, KeyRole.PROVINCE, der, None, root.id)

    def _keep(
        self, label: str, role: KeyRole, der: bytes, authority_id: int | None, issuer_id: int | None
    ) -> KeyRecord:
        info = x509.load(der)
        record = KeyRecord(
            label=label,
            role=role,
            authority_id=authority_id,
            issuer_id=issuer_id,
            certificate=der,
            key_id=info.key_id.hex(),
            not_before=info.not_before,
            not_after=info.not_after,
            state=KeyState.ACTIVE,
        )
        self.repo.add(record)
        return record

    # -- signing keys ------------------------------------------------------------------------

    def signing_key(self, authority: Authority) -> KeyRecord:
        """The authority's active signing key, rotated first if it is due."""
        current = self._signing.get(authority.id)
        if current is None or current.state != KeyState.ACTIVE:
            current = self.repo.current(KeyRole.SIGNING, authority.id)
        if current is not None:
            # Short-lived keys get a proportionally short margin, or they would rotate on
            # every use.
            margin = min(RENEW_MARGIN, (current.not_after - current.not_before) / 4)
            if current.not_after - margin > utcnow():
                self._signing[authority.id] = current
                return current
        return self.rotate(authority)

    def rotate(self, authority: Authority) -> KeyRecord:
        """Retire the authority's current signing key and create a new one."""
        _, province = self.ensure_hierarchy()
        current = self.repo.current(KeyRole.SIGNING, authority.id)
        now = utcnow()
        if current is not None:
            current.state = KeyState.RETIRED
            current.state_changed_at = now
        label = _label(f"signing-{authority.uscc.lower()}", now)
        public = self.store.generate(label)
        name = x509.Name(
            common_name=f"{authority.name}电子证照签名",
            organization=authority.name,
            serial_number=authority.uscc,
        )
        not_after = min(now + timedelta(days=self.settings.signing_key_days), province.not_after)
        der = x509.make_signing(
            public,
            name,
            self.store.signer(province.label),
            province.certificate,
            now - timedelta(minutes=5),
            not_after,
        )
        record = self._keep(label, KeyRole.SIGNING, der, authority.id, province.id)
        self._signing[authority.id] = record
        return record

    def withdraw(self, key_record_id: int) -> KeyRecord:
        """Stop trusting a signing key (compromise, authority closed)."""
        record = self.repo.get(key_record_id)
        if record is None or record.role != KeyRole.SIGNING:
            raise NotFound(f"签名密钥 {key_record_id} 不存在", code="key.not_found")
        record.state = KeyState.WITHDRAWN
        record.state_changed_at = utcnow()
        self._signing = {a: r for a, r in self._signing.items() if r.id != record.id}
        return record

    def signer(self, record: KeyRecord) -> Callable[[bytes], bytes]:
        """A fast signing function for a key (the decrypted key is cached by the store)."""
        if record.id not in self._signers:
            self._signers[record.id] = self.store.signer(record.label)
        return self._signers[record.id]

    # -- chains and trust ----------------------------------------------------------------------

    def chain(self, record: KeyRecord) -> list[bytes]:
        """DER certificates from the signer up to the root, signer first."""
        out = [record.certificate]
        current = record
        while current.issuer_id is not None:
            issuer = self.repo.get(current.issuer_id)
            if issuer is None:
                raise ConfigurationError("证书链不完整", code="key.chain_broken")
            out.append(issuer.certificate)
            current = issuer
        return out

    def trusted(self) -> list[KeyRecord]:
        """Every certificate a verifier should trust now: all but withdrawn ones."""
        return [r for r in self.repo.all() if r.state != KeyState.WITHDRAWN]

    def all(self) -> list[KeyRecord]:
        """Every key record."""
        return list(self.repo.all())

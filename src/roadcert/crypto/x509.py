"""SM2/SM3 X.509 certificates for the key hierarchy: national root → provincial CA → signing key.

Certificates are built with asn1crypto and their TBS bytes signed with tongsuopy (which has no
X.509 of its own). They follow RFC 5280 with the Chinese algorithm identifiers of GM/T 0006 /
GB/T 20518: the key is id-ecPublicKey on curve 1.2.156.10197.1.301 and the signature is
SM2-with-SM3 (1.2.156.10197.1.501, no parameters), as OpenSSL 3 writes them. ``openssl verify``
accepts the chains built here.

Key identifiers (subjectKeyIdentifier, authorityKeyIdentifier) are the first 160 bits of the SM3
of the subjectPublicKey BIT STRING contents — RFC 5280 §4.2.1.2 method 1 with SM3 in place of
SHA-1, truncated as RFC 7093 does for SHA-256.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asn1crypto import algos, core, keys, pem
from asn1crypto import x509 as asn1_x509

from roadcert.crypto import sm
from roadcert.crypto.errors import ChainError
from roadcert.crypto.sm import PrivateKey, PublicKey

__all__ = [
    "CA_KEY_USAGE",
    "KEY_USAGES",
    "SIGNING_KEY_USAGE",
    "CertInfo",
    "ChainError",
    "Name",
    "Signer",
    "from_pem",
    "issue_certificate",
    "load",
    "make_intermediate",
    "make_root",
    "make_signing",
    "to_pem",
    "verify_chain",
]

KEY_USAGES = frozenset(asn1_x509.KeyUsage._map.values())
CA_KEY_USAGE = frozenset({"key_cert_sign", "crl_sign"})
SIGNING_KEY_USAGE = frozenset({"digital_signature", "non_repudiation"})

# A function that signs bytes with the issuer's key and returns a DER SM2 signature.
Signer = Callable[[bytes], bytes]

_SKI_BYTES = 20
_SERIAL_BITS = 159
# RFC 5280 §4.1.2.5: UTCTime up to 2049, GeneralizedTime from 2050.
_UTC_TIME_LIMIT = datetime(2050, 1, 1, tzinfo=UTC)

# Attribute order inside the Name, most general first, as Chinese CAs write DNs.
_NAME_ATTRIBUTES = (
    ("country", "country_name"),
    ("province", "state_or_province_name"),
    ("organization", "organization_name"),
    ("organizational_unit", "organizational_unit_name"),
    ("common_name", "common_name"),
    ("serial_number", "serial_number"),
)
# X.520 requires PrintableString for these two; everything else is UTF8String for Chinese text.
_PRINTABLE_ATTRIBUTES = frozenset({"country_name", "serial_number"})


@dataclass(frozen=True)
class Name:
    """A distinguished name: who a certificate is for or who issued it.

    ``serial_number`` carries the 18-character unified social credit code (统一社会信用代码) of an
    authority.
    """

    common_name: str
    organization: str | None = None
    organizational_unit: str | None = None
    country: str = "CN"
    province: str | None = None
    serial_number: str | None = None

    def to_asn1(self) -> asn1_x509.Name:
        """Encode as an asn1crypto Name (UTF8String, PrintableString for C and serialNumber)."""
        rdns = []
        for attribute, oid_name in _NAME_ATTRIBUTES:
            value = getattr(self, attribute)
            if value is None or value == "":
                continue
            if oid_name in _PRINTABLE_ATTRIBUTES:
                directory_value = asn1_x509.DirectoryString(
                    name="printable_string", value=asn1_x509.PrintableString(value)
                )
            else:
                directory_value = asn1_x509.DirectoryString(
                    name="utf8_string", value=core.UTF8String(value)
                )
            rdns.append(
                asn1_x509.RelativeDistinguishedName(
                    [asn1_x509.NameTypeAndValue({"type": oid_name, "value": directory_value})]
                )
            )
        return asn1_x509.Name(name="", value=asn1_x509.RDNSequence(rdns))

    @classmethod
    def from_asn1(cls, name: asn1_x509.Name) -> Name:
        """Read the attributes this class knows from an asn1crypto Name; others are ignored."""
        found: dict[str, str] = {}
        for rdn in name.chosen:
            for type_and_value in rdn:
                oid_name = type_and_value["type"].native
                value = type_and_value["value"].native
                if isinstance(value, str):
                    found.setdefault(oid_name, value)
        return cls(
            common_name=found.get("common_name", ""),
            organization=found.get("organization_name"),
            organizational_unit=found.get("organizational_unit_name"),
            country=found.get("country_name", ""),
            province=found.get("state_or_province_name"),
            serial_number=found.get("serial_number"),
        )


@dataclass
class CertInfo:
    """What roadcert needs to know about one certificate."""

    der: bytes
    subject: Name
    issuer: Name
    serial: int
    not_before: datetime
    not_after: datetime
    is_ca: bool
    public_key: PublicKey
    fingerprint_sm3: bytes
    key_id: bytes
    path_length: int | None = None
    key_usage: frozenset[str] = frozenset()
    subject_key_identifier: bytes | None = None
    authority_key_identifier: bytes | None = None

    def is_valid_at(self, at: datetime) -> bool:
        """Whether ``at`` (an aware datetime) lies within the validity period."""
        return self.not_before <= at <= self.not_after


def issue_certificate(
    *,
    subject: Name,
    subject_public_key: PublicKey,
    issuer: Name | None,
    issuer_key: PrivateKey | Signer,
    issuer_cert_der: bytes | None,
    serial: int | None,
    not_before: datetime,
    not_after: datetime,
    is_ca: bool,
    path_length: int | None,
    key_usage: set[str] | frozenset[str],
) -> bytes:
    """Build and sign an SM2-with-SM3 X.509 v3 certificate; return its DER.

    With ``issuer_cert_der`` the issuer name is copied from that certificate's subject (so the
    chain links byte for byte) and ``issuer``, if given, must match it. With neither, the
    certificate is self-signed and ``issuer_key`` must be the subject's own key.

    ``issuer_key`` is a private key or a signing function such as ``KeyStore.signer(label)``
    (which keeps the key inside the store); a function needs ``issuer_cert_der`` or a
    self-signed certificate, since the issuer's public key is taken from there.
    """
    unknown = set(key_usage) - KEY_USAGES
    if unknown or not key_usage:
        raise ValueError(f"key_usage must be a non-empty subset of {sorted(KEY_USAGES)}")
    if path_length is not None and (not is_ca or path_length < 0):
        raise ValueError("path_length is only for CA certificates and must be ≥ 0")
    if serial is None:
        serial = secrets.randbits(_SERIAL_BITS) | (1 << (_SERIAL_BITS - 1))
    if serial <= 0 or serial.bit_length() > 159:
        raise ValueError("serial must be positive and at most 20 octets (RFC 5280 §4.1.2.2)")
    start, end = _as_utc(not_before, "not_before"), _as_utc(not_after, "not_after")
    if end <= start:
        raise ValueError("not_after must be later than not_before")

    subject_name = subject.to_asn1()
    if issuer_cert_der is not None:
        issuer_cert = _parse(issuer_cert_der)
        issuer_name = issuer_cert.asn1.subject
        if not issuer_cert.info.is_ca:
            raise ValueError("issuer_cert_der is not a CA certificate")
        if issuer is not None and issuer.to_asn1() != issuer_name:
            raise ValueError("issuer does not match the subject of issuer_cert_der")
        issuer_public = issuer_cert.info.public_key
        authority_key_id = issuer_cert.info.subject_key_identifier or _key_identifier(issuer_public)
    elif issuer is not None:
        if callable(issuer_key):
            raise ValueError("with a signing function as issuer_key, pass issuer_cert_der")
        issuer_name = issuer.to_asn1()
        issuer_public = issuer_key.public_key()
        authority_key_id = _key_identifier(issuer_public)
    else:
        issuer_name = subject_name
        issuer_public = subject_public_key
        authority_key_id = _key_identifier(subject_public_key)

    basic_constraints: dict[str, Any] = {"ca": is_ca}
    if is_ca and path_length is not None:
        basic_constraints["path_len_constraint"] = path_length
    extensions = [
        _extension("basic_constraints", asn1_x509.BasicConstraints(basic_constraints), True),
        _extension("key_usage", asn1_x509.KeyUsage(set(key_usage)), True),
        _extension("key_identifier", core.OctetString(_key_identifier(subject_public_key)), False),
        _extension(
            "authority_key_identifier",
            asn1_x509.AuthorityKeyIdentifier({"key_identifier": authority_key_id}),
            False,
        ),
    ]
    signature_algorithm = _sm2_sm3_algorithm()
    tbs = asn1_x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": serial,
            "signature": signature_algorithm,
            "issuer": issuer_name,
            "validity": {"not_before": _time(start), "not_after": _time(end)},
            "subject": subject_name,
            "subject_public_key_info": keys.PublicKeyInfo.load(
                sm.public_key_der(subject_public_key)
            ),
            "extensions": extensions,
        }
    )
    tbs_der = tbs.dump()
    signature = issuer_key(tbs_der) if callable(issuer_key) else sm.sign(issuer_key, tbs_der)
    # Checking the fresh signature catches an issuer key that does not match the issuer
    # certificate (or, self-signed, the subject key) whether it is a key or a key-store signer.
    if not sm.verify(issuer_public, tbs_der, signature):
        raise ValueError("issuer_key does not match the issuer's public key")
    certificate = asn1_x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": _sm2_sm3_algorithm(),
            "signature_value": signature,
        }
    )
    der: bytes = certificate.dump()
    return der


def make_root(key: PrivateKey, name: Name, not_before: datetime, not_after: datetime) -> bytes:
    """Self-signed root CA certificate (国家级根证书) for ``key``.

    No path length limit: the hub decides the depth, and provincial CAs carry pathlen 0.
    """
    return issue_certificate(
        subject=name,
        subject_public_key=key.public_key(),
        issuer=None,
        issuer_key=key,
        issuer_cert_der=None,
        serial=None,
        not_before=not_before,
        not_after=not_after,
        is_ca=True,
        path_length=None,
        key_usage=CA_KEY_USAGE,
    )


def make_intermediate(
    key_pub: PublicKey,
    name: Name,
    issuer_key: PrivateKey | Signer,
    issuer_cert_der: bytes,
    not_before: datetime,
    not_after: datetime,
) -> bytes:
    """Provincial CA certificate (省级 CA): a CA that may sign only end-entity certificates."""
    return issue_certificate(
        subject=name,
        subject_public_key=key_pub,
        issuer=None,
        issuer_key=issuer_key,
        issuer_cert_der=issuer_cert_der,
        serial=None,
        not_before=not_before,
        not_after=not_after,
        is_ca=True,
        path_length=0,
        key_usage=CA_KEY_USAGE,
    )


def make_signing(
    key_pub: PublicKey,
    name: Name,
    issuer_key: PrivateKey | Signer,
    issuer_cert_der: bytes,
    not_before: datetime,
    not_after: datetime,
) -> bytes:
    """Document-signing certificate of an issuing authority (end entity)."""
    return issue_certificate(
        subject=name,
        subject_public_key=key_pub,
        issuer=None,
        issuer_key=issuer_key,
        issuer_cert_der=issuer_cert_der,
        serial=None,
        not_before=not_before,
        not_after=not_after,
        is_ca=False,
        path_length=None,
        key_usage=SIGNING_KEY_USAGE,
    )


def load(der_or_pem: bytes) -> CertInfo:
    """Parse one certificate, DER or PEM (the first one of a PEM bundle).

    Raises ``ValueError`` for anything that is not an SM2 certificate.
    """
    data = bytes(der_or_pem)
    if pem.detect(data):
        blocks = from_pem(data)
        if not blocks:
            raise ValueError("no CERTIFICATE block in PEM input")
        data = blocks[0]
    return _parse(data).info


def to_pem(der: bytes) -> str:
    """Armor one DER certificate as PEM text."""
    armored: bytes = pem.armor("CERTIFICATE", bytes(der))
    return armored.decode("ascii")


def from_pem(text: str | bytes) -> list[bytes]:
    """Return the DER of every CERTIFICATE block in a PEM bundle, in order.

    Empty text gives an empty list; text with no PEM block at all raises ``ValueError``.
    """
    data = text.encode("ascii") if isinstance(text, str) else bytes(text)
    if not data.strip():
        return []
    try:
        return [der for kind, _, der in pem.unarmor(data, multiple=True) if kind == "CERTIFICATE"]
    except ValueError as exc:
        raise ValueError(f"malformed PEM: {exc}") from exc


def verify_chain(chain: Sequence[bytes], trusted_roots: Sequence[bytes], at: datetime) -> None:
    """Check that ``chain`` (signer first, then its issuers) leads to a trusted root at ``at``.

    Checks, in this order: every certificate parses as SM2; each issuer's name matches its
    child's issuer name (and key identifiers agree); each signature verifies with the issuer's
    key; each issuer is a CA within its path length; the last certificate is, or is issued by,
    one of ``trusted_roots``; every certificate used, root included, is valid at ``at``.
    Raises ``ChainError`` with the reason code of the first failure.
    """
    moment = _as_utc(at, "at", whole_seconds=False)
    if not chain:
        raise ChainError("chain.malformed", "empty certificate chain")
    parsed = [_parse_for_chain(der, f"chain[{index}]") for index, der in enumerate(chain)]
    roots = [
        _parse_for_chain(der, f"trusted_roots[{index}]") for index, der in enumerate(trusted_roots)
    ]

    for depth in range(len(parsed) - 1):
        child, parent = parsed[depth], parsed[depth + 1]
        _check_link(child, parent, depth)
        _check_issuer_may_sign(parent, cas_below=depth)

    last = parsed[-1]
    path = list(parsed)
    if not any(last.info.der == root.info.der for root in roots):
        if _is_self_signed(last):
            raise ChainError(
                "chain.untrusted",
                f"chain ends in a self-signed certificate that is not trusted: {_describe(last)}",
            )
        candidates = [root for root in roots if root.asn1.issuer == root.asn1.subject]
        named = [root for root in candidates if root.asn1.subject == last.asn1.issuer]
        if not named:
            raise ChainError("chain.untrusted", f"no trusted root issued {_describe(last)}")
        anchor = next((root for root in named if _signed_by(last, root)), None)
        if anchor is None:
            raise ChainError(
                "chain.signature",
                f"{_describe(last)} names a trusted root as issuer but its signature does not "
                "verify with that root's key",
            )
        _check_issuer_may_sign(anchor, cas_below=len(parsed) - 1)
        path.append(anchor)

    for cert in path:
        if moment < cert.info.not_before:
            raise ChainError(
                "chain.not_yet_valid",
                f"{_describe(cert)} is valid only from {cert.info.not_before.isoformat()}",
            )
        if moment > cert.info.not_after:
            raise ChainError(
                "chain.expired",
                f"{_describe(cert)} expired at {cert.info.not_after.isoformat()}",
            )


@dataclass
class _Parsed:
    asn1: asn1_x509.Certificate
    info: CertInfo


def _parse(der: bytes) -> _Parsed:
    der = bytes(der)
    try:
        cert = asn1_x509.Certificate.load(der, strict=True)
        tbs = cert["tbs_certificate"]
        # Touch every field now so that a malformed certificate fails here, not later.
        cert.native  # noqa: B018
        if cert["signature_algorithm"].dump() != tbs["signature"].dump():
            raise ValueError("outer and inner signature algorithms differ")
        if cert["signature_algorithm"]["algorithm"].dotted != sm.OID_SM2_WITH_SM3:
            raise ValueError("signature algorithm is not SM2-with-SM3")
        public_key = sm.load_public_key_der(tbs["subject_public_key_info"].dump())
        basic = cert.basic_constraints_value
        usage = cert.key_usage_value
        authority_key_id = cert.authority_key_identifier
        subject_key_id = cert.key_identifier
        fingerprint = sm.sm3(der)
        info = CertInfo(
            der=der,
            subject=Name.from_asn1(cert.subject),
            issuer=Name.from_asn1(cert.issuer),
            serial=cert.serial_number,
            not_before=_as_utc(cert.not_valid_before, "notBefore"),
            not_after=_as_utc(cert.not_valid_after, "notAfter"),
            is_ca=bool(basic is not None and basic["ca"].native),
            public_key=public_key,
            fingerprint_sm3=fingerprint,
            key_id=fingerprint[:8],
            path_length=basic["path_len_constraint"].native if basic is not None else None,
            key_usage=frozenset(usage.native) if usage is not None else frozenset(),
            subject_key_identifier=subject_key_id,
            authority_key_identifier=authority_key_id,
        )
    except ValueError:
        raise
    except Exception as exc:  # asn1crypto raises assorted types for bad input
        raise ValueError(f"not a well-formed certificate: {exc}") from exc
    return _Parsed(asn1=cert, info=info)


def _parse_for_chain(der: bytes, where: str) -> _Parsed:
    try:
        return _parse(der)
    except ValueError as exc:
        raise ChainError("chain.malformed", f"{where}: {exc}") from exc


def _check_link(child: _Parsed, parent: _Parsed, depth: int) -> None:
    if child.asn1.issuer != parent.asn1.subject:
        raise ChainError(
            "chain.linkage",
            f"chain[{depth}] names issuer {child.asn1.issuer.human_friendly!r} but chain"
            f"[{depth + 1}] is {parent.asn1.subject.human_friendly!r}",
        )
    child_aki = child.info.authority_key_identifier
    parent_ski = parent.info.subject_key_identifier
    if child_aki is not None and parent_ski is not None and child_aki != parent_ski:
        raise ChainError(
            "chain.linkage",
            f"chain[{depth}] was issued under another key than the one in chain[{depth + 1}]",
        )
    if not _signed_by(child, parent):
        raise ChainError(
            "chain.signature",
            f"signature of {_describe(child)} does not verify with the key of {_describe(parent)}",
        )


def _check_issuer_may_sign(issuer: _Parsed, *, cas_below: int) -> None:
    """``cas_below`` counts the CA certificates between ``issuer`` and the end entity."""
    info = issuer.info
    if not info.is_ca:
        raise ChainError("chain.not_ca", f"{_describe(issuer)} is not a CA certificate")
    if info.key_usage and "key_cert_sign" not in info.key_usage:
        raise ChainError(
            "chain.not_ca", f"{_describe(issuer)} is a CA but may not sign certificates"
        )
    if info.path_length is not None and cas_below > info.path_length:
        raise ChainError(
            "chain.not_ca",
            f"{_describe(issuer)} allows {info.path_length} CA certificate(s) below it, "
            f"the chain has {cas_below}",
        )


def _signed_by(child: _Parsed, issuer: _Parsed) -> bool:
    tbs = child.asn1["tbs_certificate"].dump()
    signature = child.asn1["signature_value"].native
    return sm.verify(issuer.info.public_key, tbs, signature)


def _is_self_signed(cert: _Parsed) -> bool:
    return bool(cert.asn1.issuer == cert.asn1.subject and _signed_by(cert, cert))


def _describe(cert: _Parsed) -> str:
    return f"{cert.asn1.subject.human_friendly!r} (serial {cert.info.serial:x})"


def _key_identifier(public_key: PublicKey) -> bytes:
    spki = keys.PublicKeyInfo.load(sm.public_key_der(public_key))
    key_bits: bytes = spki["public_key"].contents[1:]  # skip the BIT STRING unused-bits octet
    return sm.sm3(key_bits)[:_SKI_BYTES]


def _extension(extn_id: str, value: Any, critical: bool) -> asn1_x509.Extension:
    return asn1_x509.Extension({"extn_id": extn_id, "critical": critical, "extn_value": value})


def _sm2_sm3_algorithm() -> Any:
    # The dotted OID is used rather than registering a name in asn1crypto's global tables,
    # which other parts of roadcert (the GB/T 38540 seal reader) share.
    return algos.SignedDigestAlgorithm({"algorithm": sm.OID_SM2_WITH_SM3})


def _time(moment: datetime) -> asn1_x509.Time:
    if moment < _UTC_TIME_LIMIT:
        return asn1_x509.Time(name="utc_time", value=moment)
    return asn1_x509.Time(name="general_time", value=moment)


def _as_utc(moment: datetime, what: str, *, whole_seconds: bool = True) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ValueError(f"{what} must be a timezone-aware datetime")
    moment = moment.astimezone(UTC)
    # Certificate times have whole seconds; truncating up front keeps CertInfo equal to input.
    return moment.replace(microsecond=0) if whole_seconds else moment

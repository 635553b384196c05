"""SM2 certificates: what they contain, that OpenSSL accepts them, and how chains fail."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import keys
from asn1crypto import x509 as asn1_x509

from roadcert.crypto import sm, x509
from roadcert.crypto.errors import ChainError

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
# OpenSSL 3.0 computes the SM2 Z value with an empty ID unless told otherwise; the certificates
# here use the GB/T 35276 default ID, so every check of a signature needs this option.
DISTID = "distid:" + sm.DEFAULT_USER_ID.decode("ascii")

ROOT_NAME = x509.Name(
    common_name="交通运输部道路运输电子证照根CA",
    organization="中华人民共和国交通运输部",
    serial_number="11100000000019713D",
)
PROVINCE_NAME = x509.Name(
    common_name="湖南省道路运输电子证照CA", organization="湖南省交通运输厅", province="湖南省"
)
AUTHORITY_NAME = x509.Name(
    common_name="长沙市交通运输局电子证照签名",
    organization="长沙市交通运输局",
    organizational_unit="运输管理处",
    province="湖南省",
    serial_number="11430100006122244L",
)


@dataclass(frozen=True)
class Hierarchy:
    root_key: sm.PrivateKey
    ca_key: sm.PrivateKey
    leaf_key: sm.PrivateKey
    root: bytes
    ca: bytes
    leaf: bytes


def build_hierarchy(root_name: x509.Name = ROOT_NAME) -> Hierarchy:
    root_key, ca_key, leaf_key = (sm.generate_private_key() for _ in range(3))
    root = x509.make_root(root_key, root_name, NOW - timedelta(days=30), NOW + timedelta(days=7300))
    ca = x509.make_intermediate(
        ca_key.public_key(),
        PROVINCE_NAME,
        root_key,
        root,
        NOW - timedelta(days=20),
        NOW + timedelta(days=3650),
    )
    leaf = x509.make_signing(
        leaf_key.public_key(),
        AUTHORITY_NAME,
        ca_key,
        ca,
        NOW - timedelta(days=10),
        NOW + timedelta(days=90),
    )
    return Hierarchy(root_key, ca_key, leaf_key, root, ca, leaf)


@pytest.fixture(scope="module")
def pki() -> Hierarchy:
    return build_hierarchy()


def openssl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OPENSSL, *map(str, args)], capture_output=True, text=True, check=False, timeout=30
    )


def write_pem(directory: Path, name: str, *ders: bytes) -> Path:
    path = directory / name
    path.write_text("".join(x509.to_pem(der) for der in ders), encoding="ascii")
    return path


def expect_chain_error(code: str, chain: list[bytes], roots: list[bytes], at: datetime) -> None:
    with pytest.raises(ChainError) as caught:
        x509.verify_chain(chain, roots, at)
    assert caught.value.code == code, caught.value.message
    assert caught.value.reason_code == code


# -- contents -------------------------------------------------------------------------------


def test_load_reads_back_what_was_issued(pki: Hierarchy) -> None:
    info = x509.load(pki.leaf)
    assert info.der == pki.leaf
    assert info.subject == AUTHORITY_NAME
    assert info.issuer == PROVINCE_NAME
    assert info.not_before == NOW - timedelta(days=10)
    assert info.not_after == NOW + timedelta(days=90)
    assert info.not_before.tzinfo is not None and info.not_before.utcoffset() == timedelta(0)
    assert not info.is_ca
    assert info.key_usage == {"digital_signature", "non_repudiation"}
    assert 0 < info.serial < 2**159
    assert sm.public_key_xy(info.public_key) == sm.public_key_xy(pki.leaf_key.public_key())
    assert info.fingerprint_sm3 == sm.sm3(pki.leaf)
    assert info.key_id == sm.sm3(pki.leaf)[:8]
    assert info.is_valid_at(NOW)
    assert not info.is_valid_at(NOW + timedelta(days=91))


def test_ca_flags_and_path_lengths(pki: Hierarchy) -> None:
    root, ca = x509.load(pki.root), x509.load(pki.ca)
    assert root.is_ca and root.path_length is None and root.subject == root.issuer == ROOT_NAME
    assert ca.is_ca and ca.path_length == 0
    assert root.key_usage == ca.key_usage == {"key_cert_sign", "crl_sign"}


def test_algorithms_names_and_extensions(pki: Hierarchy) -> None:
    cert = asn1_x509.Certificate.load(pki.leaf)
    assert cert["signature_algorithm"]["algorithm"].dotted == sm.OID_SM2_WITH_SM3
    assert cert["tbs_certificate"]["signature"]["algorithm"].dotted == sm.OID_SM2_WITH_SM3
    spki = cert["tbs_certificate"]["subject_public_key_info"]
    assert spki["algorithm"]["algorithm"].dotted == "1.2.840.10045.2.1"  # id-ecPublicKey
    assert spki["algorithm"]["parameters"].chosen.dotted == sm.OID_SM2_CURVE
    for rdn in cert.subject.chosen:
        for attribute in rdn:
            expected = (
                "printable_string"
                if attribute["type"].native in ("country_name", "serial_number")
                else "utf8_string"
            )
            assert attribute["value"].name == expected
    critical = {
        ext["extn_id"].native
        for ext in cert["tbs_certificate"]["extensions"]
        if ext["critical"].native
    }
    assert critical == {"basic_constraints", "key_usage"}
    key_bits = keys.PublicKeyInfo.load(sm.public_key_der(pki.leaf_key.public_key()))["public_key"]
    assert cert.key_identifier == sm.sm3(key_bits.contents[1:])[:20]
    assert cert.authority_key_identifier == asn1_x509.Certificate.load(pki.ca).key_identifier


def test_pem_round_trip(pki: Hierarchy) -> None:
    bundle = x509.to_pem(pki.leaf) + x509.to_pem(pki.ca) + x509.to_pem(pki.root)
    assert bundle.startswith("-----BEGIN CERTIFICATE-----")
    assert x509.from_pem(bundle) == [pki.leaf, pki.ca, pki.root]
    assert x509.from_pem(bundle.encode("ascii")) == [pki.leaf, pki.ca, pki.root]
    assert x509.load(bundle.encode("ascii")).der == pki.leaf
    assert x509.from_pem("") == []
    with pytest.raises(ValueError):
        x509.from_pem("no certificates here")


def test_dates_from_2050_use_generalized_time() -> None:
    key = sm.generate_private_key()
    der = x509.make_root(key, ROOT_NAME, NOW, datetime(2060, 1, 1, tzinfo=UTC))
    validity = asn1_x509.Certificate.load(der)["tbs_certificate"]["validity"]
    assert validity["not_before"].name == "utc_time"
    assert validity["not_after"].name == "general_time"
    assert x509.load(der).not_after == datetime(2060, 1, 1, tzinfo=UTC)


def test_issue_certificate_checks_its_input(pki: Hierarchy) -> None:
    common = {
        "subject": AUTHORITY_NAME,
        "subject_public_key": pki.leaf_key.public_key(),
        "issuer": None,
        "issuer_key": pki.ca_key,
        "issuer_cert_der": pki.ca,
        "serial": None,
        "not_before": NOW,
        "not_after": NOW + timedelta(days=1),
        "is_ca": False,
        "path_length": None,
        "key_usage": {"digital_signature"},
    }
    x509.issue_certificate(**common)
    bad_inputs = [
        {"not_before": datetime(2026, 1, 1)},  # naive
        {"not_after": NOW},  # not after not_before
        {"key_usage": {"sign_everything"}},
        {"key_usage": set()},
        {"path_length": 1},  # not a CA
        {"serial": 0},
        {"serial": 2**159},
        {"issuer_key": pki.root_key},  # does not match the issuer certificate
        {"issuer_cert_der": pki.leaf, "issuer_key": pki.leaf_key},  # issuer is not a CA
        {"issuer": ROOT_NAME},  # contradicts issuer_cert_der
        {"issuer_cert_der": None},  # self-signed, yet issuer_key is another key
    ]
    for change in bad_inputs:
        with pytest.raises(ValueError):
            x509.issue_certificate(**{**common, **change})


def test_issue_certificate_with_a_signing_function(pki: Hierarchy) -> None:
    def ca_signer(data: bytes) -> bytes:
        return sm.sign(pki.ca_key, data)

    der = x509.make_signing(
        pki.leaf_key.public_key(), AUTHORITY_NAME, ca_signer, pki.ca, NOW, NOW + timedelta(days=1)
    )
    x509.verify_chain([der, pki.ca], [pki.root], NOW)


def test_load_rejects_non_certificates() -> None:
    for data in (
        b"",
        b"\x30\x03\x02\x01\x01",
        b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
    ):
        with pytest.raises(ValueError):
            x509.load(data)


# -- OpenSSL --------------------------------------------------------------------------------


def test_openssl_shows_sm2_with_sm3(pki: Hierarchy, tmp_path: Path) -> None:
    leaf = write_pem(tmp_path, "leaf.pem", pki.leaf)
    shown = openssl("x509", "-in", leaf, "-noout", "-text", "-nameopt", "utf8")
    assert shown.returncode == 0, shown.stderr
    assert "Signature Algorithm: SM2-with-SM3" in shown.stdout
    assert "ASN1 OID: SM2" in shown.stdout
    assert "Digital Signature, Non Repudiation" in shown.stdout
    assert "CA:FALSE" in shown.stdout
    assert "长沙市交通运输局" in shown.stdout
    assert "serialNumber=11430100006122244L" in shown.stdout


def test_openssl_verifies_every_link_with_the_default_id(pki: Hierarchy, tmp_path: Path) -> None:
    root = write_pem(tmp_path, "root.pem", pki.root)
    ca = write_pem(tmp_path, "ca.pem", pki.ca)
    leaf = write_pem(tmp_path, "leaf.pem", pki.leaf)
    # `openssl verify -vfyopt` sets the SM2 ID on the target certificate only, so OpenSSL 3.0
    # checks a chain one link at a time: root → provincial CA, then provincial CA → signer.
    # -attime keeps the check on the fixed test clock.
    at = str(int(NOW.timestamp()))
    ca_link = openssl("verify", "-attime", at, "-vfyopt", DISTID, "-CAfile", root, ca)
    assert ca_link.stdout.strip() == f"{ca}: OK", ca_link.stdout + ca_link.stderr
    leaf_link = openssl(
        "verify", "-attime", at, "-vfyopt", DISTID, "-partial_chain", "-CAfile", ca, leaf
    )
    assert leaf_link.stdout.strip() == f"{leaf}: OK", leaf_link.stdout + leaf_link.stderr


# -- verify_chain ---------------------------------------------------------------------------


def test_good_chains_verify(pki: Hierarchy) -> None:
    x509.verify_chain([pki.leaf, pki.ca], [pki.root], NOW)
    x509.verify_chain([pki.leaf, pki.ca, pki.root], [pki.root], NOW)
    x509.verify_chain([pki.ca], [pki.root], NOW)
    x509.verify_chain([pki.root], [pki.root], NOW)
    other_root = x509.make_root(
        sm.generate_private_key(), x509.Name("其他根CA"), NOW, NOW + timedelta(days=1)
    )
    x509.verify_chain([pki.leaf, pki.ca], [other_root, pki.root], NOW)


def test_tampered_signature(pki: Hierarchy) -> None:
    forged = bytearray(pki.leaf)
    forged[-1] ^= 0x01  # last octet of s
    expect_chain_error("chain.signature", [bytes(forged), pki.ca], [pki.root], NOW)


def test_tampered_content(pki: Hierarchy) -> None:
    serial_octet = pki.leaf.index(x509.load(pki.leaf).serial.to_bytes(20, "big"))
    altered = bytearray(pki.leaf)
    altered[serial_octet + 5] ^= 0x01
    expect_chain_error("chain.signature", [bytes(altered), pki.ca], [pki.root], NOW)


def test_expired_and_not_yet_valid(pki: Hierarchy) -> None:
    expect_chain_error("chain.expired", [pki.leaf, pki.ca], [pki.root], NOW + timedelta(days=91))
    expect_chain_error(
        "chain.not_yet_valid", [pki.leaf, pki.ca], [pki.root], NOW - timedelta(days=11)
    )
    # The root's own validity counts even when it is only in trusted_roots.
    expect_chain_error("chain.expired", [pki.ca], [pki.root], NOW + timedelta(days=7301))


def test_leaf_used_as_issuer_is_not_a_ca(pki: Hierarchy) -> None:
    rogue_key = sm.generate_private_key()
    rogue = x509.issue_certificate(
        subject=x509.Name("冒充的签名证书"),
        subject_public_key=rogue_key.public_key(),
        issuer=AUTHORITY_NAME,
        issuer_key=pki.leaf_key,
        issuer_cert_der=None,
        serial=None,
        not_before=NOW - timedelta(days=1),
        not_after=NOW + timedelta(days=1),
        is_ca=False,
        path_length=None,
        key_usage={"digital_signature"},
    )
    expect_chain_error("chain.not_ca", [rogue, pki.leaf, pki.ca], [pki.root], NOW)


def test_path_length_of_provincial_ca(pki: Hierarchy) -> None:
    sub_key, leaf_key = sm.generate_private_key(), sm.generate_private_key()
    sub_ca = x509.make_intermediate(
        sub_key.public_key(), x509.Name("市级CA"), pki.ca_key, pki.ca, NOW, NOW + timedelta(days=9)
    )
    leaf = x509.make_signing(
        leaf_key.public_key(), x509.Name("签名"), sub_key, sub_ca, NOW, NOW + timedelta(days=9)
    )
    expect_chain_error("chain.not_ca", [leaf, sub_ca, pki.ca], [pki.root], NOW)


def test_untrusted_roots(pki: Hierarchy) -> None:
    stranger = build_hierarchy(x509.Name("某商业CA根证书"))
    expect_chain_error("chain.untrusted", [pki.leaf, pki.ca], [stranger.root], NOW)
    expect_chain_error("chain.untrusted", [pki.leaf, pki.ca], [], NOW)
    # A look-alike root with the trusted root's name but another key.
    impostor = build_hierarchy(ROOT_NAME)
    expect_chain_error(
        "chain.untrusted", [impostor.leaf, impostor.ca, impostor.root], [pki.root], NOW
    )
    # Without the impostor root in the chain, its CA names the trusted root as issuer, but the
    # trusted root's key did not sign it: a signature failure.
    expect_chain_error("chain.signature", [impostor.leaf, impostor.ca], [pki.root], NOW)


def test_broken_linkage(pki: Hierarchy) -> None:
    stranger = build_hierarchy(x509.Name("某商业CA根证书"))
    expect_chain_error("chain.linkage", [pki.leaf, pki.root], [pki.root], NOW)
    expect_chain_error("chain.linkage", [pki.leaf, stranger.ca], [pki.root], NOW)
    # Same name as the provincial CA, different key: names link, key identifiers do not.
    twin = x509.make_intermediate(
        sm.generate_private_key().public_key(),
        PROVINCE_NAME,
        pki.root_key,
        pki.root,
        NOW - timedelta(days=1),
        NOW + timedelta(days=9),
    )
    expect_chain_error("chain.linkage", [pki.leaf, twin], [pki.root], NOW)


def test_malformed_input(pki: Hierarchy, tmp_path: Path) -> None:
    expect_chain_error("chain.malformed", [], [pki.root], NOW)
    expect_chain_error("chain.malformed", [b"junk"], [pki.root], NOW)
    expect_chain_error("chain.malformed", [pki.leaf[:-10], pki.ca], [pki.root], NOW)
    expect_chain_error("chain.malformed", [pki.leaf, pki.ca], [b"junk"], NOW)
    key = tmp_path / "p256.pem"
    cert = tmp_path / "p256.crt"
    assert (
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key).returncode == 0
    )
    made = openssl(
        "req", "-x509", "-new", "-key", key, "-subj", "/CN=p256", "-days", "1", "-out", cert
    )
    assert made.returncode == 0, made.stderr
    p256 = x509.from_pem(cert.read_text(encoding="ascii"))[0]
    expect_chain_error("chain.malformed", [p256], [pki.root], NOW)


def test_naive_time_is_a_programming_error(pki: Hierarchy) -> None:
    with pytest.raises(ValueError):
        x509.verify_chain([pki.leaf, pki.ca], [pki.root], datetime(2026, 6, 1))

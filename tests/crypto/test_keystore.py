"""The key store interface and the sealed-file key store."""

from __future__ import annotations

import inspect
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from roadcert.crypto import sm, sm4, x509
from roadcert.crypto.keystore import FileKeyStore, KeyStore, KeyStoreError

PASSPHRASE = "测试口令 test passphrase"
FAST = sm4.ScryptParams(log2_n=10, r=8, p=1)


def make_store(directory: Path, passphrase: str = PASSPHRASE) -> FileKeyStore:
    return FileKeyStore(directory, passphrase, kdf=FAST)


def protocol_methods() -> list[str]:
    return [
        name
        for name, member in vars(KeyStore).items()
        if inspect.isfunction(member) and not name.startswith("_")
    ]


def test_file_store_fits_the_protocol(tmp_path: Path) -> None:
    assert isinstance(make_store(tmp_path / "keys"), KeyStore)
    methods = protocol_methods()
    assert {"generate", "public_key", "sign", "exists", "labels", "destroy"} <= set(methods)
    for name in methods:
        expected = inspect.signature(getattr(KeyStore, name))
        actual = inspect.signature(getattr(FileKeyStore, name))
        assert actual == expected, f"{name}: {actual} != {expected}"


def test_generate_sign_verify(tmp_path: Path) -> None:
    store = make_store(tmp_path / "keys")
    public = store.generate("signing-11430100006122244l-2026")
    assert store.exists("signing-11430100006122244l-2026")
    assert sm.public_key_xy(
        store.public_key("signing-11430100006122244l-2026")
    ) == sm.public_key_xy(public)
    signature = store.sign("signing-11430100006122244l-2026", b"e-cert")
    assert sm.verify(public, b"e-cert", signature)
    sign = store.signer("signing-11430100006122244l-2026")
    assert sm.verify(public, b"bulk", sign(b"bulk"))


def test_keys_persist_across_instances(tmp_path: Path) -> None:
    public = make_store(tmp_path).generate("root")
    reopened = make_store(tmp_path)
    assert reopened.labels() == ["root"]
    assert sm.public_key_xy(reopened.public_key("root")) == sm.public_key_xy(public)
    assert sm.verify(public, b"data", reopened.sign("root", b"data"))


def test_wrong_passphrase_on_a_new_instance(tmp_path: Path) -> None:
    make_store(tmp_path).generate("root")
    intruder = make_store(tmp_path, "not the passphrase")
    assert intruder.exists("root")
    for attempt in (
        lambda: intruder.sign("root", b"x"),
        lambda: intruder.public_key("root"),
        lambda: intruder.signer("root"),
    ):
        with pytest.raises(KeyStoreError) as caught:
            attempt()
        assert caught.value.code == "keystore.passphrase"


def test_file_and_directory_modes(tmp_path: Path) -> None:
    store = make_store(tmp_path / "keys")
    store.generate("root")
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "keys" / "root.key").stat().st_mode) == 0o600
    assert sorted(path.name for path in (tmp_path / "keys").iterdir()) == ["root.key"]


def test_existing_open_directory_is_tightened(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    make_store(directory)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_key_files_are_sealed_pkcs8(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    store.generate("root")
    blob = (tmp_path / "root.key").read_bytes()
    assert blob.startswith(sm4.MAGIC)
    assert sm4.open_sealed(blob, PASSPHRASE)[:1] == b"\x30"


@pytest.mark.parametrize(
    "label",
    ["../x", "", "Root", "a/b", "a" * 129, ".hidden", "-x", "a\n", "a b", "x\\y", "根"],
)
def test_bad_labels_are_refused(tmp_path: Path, label: str) -> None:
    store = make_store(tmp_path / "keys")
    for attempt in (
        lambda: store.generate(label),
        lambda: store.exists(label),
        lambda: store.sign(label, b"x"),
        lambda: store.public_key(label),
        lambda: store.destroy(label),
    ):
        with pytest.raises(KeyStoreError) as caught:
            attempt()
        assert caught.value.code == "keystore.label"
    assert not (tmp_path / "x.key").exists()


def test_longest_label_is_allowed(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    store.generate("a" * 128)
    assert store.labels() == ["a" * 128]


def test_no_overwrite(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    first = store.generate("root")
    before = (tmp_path / "root.key").read_bytes()
    with pytest.raises(KeyStoreError) as caught:
        store.generate("root")
    assert caught.value.code == "keystore.exists"
    with pytest.raises(KeyStoreError):
        make_store(tmp_path).generate("root")
    assert (tmp_path / "root.key").read_bytes() == before
    assert sm.public_key_xy(make_store(tmp_path).public_key("root")) == sm.public_key_xy(first)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["root.key"]


def test_missing_and_destroyed_keys(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    with pytest.raises(KeyStoreError) as caught:
        store.sign("nothing", b"x")
    assert caught.value.code == "keystore.missing"
    store.generate("b-key")
    store.generate("a-key")
    assert store.labels() == ["a-key", "b-key"]
    store.destroy("a-key")
    assert store.labels() == ["b-key"]
    assert not store.exists("a-key")
    with pytest.raises(KeyStoreError) as caught:
        store.sign("a-key", b"x")
    assert caught.value.code == "keystore.missing"
    with pytest.raises(KeyStoreError) as caught:
        store.destroy("a-key")
    assert caught.value.code == "keystore.missing"


def test_damaged_key_file(tmp_path: Path) -> None:
    make_store(tmp_path).generate("root")
    path = tmp_path / "root.key"
    damaged = bytearray(path.read_bytes())
    damaged[-3] ^= 0xFF
    path.write_bytes(bytes(damaged))
    with pytest.raises(KeyStoreError) as caught:
        make_store(tmp_path).sign("root", b"x")
    assert caught.value.code == "keystore.corrupt"
    (tmp_path / "other.key").write_bytes(sm4.seal(b"not a key", PASSPHRASE, params=FAST))
    with pytest.raises(KeyStoreError) as caught:
        make_store(tmp_path).sign("other", b"x")
    assert caught.value.code == "keystore.corrupt"


def test_decrypted_keys_are_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_store(tmp_path).generate("root")
    store = make_store(tmp_path)
    calls: list[int] = []
    real_open = sm4.open_sealed

    def counting_open(blob: bytes, passphrase: str) -> bytes:
        calls.append(1)
        return real_open(blob, passphrase)

    monkeypatch.setattr(sm4, "open_sealed", counting_open)
    for _ in range(50):
        store.sign("root", b"x")
    store.public_key("root")
    store.signer("root")(b"y")
    assert len(calls) == 1


def test_empty_passphrase_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError) as caught:
        FileKeyStore(tmp_path, "")
    assert caught.value.code == "keystore.passphrase"


def test_certificates_issued_without_the_key_leaving_the_store(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    now = datetime.now(UTC)
    root_public = store.generate("root")
    root = x509.issue_certificate(
        subject=x509.Name("根CA"),
        subject_public_key=root_public,
        issuer=None,
        issuer_key=store.signer("root"),
        issuer_cert_der=None,
        serial=None,
        not_before=now - timedelta(minutes=5),
        not_after=now + timedelta(days=30),
        is_ca=True,
        path_length=None,
        key_usage={"key_cert_sign", "crl_sign"},
    )
    leaf = x509.make_signing(
        store.generate("signer"),
        x509.Name("签名"),
        store.signer("root"),
        root,
        now - timedelta(minutes=5),
        now + timedelta(days=1),
    )
    x509.verify_chain([leaf], [root], now)
    with pytest.raises(ValueError):
        x509.make_signing(
            store.public_key("signer"),
            x509.Name("签名"),
            store.signer("signer"),  # not the root's key
            root,
            now,
            now + timedelta(days=1),
        )

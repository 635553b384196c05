"""Where private signing keys live: the ``KeyStore`` interface and its file implementation.

The interface is what issuance code depends on, so that an HSM-backed store can replace the file
store later without touching callers. ``FileKeyStore`` keeps one ``<label>.key`` file per key, each
the ``sm4.seal`` of the PKCS#8 DER private key under the store's passphrase.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import stat
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from tongsuopy.crypto import serialization

from roadcert.crypto import sm, sm4
from roadcert.crypto.errors import KeyStoreError
from roadcert.crypto.sm import PrivateKey, PublicKey

__all__ = ["LABEL_PATTERN", "FileKeyStore", "KeyStore", "KeyStoreError", "check_label"]

# Labels become file names, so the alphabet leaves no room for separators or "..".
LABEL_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,127}")
_SUFFIX = ".key"


def check_label(label: str) -> str:
    """Return ``label`` if it is an allowed key label, else raise ``KeyStoreError``."""
    if not isinstance(label, str) or LABEL_PATTERN.fullmatch(label) is None:
        raise KeyStoreError(
            "keystore.label",
            f"密钥标签不合法 / invalid key label {label!r}: use 1-128 characters from a-z, 0-9, "
            "'.', '_', '-', starting with a letter or digit",
        )
    return label


@runtime_checkable
class KeyStore(Protocol):
    """A store of SM2 signing keys addressed by label; private keys never leave it."""

    def generate(self, label: str) -> PublicKey:
        """Create a new key under ``label`` (which must be unused); return its public key."""
        ...

    def public_key(self, label: str) -> PublicKey:
        """Return the public key stored under ``label``."""
        ...

    def sign(self, label: str, data: bytes) -> bytes:
        """Sign ``data`` with SM2/SM3 (default user ID) using key ``label``; DER signature."""
        ...

    def exists(self, label: str) -> bool:
        """Whether a key is stored under ``label``."""
        ...

    def labels(self) -> list[str]:
        """All labels in the store, sorted."""
        ...

    def destroy(self, label: str) -> None:
        """Delete the key under ``label`` for good (e.g. a compromised key)."""
        ...

    def signer(self, label: str) -> Callable[[bytes], bytes]:
        """Return a function signing with key ``label`` (DER signature), for bulk signing.

        It is also what ``x509.issue_certificate`` takes as ``issuer_key``, so certificates
        can be issued without the private key leaving the store.
        """
        ...


class FileKeyStore:
    """Keys sealed with SM4 under one passphrase, one file per key, in a private directory.

    Decrypted keys are cached in memory for the life of the object: unsealing runs scrypt, and
    bulk issuance signs thousands of e-certs with the same key.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        passphrase: str,
        *,
        kdf: sm4.ScryptParams = sm4.DEFAULT_SCRYPT,
    ) -> None:
        if not isinstance(passphrase, str) or not passphrase:
            raise KeyStoreError(
                "keystore.passphrase", "密钥库口令不能为空 / the key store passphrase is empty"
            )
        self._directory = Path(directory)
        self._passphrase = passphrase
        self._kdf = kdf
        self._cache: dict[str, PrivateKey] = {}
        self._lock = threading.Lock()
        try:
            self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            mode = stat.S_IMODE(self._directory.stat().st_mode)
            if mode & 0o077:
                # Only the service account should even list which keys exist.
                self._directory.chmod(0o700)
        except OSError as exc:
            raise _io_error(f"cannot prepare key directory {self._directory}", exc) from exc

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Bulk issuance hands the store to worker processes: each reopens the directory with
        # the passphrase and unseals keys itself (decrypted keys never cross the pipe).
        return (functools.partial(FileKeyStore, kdf=self._kdf), (self._directory, self._passphrase))

    @property
    def directory(self) -> Path:
        """The directory holding the ``.key`` files."""
        return self._directory

    def generate(self, label: str) -> PublicKey:
        """Create and store a new SM2 key under ``label``; refuse a label already in use."""
        path = self._path(label)
        if path.exists():
            raise _exists(label)
        key = sm.generate_private_key()
        pkcs8 = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        self._write_new(path, label, sm4.seal(pkcs8, self._passphrase, params=self._kdf))
        with self._lock:
            self._cache[label] = key
        return key.public_key()

    def public_key(self, label: str) -> PublicKey:
        """Return the public key of ``label``."""
        return self._private_key(label).public_key()

    def sign(self, label: str, data: bytes) -> bytes:
        """Sign ``data`` with key ``label``; return a DER SM2 signature."""
        return sm.sign(self._private_key(label), data)

    def signer(self, label: str) -> Callable[[bytes], bytes]:
        """Return a function that signs with key ``label``, for bulk signing without lookups."""
        key = self._private_key(label)

        def sign_with_key(data: bytes) -> bytes:
            return sm.sign(key, data)

        return sign_with_key

    def exists(self, label: str) -> bool:
        """Whether a key file for ``label`` exists."""
        return self._path(label).is_file()

    def labels(self) -> list[str]:
        """All valid labels with a key file, sorted."""
        found = []
        for entry in self._directory.glob(f"*{_SUFFIX}"):
            label = entry.name[: -len(_SUFFIX)]
            if LABEL_PATTERN.fullmatch(label) and entry.is_file():
                found.append(label)
        return sorted(found)

    def destroy(self, label: str) -> None:
        """Delete the key file of ``label`` and forget the cached key."""
        path = self._path(label)
        with self._lock:
            self._cache.pop(label, None)
        try:
            path.unlink()
        except FileNotFoundError as exc:
            raise _missing(label) from exc
        except OSError as exc:
            raise _io_error(f"cannot delete key {label!r}", exc) from exc
        _fsync_directory(self._directory)

    def _path(self, label: str) -> Path:
        return self._directory / f"{check_label(label)}{_SUFFIX}"

    def _private_key(self, label: str) -> PrivateKey:
        cached = self._cache.get(label)
        if cached is not None:
            return cached
        path = self._path(label)
        try:
            blob = path.read_bytes()
        except FileNotFoundError as exc:
            raise _missing(label) from exc
        except OSError as exc:
            raise _io_error(f"cannot read key {label!r}", exc) from exc
        pkcs8 = sm4.open_sealed(blob, self._passphrase)
        try:
            key = serialization.load_der_private_key(pkcs8, password=None)
        except Exception as exc:  # a sealed blob that decrypts but holds no key
            raise KeyStoreError(
                "keystore.corrupt",
                f"密钥文件内容无效 / key file {path.name} does not hold a private key",
            ) from exc
        with self._lock:
            # Another thread may have loaded it meanwhile; keep the first so callers share one.
            return self._cache.setdefault(label, key)

    def _write_new(self, path: Path, label: str, content: bytes) -> None:
        """Write ``content`` to ``path`` atomically, mode 0600, never replacing an existing file."""
        descriptor, temporary_name = tempfile.mkstemp(
            dir=self._directory, prefix=f".{label}.", suffix=".tmp"
        )
        temporary = Path(temporary_name)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                os.fchmod(handle.fileno(), 0o600)
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            # link() fails if the name exists, so a key generated concurrently under the same
            # label is never overwritten; os.replace would silently clobber it.
            try:
                os.link(temporary, path)
            except FileExistsError as exc:
                raise _exists(label) from exc
            except OSError:
                # Some file systems have no hard links; fall back to a rename after re-checking.
                if path.exists():
                    raise _exists(label) from None
                os.replace(temporary, path)
            _fsync_directory(self._directory)
        except KeyStoreError:
            raise
        except OSError as exc:
            raise _io_error(f"cannot write key {label!r}", exc) from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()


def _fsync_directory(directory: Path) -> None:
    # Makes the new or removed directory entry durable; not every platform allows it.
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _exists(label: str) -> KeyStoreError:
    return KeyStoreError(
        "keystore.exists", f"密钥已存在 / a key labelled {label!r} already exists; not replaced"
    )


def _missing(label: str) -> KeyStoreError:
    return KeyStoreError("keystore.missing", f"密钥不存在 / no key labelled {label!r}")


def _io_error(what: str, exc: OSError) -> KeyStoreError:
    return KeyStoreError("keystore.io", f"密钥库读写失败 / {what}: {exc.strerror or exc}")

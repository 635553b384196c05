"""Errors raised by the crypto package, each carrying a stable machine-readable code."""

from __future__ import annotations


class CryptoError(Exception):
    """Base of the crypto package's errors: a dotted ``code`` and a human message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class KeyStoreError(CryptoError):
    """A key store or sealed blob could not be used.

    Codes: ``keystore.passphrase`` (wrong passphrase), ``keystore.corrupt`` (damaged or altered
    data), ``keystore.missing`` (no such label), ``keystore.exists`` (label already taken),
    ``keystore.label`` (label not allowed), ``keystore.io`` (the file system refused).
    """


class ChainError(CryptoError):
    """A certificate chain did not verify.

    Codes: ``chain.signature``, ``chain.expired``, ``chain.not_yet_valid``, ``chain.not_ca``,
    ``chain.untrusted``, ``chain.linkage``, ``chain.malformed``.
    """

    def __init__(self, reason_code: str, message: str) -> None:
        super().__init__(reason_code, message)

    @property
    def reason_code(self) -> str:
        """The reason code, the same as ``code``."""
        return self.code

"""E-cert identifiers (电子证照标识, GB/T 36904-2018): build, parse and check.

Structure::

    1.2.156.3005.2.<type code 21>.<issuer USCC 18>.<serial>.<version 3 digits>.<check>

The check character is ISO/IEC 7064 MOD 37,36 over type code + issuer + serial + version joined
without dots and without the root (``stdnum.iso7064.mod_37_36``). A change, reissue or renewal
keeps the serial and raises the version (``001`` → ``002``).

Some Shandong identifiers made by epoint software carry a check character from a home-made variant
of the algorithm (see :func:`_legacy_check_char`); :func:`check` reports those as LEGACY so they
can be recognised but never pass as valid.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from functools import lru_cache

from stdnum.iso7064 import mod_37_36

from roadcert.kit.checks import Check

ROOT = "1.2.156.3005.2"
"""Root code (电子证照根代码) every identifier starts with."""

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
"""Characters allowed in every segment after the root (upper case only)."""

TYPE_CODE_LENGTH = 21
ISSUER_CODE_LENGTH = 18
SERIAL_LENGTH = 20
"""Length of serials made by :func:`new_serial`; parsed serials may have any non-zero length."""


def _standard_check_char(body: str) -> str:
    return str(mod_37_36.calc_check_digit(body))


def _legacy_check_char(body: str) -> str:
    """The check character of the Shandong/epoint variant (``CertCheckUtil.getCheckCode``).

    It follows the shape of ISO 7064 MOD 37,36 (start at 36; add the character; reduce to
    1–36; double modulo 37) but departs from it three ways:

    - letters count one more than ISO 7064 says (A = 11 … Z = 36), digits as themselves;
    - before the reduction to 1–36, a running sum above 37 after a letter is first taken modulo 37,
      and one above 36 after a digit modulo 36;
    - the check character is the one at position 36 − P in ``0-9A-Z`` (ISO 7064 would use
      (37 − P) mod 36), so it is off by one even for all-digit input.

    Rule learnt by reading the public epoint class (its code is not reused here) and confirmed on
    Shandong's real identifier
    ``…11100000000013661B006.113700000045046442.209FA4E88F9E4C878F3E9BED2CE7EA49.001.M``:
    this gives ``M`` where ISO 7064 gives ``D``.
    """
    product = 36
    for ch in body:
        is_letter = ch.isalpha()
        value = ALPHABET.index(ch) + (1 if is_letter else 0)
        running = product + value
        if is_letter and running > 37:
            running %= 37
        elif not is_letter and running > 36:
            running %= 36
        running = running % 36 or 36
        product = running * 2 % 37
    return ALPHABET[36 - product]


def _structure_problem(
    type_code: str, issuer_code: str, serial: str, version: str, check_char: str
) -> Check | None:
    """The first structural rule the segments break (not the check character), or None."""
    segments = (type_code, issuer_code, serial, version, check_char)
    if any(not segment for segment in segments) or len(check_char) != 1:
        return Check.invalid(
            "ecert_id.structure",
            "电子证照标识应为 根代码.证照类型代码.颁发机构代码.流水号.版本号.校验位，"
            "各段不得为空，校验位为 1 位",
        )
    bad = sorted({ch for segment in segments for ch in segment if ch not in ALPHABET})
    if bad:
        return Check.invalid(
            "ecert_id.charset",
            f"电子证照标识含不允许的字符：{'、'.join(map(repr, bad))}（只能用数字和大写字母）",
        )
    if len(type_code) != TYPE_CODE_LENGTH:
        return Check.invalid(
            "ecert_id.type_code_length",
            f"证照类型代码应为 {TYPE_CODE_LENGTH} 位，实为 {len(type_code)} 位",
        )
    if len(issuer_code) != ISSUER_CODE_LENGTH:
        return Check.invalid(
            "ecert_id.issuer_length",
            f"颁发机构代码应为 {ISSUER_CODE_LENGTH} 位统一社会信用代码，实为 {len(issuer_code)} 位",
        )
    if len(version) != 3 or not version.isdigit() or version == "000":
        return Check.invalid("ecert_id.version", f"版本号应为 001–999 的 3 位数字，实为 {version}")
    return None


@dataclass(frozen=True)
class EcertId:
    """A structurally sound e-cert identifier; the check character is kept as given.

    Construct with :func:`build` (computes the check) or :func:`parse` (keeps what was written);
    whether the check character is right is :func:`check`'s question.
    """

    type_code: str
    issuer_code: str
    serial: str
    version: int
    check_char: str

    def __post_init__(self) -> None:
        if not 1 <= self.version <= 999:
            raise ValueError(f"版本号应在 1–999 之间，实为 {self.version}")
        problem = _structure_problem(
            self.type_code, self.issuer_code, self.serial, self.version_text, self.check_char
        )
        if problem is not None:
            raise ValueError(problem.message)

    @property
    def version_text(self) -> str:
        """The version as written in the identifier, three digits (``"001"``)."""
        return f"{self.version:03d}"

    @property
    def body(self) -> str:
        """Type code + issuer + serial + version without dots: the check character's input."""
        return self.type_code + self.issuer_code + self.serial + self.version_text

    def __str__(self) -> str:
        return ".".join(
            (
                ROOT,
                self.type_code,
                self.issuer_code,
                self.serial,
                self.version_text,
                self.check_char,
            )
        )

    def with_version(self, version: int) -> EcertId:
        """The same certificate at another version, with its check character recomputed."""
        return build(self.type_code, self.issuer_code, self.serial, version)


def build(type_code: str, issuer_code: str, serial: str, version: int) -> EcertId:
    """Build an identifier with the standard check character; ``ValueError`` on bad segments."""
    if not 1 <= version <= 999:
        raise ValueError(f"版本号应在 1–999 之间，实为 {version}")
    problem = _structure_problem(type_code, issuer_code, serial, f"{version:03d}", "0")
    if problem is not None:
        raise ValueError(problem.message)
    body = type_code + issuer_code + serial + f"{version:03d}"
    return EcertId(type_code, issuer_code, serial, version, _standard_check_char(body))


def _split(text: str) -> tuple[str, str, str, str, str] | Check:
    text = text.strip()
    if not text.startswith(ROOT + "."):
        return Check.invalid("ecert_id.root", f"电子证照标识应以根代码 {ROOT}. 开头")
    parts = text[len(ROOT) + 1 :].split(".")
    if len(parts) != 5:
        return Check.invalid(
            "ecert_id.structure",
            "电子证照标识根代码后应有 5 段（类型代码、颁发机构代码、流水号、版本号、校验位），"
            f"实有 {len(parts)} 段",
        )
    type_code, issuer_code, serial, version, check_char = parts
    problem = _structure_problem(type_code, issuer_code, serial, version, check_char)
    if problem is not None:
        return problem
    return type_code, issuer_code, serial, version, check_char


def parse(text: str) -> EcertId:
    """Parse an identifier's structure; ``ValueError`` with a Chinese message if malformed.

    The check character is kept, not verified: use :func:`check` to judge it.
    """
    split = _split(text)
    if isinstance(split, Check):
        raise ValueError(split.message)
    type_code, issuer_code, serial, version, check_char = split
    return EcertId(type_code, issuer_code, serial, int(version), check_char)


def check(text: str) -> Check:
    """Check an identifier.

    Rules: ``ecert_id.root``, ``ecert_id.structure``, ``ecert_id.charset``,
    ``ecert_id.type_code_length``, ``ecert_id.issuer_length``, ``ecert_id.version``,
    ``ecert_id.check_char``; a check character that is wrong by ISO 7064 but right by the
    Shandong/epoint variant gives LEGACY with rule ``ecert_id.legacy_check_char``.
    """
    split = _split(text)
    if isinstance(split, Check):
        return split
    body = "".join(split[:4])
    written = split[4]
    expected = _standard_check_char(body)
    if written == expected:
        return Check.valid("ecert_id", "电子证照标识有效")
    if written == _legacy_check_char(body):
        return Check.legacy(
            "ecert_id.legacy_check_char",
            f"电子证照标识校验位 {written} 按山东（epoint）非标准算法计算，"
            f"按 GB/T 36904（ISO/IEC 7064 MOD 37,36）应为 {expected}",
        )
    return Check.invalid(
        "ecert_id.check_char", f"电子证照标识校验位错误：应为 {expected}，实为 {written}"
    )


#: Leading characters of a new serial that carry the time (base 36 milliseconds since 1970:
#: nine characters last until the year 5138).
SERIAL_TIME_LENGTH = 9


#: Random bytes to serial characters: each byte value to one of 32 characters of the alphabet
#: (256 = 8 x 32, so every character is equally likely).
_RANDOM_CHARACTERS = bytes(ord(ALPHABET[4 + value % 32]) for value in range(256))


def new_serial(rng: random.Random, millis: int | None = None) -> str:
    """A fresh serial (流水号) of 20 characters of ``[0-9A-Z]``: the time of issue in
    milliseconds (``millis``, by default now) in base 36, then 11 random characters, each one
    of the 32 characters ``4``–``9``, ``A``–``Z``.

    Unique, not secret: 32**11 (2**55) random values per millisecond and issuer. The time
    in front makes identifiers of one type and issuer sort in order of issue, so the indexes on
    ``Ecert.identifier`` and (serial, version) grow at their end instead of at a random page each
    (measured: a fifth of the SQLite insert time of bulk issuance). GB/T 36904 leaves the serial
    to the issuer; sequential forms such as "year + number" are in use beside random ones.
    """
    if millis is None:
        millis = time.time_ns() // 1_000_000
    # Bulk issuance makes thousands a second: the stamp is worked out once per millisecond.
    # One C call for the random part (rng.choices took 4 us a serial in bulk issuance).
    random_part = rng.randbytes(SERIAL_LENGTH - SERIAL_TIME_LENGTH).translate(_RANDOM_CHARACTERS)
    return _stamp(millis) + random_part.decode("ascii")


@lru_cache(maxsize=1)
def _stamp(millis: int) -> str:
    digits = []
    for _ in range(SERIAL_TIME_LENGTH):
        millis, digit = divmod(millis, 36)
        digits.append(ALPHABET[digit])
    if millis:
        raise ValueError("时间超出流水号可表示的范围")
    return "".join(reversed(digits))


class Builder:
    """Builds many identifiers of one type and issuer, for bulk issuance.

    Checks the type and issuer segments once and keeps the MOD 37,36 state after them
    (``stdnum``'s checksum of the prefix), so each identifier costs the check over its serial
    and version only. Gives the same identifier as :func:`build`.
    """

    _MODULUS = len(ALPHABET)

    def __init__(self, type_code: str, issuer_code: str) -> None:
        problem = _structure_problem(type_code, issuer_code, "0", "001", "0")
        if problem is not None:
            raise ValueError(problem.message)
        self.type_code = type_code
        self.issuer_code = issuer_code
        self._state = mod_37_36.checksum(type_code + issuer_code)
        self._prefix = f"{ROOT}.{type_code}.{issuer_code}"
        self._value = {ch: i for i, ch in enumerate(ALPHABET)}

    def identifier(self, serial: str, version: int = 1) -> str:
        """The identifier text for ``serial`` (characters of ``ALPHABET``) at ``version``.

        The same text as ``str(build(type_code, issuer_code, serial, version))``.
        """
        if not 1 <= version <= 999 or not serial:
            raise ValueError(f"流水号不得为空，版本号应在 1–999 之间，实为 {version}")
        modulus, value = self._MODULUS, self._value
        check = self._state
        version_text = f"{version:03d}"
        # The update step of ISO 7064 MOD 37,36, as stdnum.iso7064.mod_37_36.checksum does it.
        for ch in serial + version_text:
            check = (((check or modulus) * 2) % (modulus + 1) + value[ch]) % modulus
        check_char = ALPHABET[(1 - ((check or modulus) * 2) % (modulus + 1)) % modulus]
        return f"{self._prefix}.{serial}.{version_text}.{check_char}"

"""Who sees what of an e-cert outside its holder and its authority (seed 002 §6.3, §7.3).

An officer (执法人员) or the provincial admin signed in sees the full data of a verified e-cert;
anyone else — the public scanning a code, the public query — sees masked values only: the
surname (张■), two leading characters of a number (22■■■■), the plate's province, city letter
and first character (吉A0■■■■). The number of a 从业资格证 *is* its holder's ID number, so
every certificate number is masked, never just the holder code.

Pure functions over plain values; the rules of the single items live in :mod:`roadcert.kit.masking`.
"""

from __future__ import annotations

import re
from typing import Any, Final

from roadcert.accounts.models import Role
from roadcert.accounts.policy import Principal
from roadcert.kit.masking import mask_code, mask_name, mask_plate

#: Roles that see the full data of whatever code they verify.
FULL_VIEW_ROLES: Final = frozenset({Role.OFFICER, Role.ADMIN})

# How faces.plate_text prints a plate: 吉A12345（黄色）.
_PLATE_WITH_COLOUR: Final = re.compile(r"(?P<plate>[^（）]*)(?P<colour>（[^（）]*）)?")
# A certificate number's fixed wording (吉交运管许可长字 … 号) is no secret; its digits are.
_NUMBER_PARTS: Final = re.compile(r"(?P<head>\D*)(?P<body>.*?)(?P<tail>号?)", re.DOTALL)
_KEPT_DIGITS: Final = 2


def sees_full_data(principal: Principal | None) -> bool:
    """True for an officer or the provincial admin; everyone else is the public here."""
    return principal is not None and principal.role in FULL_VIEW_ROLES


def public_number(number: str) -> str:
    """A certificate number for the public: wording kept, two digits kept, the rest masked.

    220122198302284055 → 22■■■■■■■■■■■■■■■■; 吉交运管许可长字220102000123号 →
    吉交运管许可长字22■■■■■■■■■■号.
    """
    match = _NUMBER_PARTS.fullmatch(number.strip())
    if match is None or not match.group("body"):  # no digits at all: mask like any code
        return mask_code(number)
    return match.group("head") + mask_code(match.group("body"), _KEPT_DIGITS) + match.group("tail")


def public_plate(text: str) -> str:
    """A plate as printed, masked: 吉A01234（黄色） → 吉A0■■■■（黄色）."""
    match = _PLATE_WITH_COLOUR.fullmatch(text.strip())
    if match is None:
        return mask_plate(text)
    return mask_plate(match.group("plate")) + (match.group("colour") or "")


def public_code(code: str) -> str:
    """A holder code (USCC or ID number) for the public: two leading characters only."""
    return mask_code(code, _KEPT_DIGITS)


def public_face(face: dict[str, Any]) -> dict[str, Any]:
    """The face data of a verified code (``service.claims_view``) as the public may see it.

    Name, number, holder code and plate masked; business scope, qualification categories,
    driving class, dates and the identifier (which names only the issuer) are public.
    """
    out = dict(face)
    out["holder_name"] = mask_name(face.get("holder_name", ""))
    out["number"] = public_number(face.get("number", ""))
    out["holder_code"] = public_code(face.get("holder_code", ""))
    items = dict(face.get("items") or {})
    if isinstance(items.get("plate"), str):
        items["plate"] = public_plate(items["plate"])
    out["items"] = items
    out["masked"] = True
    return out

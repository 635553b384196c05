"""QR codes of e-certs: encode (module matrix, PNG) and decode photos of codes, with zxing-cpp.

The payload text (``HTTPS://HOST/R/BASE32``) uses only QR alphanumeric-mode characters, and
zxing-cpp's encoder picks that mode for such text by itself (11 bits per two characters instead
of 8 per character): 600 such characters fit version 15 at level M, which byte mode could not
hold. ``tests/render/test_qr.py`` checks that, so a change in the library would show.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Final

import zxingcpp
from PIL import Image, ImageOps, UnidentifiedImageError

from roadcert.errors import BadInput

__all__ = [
    "EC_LEVELS",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_PIXELS",
    "DecodedCode",
    "QRImageError",
    "decode_image",
    "encode_matrix",
    "encode_png",
    "version_of",
]

EC_LEVELS: Final = ("L", "M", "Q", "H")
"""QR error-correction levels (about 7 %, 15 %, 25 %, 30 % of codewords restorable)."""

MAX_IMAGE_BYTES: Final = 20 * 1024 * 1024
"""Largest image file ``decode_image`` reads: a full-resolution phone photo fits."""

MAX_IMAGE_PIXELS: Final = 50_000_000
"""Largest image ``decode_image`` decompresses (about 8000 × 6000); refused before decoding."""

_DARK: Final = 0  # zxing-cpp draws dark modules as 0 and light ones as 255 in its 8-bit image
_LIGHT: Final = 255
_MAX_SCALE: Final = 100
_MAX_BORDER: Final = 100


class QRImageError(BadInput):
    """An image that cannot be read at all (not a PNG/JPEG, corrupt, too large)."""

    code = "qr.image"


@dataclass(frozen=True)
class DecodedCode:
    """A QR code found in an image: its text, symbol version (1–40) and error-correction level."""

    text: str
    version: int | None
    ec_level: str


def encode_matrix(text: str, ec_level: str = "M") -> list[list[bool]]:
    """The QR symbol of ``text`` as rows of modules, ``True`` = dark, without the quiet zone.

    For drawing the code as vector graphics (a PDF face); leave a light border of at least four
    modules around it. Raises ``ValueError`` for an unknown level or a text too long for a QR.
    """
    size, modules = _symbol(text, ec_level)
    return [
        [module == _DARK for module in modules[row * size : (row + 1) * size]]
        for row in range(size)
    ]


def encode_png(text: str, *, ec_level: str = "M", scale: int = 4, border: int = 4) -> bytes:
    """A black-on-white 1-bit PNG of the QR symbol of ``text``.

    ``scale`` is the pixels per module, ``border`` the quiet zone in modules (the QR standard
    asks for 4). Raises ``ValueError`` for bad arguments or a text too long for a QR.
    """
    if not 1 <= scale <= _MAX_SCALE:
        raise ValueError(f"scale must be 1–{_MAX_SCALE} pixels per module, got {scale}")
    if not 0 <= border <= _MAX_BORDER:
        raise ValueError(f"border must be 0–{_MAX_BORDER} modules, got {border}")
    size, modules = _symbol(text, ec_level)
    picture = Image.frombytes("L", (size, size), modules)
    picture = picture.resize((size * scale, size * scale), Image.Resampling.NEAREST)
    picture = ImageOps.expand(picture, border=border * scale, fill=_LIGHT)
    buffer = io.BytesIO()
    picture.convert("1", dither=Image.Dither.NONE).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def version_of(text: str, ec_level: str = "M") -> int:
    """The QR version (1–40) zxing-cpp chooses for ``text`` at ``ec_level``.

    A version-v symbol is 4v + 17 modules wide, so the version follows from the symbol's size.
    """
    size, _ = _symbol(text, ec_level)
    return (size - 17) // 4


def decode_image(data: bytes) -> list[DecodedCode]:
    """Every QR code zxing-cpp finds in a PNG or JPEG picture (a scan, a photo, a rendered face).

    Returns an empty list when the picture holds no readable code. Raises :class:`QRImageError`
    when the bytes are not a PNG/JPEG picture that can be decoded, or exceed the size caps.
    """
    if len(data) > MAX_IMAGE_BYTES:
        raise QRImageError(f"图片过大：上限 {MAX_IMAGE_BYTES} 字节")
    picture = _load_picture(bytes(data))
    try:
        found = zxingcpp.read_barcodes(
            picture,
            formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode),
            text_mode=zxingcpp.TextMode.Plain,
        )
    except (RuntimeError, ValueError, TypeError) as exc:  # should not happen on a decoded picture
        raise QRImageError(f"图片无法识别：{exc}") from exc
    return [_decoded(barcode) for barcode in found if barcode.valid]


def _symbol(text: str, ec_level: str) -> tuple[int, bytes]:
    """Side length in modules and the module bytes (0 dark, 255 light), row by row."""
    if ec_level not in EC_LEVELS:
        raise ValueError(f"error-correction level must be one of {EC_LEVELS}, got {ec_level!r}")
    if not isinstance(text, str) or not text:
        raise ValueError("QR text must be a non-empty str")
    # zxing-cpp reports a text too long for any version as ValueError too.
    barcode = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level=ec_level)
    image = barcode.to_image(scale=1, add_quiet_zones=False)
    height, width = image.shape
    if height != width:
        raise RuntimeError(f"zxing-cpp drew a {width}×{height} QR symbol; expected a square")
    # The stub does not declare the buffer protocol the image implements (8-bit, row-major).
    return width, memoryview(image).tobytes()  # type: ignore[arg-type]


def _load_picture(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Pillow only warns below twice its own pixel limit; treat that as too large too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            picture = Image.open(io.BytesIO(data), formats=["PNG", "JPEG"])
            width, height = picture.size
            if width * height > MAX_IMAGE_PIXELS:
                raise QRImageError(f"图片像素过多：{width}×{height}，上限 {MAX_IMAGE_PIXELS} 像素")
            picture.load()
            return picture.convert("L")
    except QRImageError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise QRImageError("图片像素过多") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        # Pillow reports corrupt files with several exception types, SyntaxError among them.
        raise QRImageError(f"不是可读取的 PNG 或 JPEG 图片：{exc}") from exc


def _decoded(barcode: zxingcpp.Barcode) -> DecodedCode:
    extra = barcode.extra if isinstance(barcode.extra, dict) else {}
    version_text = str(extra.get("Version", ""))
    return DecodedCode(
        text=barcode.text,
        version=int(version_text) if version_text.isdigit() else None,
        ec_level=barcode.ec_level,
    )

"""QR codec: real symbols encoded by zxing-cpp, drawn as PNG, and read back from pictures."""

from __future__ import annotations

import contextlib
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFilter

from roadcert.render import qr
from roadcert.render.qr import DecodedCode, QRImageError

URL = "HTTPS://ZZ.JTT.JL.GOV.CN/R/"


def _alphanumeric_text(length: int) -> str:
    return (URL + "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" * 40)[:length]


def test_png_decodes_back_to_the_text_with_version_and_level() -> None:
    text = _alphanumeric_text(400)
    for level in qr.EC_LEVELS:
        (found,) = qr.decode_image(qr.encode_png(text, ec_level=level))
        assert found == DecodedCode(text, qr.version_of(text, level), level)


def test_alphanumeric_text_is_encoded_in_alphanumeric_mode() -> None:
    # Version 15-M holds 600 alphanumeric characters but only 412 bytes: 600 upper-case URL
    # characters can fit only in alphanumeric mode, the 601st needs version 16, and the same
    # text in lower case (byte mode) needs far more.
    assert qr.version_of(_alphanumeric_text(600), "M") == 15
    assert qr.version_of(_alphanumeric_text(601), "M") == 16
    assert qr.version_of(_alphanumeric_text(600).lower(), "M") > 16


def test_matrix_is_the_symbol_and_matches_the_png() -> None:
    text = _alphanumeric_text(100)
    matrix = qr.encode_matrix(text)
    version = qr.version_of(text)
    assert len(matrix) == 4 * version + 17
    assert all(len(row) == len(matrix) for row in matrix)
    # Finder pattern in the top-left corner: a dark 7×7 ring around a light ring and a dark 3×3.
    assert all(matrix[0][:7]) and all(row[0] for row in matrix[:7])
    assert not any(matrix[1][1:6]) and all(matrix[3][2:5])

    scale, border = 3, 2
    picture = Image.open(io.BytesIO(qr.encode_png(text, scale=scale, border=border)))
    assert picture.format == "PNG" and picture.mode == "1"
    assert picture.size == ((len(matrix) + 2 * border) * scale,) * 2
    for row_index, row in enumerate(matrix):
        for column_index, dark in enumerate(row):
            x = (column_index + border) * scale + 1
            y = (row_index + border) * scale + 1
            assert (picture.getpixel((x, y)) == 0) == dark


def test_a_blurred_photo_with_other_content_still_reads() -> None:
    text = _alphanumeric_text(500)
    symbol = Image.open(io.BytesIO(qr.encode_png(text, scale=5))).convert("RGB")
    page = Image.new("RGB", (symbol.width * 2, symbol.height * 2), (235, 228, 205))
    page.paste(symbol.rotate(90, expand=True), (symbol.width // 2, symbol.height // 3))
    page = page.filter(ImageFilter.GaussianBlur(1))
    buffer = io.BytesIO()
    page.save(buffer, format="JPEG", quality=70)
    (found,) = qr.decode_image(buffer.getvalue())
    assert found.text == text
    assert found.ec_level == "M"


def test_a_picture_without_a_code_gives_an_empty_list() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (200, 120), (255, 255, 255)).save(buffer, format="PNG")
    assert qr.decode_image(buffer.getvalue()) == []


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an image",
        b"%PDF-1.7\n",
        b"\x89PNG\r\n\x1a\n" + b"\0" * 40,
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
    ],
    ids=["empty", "text", "pdf", "broken_png", "gif"],
)
def test_unreadable_bytes_raise_a_clear_error(data: bytes) -> None:
    with pytest.raises(QRImageError) as caught:
        qr.decode_image(data)
    assert caught.value.code == "qr.image"
    assert caught.value.status == 422


def test_a_truncated_png_raises_a_clear_error() -> None:
    whole = qr.encode_png(_alphanumeric_text(300))
    with pytest.raises(QRImageError):
        qr.decode_image(whole[: len(whole) // 2])


def test_oversized_pictures_are_refused_before_decoding() -> None:
    with pytest.raises(QRImageError):
        qr.decode_image(b"\0" * (qr.MAX_IMAGE_BYTES + 1))
    # A tiny file claiming 10000 × 10000 pixels: refused from its header, never decompressed.
    buffer = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(buffer, format="PNG")
    assert len(buffer.getvalue()) < 100_000
    with pytest.raises(QRImageError, match="像素"):
        qr.decode_image(buffer.getvalue())


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: qr.encode_png("X", ec_level="Z"), "level"),
        (lambda: qr.encode_png("X", scale=0), "scale"),
        (lambda: qr.encode_png("X", border=-1), "border"),
        (lambda: qr.encode_matrix(""), "non-empty"),
        (lambda: qr.version_of("A" * 5000, "H"), "too long"),
    ],
    ids=["level", "scale", "border", "empty", "too_long"],
)
def test_bad_arguments_raise_value_error(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_decode_image_raises_only_its_own_error(data: bytes) -> None:
    for blob in (data, b"\x89PNG\r\n\x1a\n" + data, b"\xff\xd8\xff" + data):
        with contextlib.suppress(QRImageError):
            qr.decode_image(blob)


@settings(max_examples=25, deadline=None)
@given(st.text("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", min_size=1, max_size=300))
def test_any_alphanumeric_text_round_trips(text: str) -> None:
    (found,) = qr.decode_image(qr.encode_png(text, scale=2))
    assert found.text == text

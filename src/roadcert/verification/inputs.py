"""Turn what a verifier holds — QR text, a photo of a code, a roadcert PDF — into COSE bytes."""

from __future__ import annotations

from roadcert.errors import BadInput
from roadcert.render import faces, qr
from roadcert.verification import payload

MAX_UPLOAD_BYTES = 8 * 1024 * 1024

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
PDF_MAGIC = b"%PDF-"


def cose_from_text(text: str) -> bytes:
    """The COSE bytes in a scanned code's text (URL or bare base32), checked to be whole."""
    return _whole(payload.from_text(text.strip()))


def _whole(cose: bytes) -> bytes:
    # A code cut at a base32 group boundary still decodes; its structure shows the cut, and
    # every unreadable code is refused the same way however it was damaged.
    payload.open_envelope(cose)
    return cose


def cose_from_bytes(data: bytes) -> bytes:
    """The COSE bytes in an uploaded image of a code or a roadcert PDF."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise BadInput(f"文件过大：上限 {MAX_UPLOAD_BYTES} 字节", code="verify.too_large")
    if data.startswith(PDF_MAGIC):
        embedded = faces.extract_attachment(data)
        if embedded is None:
            raise BadInput("PDF 中没有 roadcert 电子证照", code="verify.pdf_no_ecert")
        return _whole(embedded)
    if data.startswith((PNG_MAGIC, JPEG_MAGIC)):
        codes = qr.decode_image(data)
        if not codes:
            raise BadInput("图片中没有识别出二维码", code="verify.no_code")
        return cose_from_text(codes[0].text)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput("不是二维码文本、图片（PNG/JPEG）或 PDF", code="verify.input") from exc
    return cose_from_text(text)

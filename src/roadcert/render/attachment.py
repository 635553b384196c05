"""The signed e-cert inside a PDF face: embedding it, and reading it back with no PDF library.

The face PDF carries the signed e-cert as a PDF embedded file (ISO 32000-1 §7.11.4) named
``ecert.cose``, listed in the document's ``/Names /EmbeddedFiles`` tree, so that ``pdfdetach``,
any PDF viewer's attachment pane and ``roadcert verify face.pdf`` all find it.

Reading it back must work on a PDF from anywhere (a holder's download, a re-saved copy), so
:func:`extract_attachment` is a small bounded scanner rather than a PDF parser: it looks for the
file specification that names ``ecert.cose`` and reads the stream it points to (streams are
never inside object streams, so their dictionaries are plain text in any PDF), or else the one
stream marked with our media type. Every step is capped: the input size, the window searched,
the decompressed size. Nothing here trusts what it reads; the caller verifies the signature.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections import deque
from typing import Any, cast

from reportlab.pdfbase import pdfdoc
from reportlab.pdfgen.canvas import Canvas

from roadcert.errors import RoadcertError

ATTACHMENT_NAME = "ecert.cose"
ATTACHMENT_MEDIA_TYPE = "application/cose"
ATTACHMENT_DESCRIPTION = "签名电子证照（COSE_Sign1），可离线核验"

MAX_PDF_BYTES = 20 * 1024 * 1024
MAX_ATTACHMENT_BYTES = 1024 * 1024
_WINDOW = 64 * 1024  # how far a dictionary or an enclosing object header may be
_CANDIDATES = 8  # places looked at per way of finding the attachment


class PdfAttachmentError(RoadcertError):
    """The file is not a PDF roadcert can read an e-cert from."""

    status = 422
    code = "pdf.invalid"


def _pdf_name(text: str) -> str:
    # reportlab's PDFName leaves "/" alone, which would end the name: escape it as #2F.
    return "/" + "".join(
        ch if 0x21 <= ord(ch) <= 0x7E and ch not in "/%()<>[]{}#" else f"#{ord(ch):02X}"
        for ch in text
    )


def embed(canvas: Canvas, data: bytes) -> None:
    """Attach ``data`` to the PDF ``canvas`` is drawing, as the embedded file ``ecert.cose``.

    Call before ``canvas.save()``. The stream records the size and MD5 checksum (the PDF's
    own integrity fields) so that a damaged copy is told apart from a missing attachment.
    """
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise PdfAttachmentError(
            f"附件过大：{len(data)} 字节，上限 {MAX_ATTACHMENT_BYTES}",
            code="pdf.attachment_too_large",
        )
    # reportlab has no public call for embedded files: add the objects to its document.
    document = cast(Any, canvas)._doc
    params = pdfdoc.PDFDictionary(
        {
            "Size": len(data),
            "CheckSum": f"<{hashlib.md5(data, usedforsecurity=False).hexdigest()}>",
        }
    )
    stream = pdfdoc.PDFStream(
        pdfdoc.PDFDictionary(
            {
                "Type": "/EmbeddedFile",
                "Subtype": _pdf_name(ATTACHMENT_MEDIA_TYPE),
                "Params": params,
            }
        ),
        content=data,
        filters=[pdfdoc.PDFZCompress],
    )
    stream_ref = document.Reference(stream)
    filespec = pdfdoc.PDFDictionary(
        {
            "Type": "/Filespec",
            "F": pdfdoc.PDFString(ATTACHMENT_NAME),
            "UF": pdfdoc.PDFString(ATTACHMENT_NAME),
            "Desc": pdfdoc.PDFString(ATTACHMENT_DESCRIPTION),
            "AFRelationship": "/Source",
            "EF": pdfdoc.PDFDictionary({"F": stream_ref, "UF": stream_ref}),
        }
    )
    filespec_ref = document.Reference(filespec)
    names = pdfdoc.PDFArray([pdfdoc.PDFString(ATTACHMENT_NAME), filespec_ref])
    document.Catalog.Names = pdfdoc.PDFDictionary(
        {"EmbeddedFiles": pdfdoc.PDFDictionary({"Names": names})}
    )


# -- reading ---------------------------------------------------------------------------------


def _name_forms(name: str) -> bytes:
    """A pattern for ``name`` as a PDF string in the forms writers use: a literal, or hex of
    its ASCII or of its UTF-16BE with byte order mark (hex digits in either case)."""
    ascii_hex = name.encode().hex()
    utf16_hex = "feff" + name.encode("utf-16-be").hex()
    return b"(?:%s|<%s>|<%s>)" % (
        re.escape(b"(" + name.encode() + b")"),
        "".join(f"[{c}{c.upper()}]" if c.isalpha() else c for c in ascii_hex).encode(),
        "".join(f"[{c}{c.upper()}]" if c.isalpha() else c for c in utf16_hex).encode(),
    )


_NAME = _name_forms(ATTACHMENT_NAME)
_NAMED_REF = re.compile(_NAME + rb"\s*(\d{1,10})\s+(\d{1,5})\s+R")
_NAME_ANYWHERE = re.compile(_NAME)
_EF_REF = re.compile(rb"/EF\s*<<[^>]{0,200}?/(?:F|UF)\s+(\d{1,10})\s+(\d{1,5})\s+R")
_OBJ_HEADER = re.compile(rb"(?<![0-9])(\d{1,10})\s+(\d{1,5})\s+obj\b")
_STREAM_START = re.compile(rb">>\s*stream(?:\r\n|\n|\r)")
_MEDIA_TYPE = re.compile(
    rb"/Subtype\s*/" + re.escape(_pdf_name(ATTACHMENT_MEDIA_TYPE)[1:].encode()), re.IGNORECASE
)
_LENGTH = re.compile(rb"/Length\s+(\d{1,10})(?:\s+(\d{1,5})\s+R)?")
_FILTER = re.compile(rb"/Filter\s*(\[[^\]]{0,200}\]|/[A-Za-z0-9]+)")
_CHECKSUM = re.compile(rb"/CheckSum\s*<([0-9A-Fa-f]{32})>")
_SIZE = re.compile(rb"/Size\s+(\d{1,10})")
_ENCRYPT = re.compile(rb"/Encrypt\s*(?:\d|<<)")


def extract_attachment(pdf: bytes) -> bytes | None:
    """The embedded e-cert of a face PDF, or None when the PDF carries none.

    Raises :class:`PdfAttachmentError` with a code for input that is not a readable PDF:
    ``pdf.too_large``, ``pdf.not_pdf``, ``pdf.encrypted``, ``pdf.attachment_too_large``,
    ``pdf.attachment_corrupt``, ``pdf.unsupported_filter``. It never reads past its caps,
    so a hostile file costs at most a few linear scans of 20 MB.
    """
    if len(pdf) > MAX_PDF_BYTES:
        raise PdfAttachmentError(
            f"PDF 文件过大：{len(pdf)} 字节，上限 {MAX_PDF_BYTES}", code="pdf.too_large", status=413
        )
    if b"%PDF-" not in pdf[:1024]:
        raise PdfAttachmentError("不是 PDF 文件", code="pdf.not_pdf")
    if _ENCRYPT.search(pdf):
        raise PdfAttachmentError("PDF 已加密，无法读取其中的电子证照", code="pdf.encrypted")
    offset = _find_stream(pdf)
    return None if offset is None else _read_stream(pdf, offset)


def _find_stream(pdf: bytes) -> int | None:
    """Offset of the embedded file's object header, newest definition first."""
    # 1. The name tree entry "(ecert.cose) N G R" points at the file specification.
    for match in _last_matches(_NAMED_REF, pdf):
        spec = _object_at(pdf, int(match[1]), int(match[2]))
        if spec is not None:
            stream = _ef_target(pdf, spec)
            if stream is not None:
                return stream
    # 2. A file specification that names ecert.cose directly.
    for match in _last_matches(_NAME_ANYWHERE, pdf):
        header = _enclosing_header(pdf, match.start())
        if header is not None:
            stream = _ef_target(pdf, header)
            if stream is not None:
                return stream
    # 3. A stream marked with our media type (the file specification may be compressed).
    for match in _last_matches(_MEDIA_TYPE, pdf):
        header = _enclosing_header(pdf, match.start())
        if header is not None:
            return header
    return None


def _last_matches(pattern: re.Pattern[bytes], pdf: bytes) -> list[re.Match[bytes]]:
    """The last few matches, newest first: a file repeating a marker cannot make work grow."""
    last: deque[re.Match[bytes]] = deque(maxlen=_CANDIDATES)
    last.extend(pattern.finditer(pdf))
    return list(reversed(last))


def _object_at(pdf: bytes, number: int, generation: int) -> int | None:
    """Offset of the last ``number generation obj`` header (a later definition wins)."""
    pattern = re.compile(rb"(?<![0-9])%d\s+%d\s+obj\b" % (number, generation))
    last = None
    for match in pattern.finditer(pdf):
        last = match.start()
    return last


def _enclosing_header(pdf: bytes, position: int) -> int | None:
    start = max(0, position - _WINDOW)
    last = None
    for match in _OBJ_HEADER.finditer(pdf, start, position):
        last = match.start()
    return last


def _object_body(pdf: bytes, header: int) -> bytes:
    end = pdf.find(b"endobj", header, header + _WINDOW)
    return pdf[header : end if end >= 0 else header + _WINDOW]


def _ef_target(pdf: bytes, spec_header: int) -> int | None:
    """The stream a file specification's /EF entry points at."""
    body = _object_body(pdf, spec_header)
    match = _EF_REF.search(body)
    if match is None:
        return None
    return _object_at(pdf, int(match[1]), int(match[2]))


def _read_stream(pdf: bytes, header: int) -> bytes:
    start = _STREAM_START.search(pdf, header, header + _WINDOW)
    if start is None:
        raise PdfAttachmentError("电子证照附件不是数据流", code="pdf.attachment_corrupt")
    dictionary = pdf[header : start.start() + 2]
    data_start = start.end()
    raw = _stream_data(pdf, dictionary, data_start)

    filters = _filters(dictionary)
    if b"/DecodeParms" in dictionary or filters not in ([], [b"FlateDecode"]):
        raise PdfAttachmentError("电子证照附件使用了不支持的编码", code="pdf.unsupported_filter")
    data = _inflate(raw) if filters else raw
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise PdfAttachmentError("电子证照附件过大", code="pdf.attachment_too_large")

    size = _SIZE.search(dictionary)
    checksum = _CHECKSUM.search(dictionary)
    if (size is not None and int(size[1]) != len(data)) or (
        checksum is not None
        and checksum[1].lower().decode() != hashlib.md5(data, usedforsecurity=False).hexdigest()
    ):
        raise PdfAttachmentError(
            "电子证照附件已损坏（长度或校验和不符）", code="pdf.attachment_corrupt"
        )
    return data


def _stream_data(pdf: bytes, dictionary: bytes, data_start: int) -> bytes:
    """The raw bytes between ``stream`` and ``endstream``, trusting /Length only if it fits."""
    length_match = _LENGTH.search(dictionary)
    length: int | None = None
    if length_match is not None:
        if length_match[2] is None:
            length = int(length_match[1])
        else:
            length = _indirect_integer(pdf, int(length_match[1]), int(length_match[2]))
    limit = MAX_ATTACHMENT_BYTES * 2  # compressed data is not larger than this for our files
    if length is not None and length <= limit:
        end = data_start + length
        if re.match(rb"\s*endstream", pdf[end : end + 32]):
            return pdf[data_start:end]
    end = pdf.find(b"endstream", data_start, data_start + limit + 2)
    if end < 0:
        raise PdfAttachmentError("电子证照附件不完整", code="pdf.attachment_corrupt")
    # The end-of-line before "endstream" is not part of the data.
    if pdf[end - 2 : end] == b"\r\n":
        end -= 2
    elif pdf[end - 1 : end] in (b"\n", b"\r"):
        end -= 1
    return pdf[data_start : max(data_start, end)]


def _indirect_integer(pdf: bytes, number: int, generation: int) -> int | None:
    header = _object_at(pdf, number, generation)
    if header is None:
        return None
    match = re.match(rb"\d+\s+\d+\s+obj\s*(\d{1,10})\s*endobj", pdf[header : header + 64])
    return int(match[1]) if match else None


def _filters(dictionary: bytes) -> list[bytes]:
    match = _FILTER.search(dictionary)
    if match is None:
        return []
    return re.findall(rb"/([A-Za-z0-9]+)", match[1])


def _inflate(raw: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(raw, MAX_ATTACHMENT_BYTES + 1)
    except zlib.error as exc:
        raise PdfAttachmentError("电子证照附件无法解压", code="pdf.attachment_corrupt") from exc
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise PdfAttachmentError("电子证照附件过大", code="pdf.attachment_too_large")
    if not inflater.eof:
        raise PdfAttachmentError("电子证照附件不完整", code="pdf.attachment_corrupt")
    return data

"""The signed e-cert inside a face PDF: embedded by us, read back from any writer's PDF, and
hostile files refused with a code, never a crash or a hang."""

from __future__ import annotations

import dataclasses
import functools
import io
import zlib

import pypdfium2 as pdfium
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reportlab.pdfgen.canvas import Canvas

from roadcert.render import attachment, faces
from roadcert.render.attachment import (
    MAX_ATTACHMENT_BYTES,
    MAX_PDF_BYTES,
    PdfAttachmentError,
    extract_attachment,
)

PAYLOAD = bytes(range(256)) * 3  # binary, with every byte value and the PDF delimiters


def _reportlab_pdf(data: bytes | None, **canvas_options: object) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, invariant=True, **canvas_options)  # type: ignore[arg-type]
    canvas.drawString(72, 720, "roadcert")
    canvas.showPage()
    if data is not None:
        attachment.embed(canvas, data)
    canvas.save()
    return buffer.getvalue()


@functools.cache
def _face_pdf() -> bytes:
    doc = faces.sample_document("11100000000019713D013")
    return faces.render_pdf(dataclasses.replace(doc, attachment=PAYLOAD))


def _code(pdf: bytes) -> str:
    with pytest.raises(PdfAttachmentError) as caught:
        extract_attachment(pdf)
    return caught.value.code


def test_round_trip_and_pdf_structure() -> None:
    pdf = _reportlab_pdf(PAYLOAD)
    assert extract_attachment(pdf) == PAYLOAD
    assert b"/EmbeddedFiles" in pdf and b"/Type /EmbeddedFile" in pdf
    assert b"/Subtype /application#2Fcose" in pdf
    assert extract_attachment(_reportlab_pdf(b"")) == b""
    assert extract_attachment(_reportlab_pdf(None)) is None


def test_pdfium_reads_what_we_embed() -> None:
    document = pdfium.PdfDocument(_face_pdf())
    try:
        assert len(document) == 1
        assert document.count_attachments() == 1
        embedded = document.get_attachment(0)
        assert embedded.get_name() == "ecert.cose"
        assert bytes(embedded.get_data()) == PAYLOAD
    finally:
        document.close()


def _pdfium_save(document: pdfium.PdfDocument) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    document.close()
    return buffer.getvalue()


def test_reads_another_writers_pdf() -> None:
    document = pdfium.PdfDocument.new()
    document.new_page(200, 200).close()
    document.new_attachment("ecert.cose").set_data(PAYLOAD)
    assert extract_attachment(_pdfium_save(document)) == PAYLOAD


def test_reads_a_resaved_face() -> None:
    resaved = _pdfium_save(pdfium.PdfDocument(_face_pdf()))
    assert resaved != _face_pdf()
    assert extract_attachment(resaved) == PAYLOAD


def test_a_later_incremental_update_wins() -> None:
    pdf = _face_pdf()
    number = int(pdf.split(b"/Type /EmbeddedFile")[0].rsplit(b" obj", 1)[0].split()[-2])
    newer = b"NEWER E-CERT"
    update = (
        b"\n%d 0 obj\n<< /Type /EmbeddedFile /Length %d >>\nstream\n%s\nendstream\nendobj\n"
        % (
            number,
            len(newer),
            newer,
        )
    )
    assert extract_attachment(pdf + update) == newer


def test_not_a_pdf_too_large_and_encrypted() -> None:
    assert _code(b"") == "pdf.not_pdf"
    assert _code(b"GIF89a" + b" " * 2000 + b"%PDF-1.4") == "pdf.not_pdf"  # header past 1 KiB
    assert extract_attachment(b"junk before the header %PDF-1.4\n") is None
    too_large = _code(b"%PDF-1.4\n" + b" " * MAX_PDF_BYTES)
    assert too_large == "pdf.too_large"
    encrypted = _reportlab_pdf(PAYLOAD, encrypt="secret")
    assert _code(encrypted) == "pdf.encrypted"


def _crafted(dictionary: bytes, stream: bytes) -> bytes:
    return (
        b"%PDF-1.7\n1 0 obj\n<< /Type /Filespec /F (ecert.cose) /EF << /F 2 0 R >> >>\nendobj\n"
        b"2 0 obj\n<< " + dictionary + b" >>\nstream\n" + stream + b"\nendstream\nendobj\n%%EOF\n"
    )


def test_decompression_bomb_is_refused() -> None:
    bomb = zlib.compress(b"\0" * (MAX_ATTACHMENT_BYTES * 40), 9)
    pdf = _crafted(b"/Filter /FlateDecode /Length %d" % len(bomb), bomb)
    assert len(pdf) < MAX_ATTACHMENT_BYTES
    assert _code(pdf) == "pdf.attachment_too_large"


def test_damaged_attachments_are_told_apart() -> None:
    good = zlib.compress(b"abc")
    assert (
        extract_attachment(_crafted(b"/Filter /FlateDecode /Length %d" % len(good), good)) == b"abc"
    )
    # /Length missing, indirect or wrong: the data still ends at endstream
    assert extract_attachment(_crafted(b"/Filter /FlateDecode", good)) == b"abc"
    assert extract_attachment(_crafted(b"/Filter /FlateDecode /Length 9 0 R", good)) == b"abc"
    assert extract_attachment(_crafted(b"/Filter /FlateDecode /Length 99999", good)) == b"abc"
    assert _code(_crafted(b"/Filter /FlateDecode", b"not deflate")) == "pdf.attachment_corrupt"
    assert _code(_crafted(b"/Filter /FlateDecode", good[:-3])) == "pdf.attachment_corrupt"
    assert _code(_crafted(b"/Filter /ASCIIHexDecode", b"616263>")) == "pdf.unsupported_filter"
    assert _code(_crafted(b"/Params << /Size 4 >>", b"abc")) == "pdf.attachment_corrupt"
    assert _code(_crafted(b"/Params << /CheckSum <%s> >>" % (b"0" * 32), b"abc")) == (
        "pdf.attachment_corrupt"
    )
    no_stream = b"%PDF-1.7\n1 0 obj\n<< /EF << /F 2 0 R >> /F (ecert.cose) >>\nendobj\n2 0 obj\n3\n"
    assert _code(no_stream) == "pdf.attachment_corrupt"


def test_checksum_of_a_face_is_checked() -> None:
    pdf = _face_pdf()
    start = pdf.index(b"/CheckSum <") + len(b"/CheckSum <")
    flipped = pdf[:start] + (b"0" if pdf[start : start + 1] != b"0" else b"1") + pdf[start + 1 :]
    assert _code(flipped) == "pdf.attachment_corrupt"


def test_repeated_markers_do_not_multiply_the_work() -> None:
    names = b"%PDF-1.4\n" + b"(ecert.cose) 1 0 R\n" * 200_000
    assert extract_attachment(names) is None
    headers = b"%PDF-1.4\n" + b"1 0 obj /Subtype /application#2Fcose " * 100_000
    with pytest.raises(PdfAttachmentError):
        extract_attachment(headers)


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.97, 0.99])
def test_truncated_face(fraction: float) -> None:
    pdf = _face_pdf()
    _check_safely(pdf[: int(len(pdf) * fraction)])


def _check_safely(pdf: bytes) -> None:
    try:
        result = extract_attachment(pdf)
    except PdfAttachmentError as exc:
        assert exc.code.startswith("pdf.")
    else:
        assert result is None or isinstance(result, bytes)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(
        st.tuples(st.floats(0, 1), st.integers(0, 3), st.binary(min_size=0, max_size=24)),
        min_size=1,
        max_size=6,
    )
)
def test_fuzzed_face_never_crashes(edits: list[tuple[float, int, bytes]]) -> None:
    pdf = bytearray(_face_pdf())
    for where, kind, data in edits:
        at = int(where * (len(pdf) - 1))
        if kind == 0:
            pdf[at : at + len(data)] = data  # overwrite
        elif kind == 1:
            pdf[at:at] = data  # insert
        elif kind == 2:
            del pdf[at : at + len(data) + 1]  # delete
        else:
            pdf[at:at] = b" (ecert.cose) 2 0 R /EF << /F 9 0 R >> /Length 7 0 R stream "
    _check_safely(bytes(pdf))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_random_bytes_never_crash(data: bytes) -> None:
    _check_safely(b"%PDF-1.7\n" + data)

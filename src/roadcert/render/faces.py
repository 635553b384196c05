"""Faces (照面) of e-certs as PDF and PNG, laid out after the samples of seeds 000/001 附件1.

One layout per certificate group, drawn once with reportlab: the PDF is the face, the PNG is
that PDF rasterised. A face carries the national title lines, the certificate number, the face
items in catalogue order with spaced labels, the photo where the type has one, the 2D code, the
authority's red seal over the 核发机关 line and the footer naming the data source. The PDF embeds
the font it uses (see ``render/fonts/README.md``) and the signed e-cert (``ecert.cose``), so it
prints Chinese anywhere and ``roadcert verify face.pdf`` needs no database.

Render on demand: a face is a view of a signed e-cert and is never stored.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import itertools
import logging
import math
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, cast

import zxingcpp
from PIL import Image, UnidentifiedImageError
from reportlab.lib.pagesizes import A4, landscape, portrait
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from roadcert.catalog.types import CertGroup, CertificateType, ValueKind, by_type_code
from roadcert.errors import RoadcertError
from roadcert.render import raster, samples, typeset
from roadcert.render.attachment import (
    ATTACHMENT_MEDIA_TYPE,
    ATTACHMENT_NAME,
    PdfAttachmentError,
    embed,
    extract_attachment,
)
from roadcert.render.seal import draw_seal, seal_png

__all__ = [
    "ATTACHMENT_MEDIA_TYPE",
    "ATTACHMENT_NAME",
    "FaceDocument",
    "FaceRenderError",
    "PdfAttachmentError",
    "draw_seal",
    "extract_attachment",
    "face_document",
    "render_pdf",
    "render_png",
    "seal_png",
]

log = logging.getLogger(__name__)

VALID_LABEL = "有效"
FOOTER = "数据来源：{province}电子证照库 · 中华人民共和国交通运输部监制"


class FaceRenderError(RoadcertError):
    """A face cannot be drawn from what was given."""

    status = 422
    code = "render.invalid"


@dataclass(frozen=True)
class FaceDocument:
    """Everything printed on one face, already formatted as text, in print order."""

    type_code: str
    title_lines: tuple[str, ...]
    number: str  # 证号 line under the title
    items: list[tuple[str, str]]  # (label, value); a value may hold several lines ("\n")
    photo: bytes | None  # JPEG/PNG of the vehicle or person; None for licences
    photo_kind: str | None  # PhotoKind value
    authority_name: str
    province_name: str  # e.g. 吉林省, for the footer
    qr_text: str  # content of the 2D code, drawn at level M
    identifier: str  # GB/T 36904 证照标识
    status_label: str | None  # e.g. 无效（已换发）; anything but 有效 is marked on the face
    attachment: bytes | None  # the signed e-cert, embedded in the PDF as ecert.cose

    @property
    def cert_type(self) -> CertificateType:
        """The catalogue type; raises :class:`UnknownCertificateType` for an unknown code."""
        return by_type_code(self.type_code)

    @property
    def invalid(self) -> bool:
        """Whether the face must be marked as no longer valid."""
        return bool(self.status_label) and self.status_label != VALID_LABEL


# -- building a FaceDocument from describe() ------------------------------------------------------


def _iso_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def format_date(value: Any, group: CertGroup, *, month_only: bool = False) -> str:
    """A date as the seed samples print it: 2022年04月02日 on licences and 运输证,
    2022-04-02 on 从业资格证, 2021年07月 for the 审验 month. Anything else is printed as given."""
    if value in (None, ""):
        return ""
    day = _iso_date(value)
    if day is None:
        return str(value)
    if group is CertGroup.QUALIFICATION:
        return day.isoformat()
    if month_only:
        return f"{day.year}年{day.month:02d}月"
    return f"{day.year}年{day.month:02d}月{day.day:02d}日"


def _categories_text(categories: Any, face: Mapping[str, Any], group: CertGroup) -> str:
    """从业资格类别, one per line; a category's own dates are added when they differ from the
    certificate's (the seed sample prints the label alone)."""
    if not isinstance(categories, Sequence) or isinstance(categories, str):
        return str(categories or "")
    lines = []
    for category in categories:
        if not isinstance(category, Mapping):
            lines.append(str(category))
            continue
        text = str(category.get("label") or category.get("code") or "")
        start, end = category.get("valid_from"), category.get("valid_until")
        if (start, end) != (face.get("valid_from"), face.get("valid_until")):
            text += f"（{format_date(start, group)}至{format_date(end, group)}）"
        lines.append(text)
    return "\n".join(lines)


def face_items(cert_type: CertificateType, face: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The printed (label, value) pairs of a face, in catalogue order.

    Photos are drawn, not printed (their value is only the SM3 digest). On the 经营许可证
    family 有效期起 and 有效期至 print as one 证件有效期 line, as on the paper licence.
    """
    group = cert_type.group
    items: list[tuple[str, str]] = []
    for item in cert_type.face:
        value = face.get(item.key)
        if item.kind is ValueKind.PHOTO:
            continue
        if group is CertGroup.LICENCE and item.key == "valid_until":
            continue
        if group is CertGroup.LICENCE and item.key == "valid_from":
            start = format_date(value, group)
            end = format_date(face.get("valid_until"), group)
            items.append(("证件有效期", f"{start}至{end}" if start or end else ""))
        elif item.kind is ValueKind.DATE:
            month_only = item.key == "review_valid_until"
            items.append((item.label, format_date(value, group, month_only=month_only)))
        elif item.kind is ValueKind.CATEGORIES:
            items.append((item.label, _categories_text(value, face, group)))
        else:
            items.append((item.label, "" if value is None else str(value)))
    return items


def face_document(
    describe: dict[str, Any],
    photo: bytes | None,
    qr_text: str,
    province_name: str,
    attachment: bytes | None,
) -> FaceDocument:
    """Build the face of the e-cert ``IssuanceService.describe()`` returned.

    ``photo`` is the picture whose SM3 digest the face signs (ignored for types without one),
    ``qr_text`` the 2D code content, ``attachment`` the signed e-cert to embed.
    """
    cert_type = by_type_code(str(describe["type_code"]))
    face = {entry["key"]: entry.get("value") for entry in describe.get("face", [])}
    metadata = describe.get("metadata") or {}
    authority = str(metadata.get("ZZBFJG") or face.get("authority") or "")
    return FaceDocument(
        type_code=cert_type.type_code,
        title_lines=cert_type.title_lines,
        number=str(describe.get("number") or ""),
        items=face_items(cert_type, face),
        photo=photo if cert_type.photo is not None else None,
        photo_kind=str(cert_type.photo) if cert_type.photo is not None else None,
        authority_name=authority,
        province_name=province_name,
        qr_text=qr_text,
        identifier=str(describe.get("identifier") or metadata.get("ZZBS") or ""),
        status_label=describe.get("status_label"),
        attachment=attachment,
    )


# -- layout ---------------------------------------------------------------------------------------

PAPER = (1.0, 0.992, 0.965)
FRAME = (0.62, 0.47, 0.24)
GREY = (0.38, 0.38, 0.38)
MARK_RED = (0.80, 0.07, 0.07)


@dataclass(frozen=True)
class Box:
    """A rectangle in points, origin bottom left."""

    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def top(self) -> float:
        return self.y + self.h

    def overlaps_rows(self, low: float, high: float) -> bool:
        """Whether the box spans any height between ``low`` and ``high``."""
        return self.y < high and self.top > low


@dataclass(frozen=True)
class GroupLayout:
    """Where things go on the faces of one certificate group."""

    page: tuple[float, float]
    title_sizes: tuple[float, ...]  # by line, from the top; the last applies to further lines
    number_line: bool  # 从业资格证 prints its 证号 among the items instead
    content: Box  # the items' area
    photo: Box | None
    photo_caption: str
    qr: Box
    seal_diameter: float
    item_size: float  # largest item font size; shrunk until the items fit
    centre_items: bool = False  # centre the items vertically (no photo to line up with)


_LANDSCAPE = landscape(A4)
_PORTRAIT = portrait(A4)

LAYOUTS: Mapping[CertGroup, GroupLayout] = {
    # 经营许可证: landscape like the paper licence; the code stands at the right.
    CertGroup.LICENCE: GroupLayout(
        page=_LANDSCAPE,
        title_sizes=(20, 32),
        number_line=True,
        content=Box(30 * mm, 30 * mm, 243 * mm, 115 * mm),
        photo=None,
        photo_caption="",
        qr=Box(220 * mm, 62 * mm, 50 * mm, 50 * mm),
        seal_diameter=42 * mm,
        item_size=15,
        centre_items=True,
    ),
    # 运输证: landscape; vehicle photo top right, the code under it (seed 000 附件1 五).
    CertGroup.TRANSPORT: GroupLayout(
        page=_LANDSCAPE,
        title_sizes=(20, 32),
        number_line=True,
        content=Box(26 * mm, 28 * mm, 247 * mm, 121 * mm),
        photo=Box(205 * mm, 98 * mm, 68 * mm, 51 * mm),
        photo_caption="车辆照片",
        qr=Box(217 * mm, 34 * mm, 44 * mm, 44 * mm),
        seal_diameter=40 * mm,
        item_size=13,
    ),
    # 从业资格证: portrait; the holder's photo top right, the code bottom right (附件1 七、八).
    CertGroup.QUALIFICATION: GroupLayout(
        page=_PORTRAIT,
        title_sizes=(18, 26, 30),
        number_line=False,
        content=Box(24 * mm, 32 * mm, 164 * mm, 197 * mm),
        photo=Box(152 * mm, 184 * mm, 34 * mm, 45 * mm),
        photo_caption="",
        qr=Box(145 * mm, 34 * mm, 42 * mm, 42 * mm),
        seal_diameter=38 * mm,
        item_size=14,
    ),
}

_MIN_SIZE = 8.0
_OBSTACLE_GAP = 5 * mm
_MAX_LINES = 6  # lines one value may take; more is cut with an ellipsis


@dataclass(frozen=True)
class Row:
    """One face item as set: label baseline and its value's lines."""

    label: str
    baseline: float
    lines: tuple[tuple[float, str], ...]  # (baseline, text)


@dataclass(frozen=True)
class ItemsLayout:
    """The items set at one size."""

    size: float
    label_span: float
    value_x: float
    rows: tuple[Row, ...]
    bottom: float


def _obstacles(layout: GroupLayout) -> list[Box]:
    boxes = [layout.qr]
    if layout.photo is not None:
        boxes.append(layout.photo)
    return boxes


def _right_limit(layout: GroupLayout, low: float, high: float) -> float:
    """Rightmost x text may reach between heights ``low`` and ``high``."""
    limit = layout.content.right
    for box in _obstacles(layout):
        if box.overlaps_rows(low - _OBSTACLE_GAP / 2, high + _OBSTACLE_GAP / 2):
            limit = min(limit, box.x - _OBSTACLE_GAP)
    return limit


def _set_items(
    layout: GroupLayout,
    items: Sequence[tuple[str, str]],
    size: float,
    extra_gap: float = 0.0,
    shift: float = 0.0,
) -> ItemsLayout:
    colon = typeset.width("：", size)
    label_span = max((typeset.width(label, size) for label, _ in items), default=0.0)
    label_span = max(label_span, 4 * size)
    value_x = layout.content.x + label_span + colon + size * 0.3
    line_height = size * 1.42
    item_gap = size * 0.5 + extra_gap
    top = layout.content.top - shift
    rows = []
    for label, value in items:
        first = top - size
        widths = [
            _right_limit(
                layout, first - k * line_height - size * 0.3, first - k * line_height + size
            )
            - value_x
            for k in range(_MAX_LINES + 1)
        ]
        lines = typeset.wrap(value, widths, size) if value else [""]
        if len(lines) > _MAX_LINES:
            log.warning("照面项“%s”过长，超出 %d 行的部分未印出", label, _MAX_LINES)
            lines = [*lines[: _MAX_LINES - 1], lines[_MAX_LINES - 1][:-1] + "…"]
        rows.append(
            Row(
                label=label,
                baseline=first,
                lines=tuple((first - k * line_height, text) for k, text in enumerate(lines)),
            )
        )
        top = first - (len(lines) - 1) * line_height - size * 0.3 - item_gap
    return ItemsLayout(size, label_span, value_x, tuple(rows), top + item_gap)


def layout_items(layout: GroupLayout, items: Sequence[tuple[str, str]]) -> ItemsLayout:
    """Set the items at the largest size that fits, spread them, then centre the block if the
    group's layout asks for it.

    Moving a row changes what it sits beside (photo, code) and so how it wraps; a spread or
    centred setting that no longer fits is not used.
    """
    size = layout.item_size
    set_ = _set_items(layout, items, size)
    while set_.bottom < layout.content.y and size > _MIN_SIZE:
        size -= 0.5
        set_ = _set_items(layout, items, size)
    if set_.bottom < layout.content.y:
        log.warning("照面项在最小字号下仍超出版面")
        return set_
    gap = 0.0
    if len(items) > 1:
        gap = min((set_.bottom - layout.content.y) / (len(items) - 1), size * 0.9)
        spread = _set_items(layout, items, size, extra_gap=gap)
        if spread.bottom >= layout.content.y:
            set_ = spread
        else:
            gap = 0.0
    shift = (set_.bottom - layout.content.y) / 2
    if layout.centre_items and shift > 1:
        centred = _set_items(layout, items, size, extra_gap=gap, shift=shift)
        if centred.bottom >= layout.content.y:
            set_ = centred
    return set_


# -- drawing --------------------------------------------------------------------------------------


def _frame(canvas: Canvas, width: float, height: float) -> None:
    canvas.saveState()
    canvas.setFillColorRGB(*PAPER)
    canvas.setStrokeColorRGB(*FRAME)
    canvas.setLineWidth(1.6)
    canvas.rect(7 * mm, 7 * mm, width - 14 * mm, height - 14 * mm, stroke=1, fill=1)
    canvas.setLineWidth(0.5)
    canvas.rect(9 * mm, 9 * mm, width - 18 * mm, height - 18 * mm, stroke=1, fill=0)
    canvas.restoreState()


def _titles(canvas: Canvas, doc: FaceDocument, layout: GroupLayout) -> float:
    """Draw the title lines and the number line; return the lowest baseline."""
    width, height = layout.page
    y = height - 16 * mm
    for index, line in enumerate(doc.title_lines):
        size = layout.title_sizes[min(index, len(layout.title_sizes) - 1)]
        y -= size * 1.3
        typeset.draw(canvas, width / 2, y, line, size, anchor="centre", bold=True)
    if layout.number_line and doc.number:
        y -= 12 * mm
        typeset.draw(canvas, width / 2, y, doc.number, 15, anchor="centre")
    return y


def _items(canvas: Canvas, set_: ItemsLayout, content: Box) -> None:
    for row in set_.rows:
        typeset.draw_spaced(
            canvas, content.x, row.baseline, row.label, set_.size, set_.label_span, colour=GREY
        )
        typeset.draw(
            canvas, content.x + set_.label_span, row.baseline, "：", set_.size, colour=GREY
        )
        for baseline, text in row.lines:
            typeset.draw(canvas, set_.value_x, baseline, text, set_.size)


def _qr_modules(text: str) -> list[list[bool]]:
    """The QR symbol of ``text`` at error correction level M, dark modules True."""
    try:
        symbol = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    except ValueError as exc:
        raise FaceRenderError(f"二维码内容无法编码：{exc}", code="render.qr_failed") from exc
    # zxingcpp.Image has the buffer protocol, which its type stubs do not declare.
    image = memoryview(cast(Any, symbol.to_image(scale=1, add_quiet_zones=False)))
    rows, cols = image.shape or (0, 0)
    pixels = image.tobytes()
    return [[pixels[r * cols + c] < 128 for c in range(cols)] for r in range(rows)]


def _qr(canvas: Canvas, box: Box, text: str) -> None:
    modules = _qr_modules(text)
    count = len(modules)
    module = box.w / (count + 8)  # four modules of quiet zone each side
    canvas.saveState()
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(box.x, box.y, box.w, box.w, stroke=0, fill=1)
    canvas.setFillColorRGB(0, 0, 0)
    # One path of whole-module rectangles in module units (a row's dark runs merged), written
    # as PDF operators: a version-15 code is some 1,500 rectangles, and integer coordinates
    # keep the content stream small and quick to write.
    runs = []
    for r, row in enumerate(modules):
        c = 0
        while c < count:
            if not row[c]:
                c += 1
                continue
            start = c
            while c < count and row[c]:
                c += 1
            runs.append(f"{start} {count - 1 - r} {c - start} 1 re")
    origin_x, origin_y = box.x + 4 * module, box.y + 4 * module
    canvas.addLiteral(
        f"q {module:.6f} 0 0 {module:.6f} {origin_x:.4f} {origin_y:.4f} cm\n"
        + "\n".join(runs)
        + "\nf Q"
    )
    canvas.restoreState()
    typeset.draw(
        canvas, box.x + box.w / 2, box.y - 4.2 * mm, "扫码核验", 8, anchor="centre", colour=GREY
    )


def _photo_image(data: bytes, box: Box) -> ImageReader | None:
    """The photo as a JPEG no finer than 300 dpi in ``box``; None if it cannot be read."""
    try:
        with Image.open(io.BytesIO(data)) as source:
            if source.width * source.height > 40_000_000:
                raise ValueError(f"照片像素过多：{source.width}×{source.height}")
            bound = (math.ceil(box.w / 72 * 300), math.ceil(box.h / 72 * 300))
            source.draft("RGB", bound)
            image = source.convert("RGBA")
    except (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        log.warning("照片无法读取，照面上不显示：%s", exc)
        return None
    image.thumbnail(bound)
    flat = Image.new("RGB", image.size, (255, 255, 255))
    flat.paste(image, mask=image.getchannel("A"))
    out = io.BytesIO()
    flat.save(out, format="JPEG", quality=88)
    out.seek(0)
    return ImageReader(out)


def _photo(canvas: Canvas, doc: FaceDocument, layout: GroupLayout) -> None:
    box = layout.photo
    if box is None:
        return
    canvas.saveState()
    canvas.setFillColorRGB(0.95, 0.95, 0.95)
    canvas.setStrokeColorRGB(*FRAME)
    canvas.setLineWidth(0.6)
    canvas.rect(box.x, box.y, box.w, box.h, stroke=1, fill=1)
    canvas.restoreState()
    image = _photo_image(doc.photo, box) if doc.photo else None
    if image is not None:
        img_w, img_h = image.getSize()
        scale = min(box.w / img_w, box.h / img_h)
        w, h = img_w * scale, img_h * scale
        canvas.drawImage(image, box.x + (box.w - w) / 2, box.y + (box.h - h) / 2, w, h)
    else:
        note = "暂无照片" if not doc.photo else "照片无法显示"
        typeset.draw(
            canvas, box.x + box.w / 2, box.y + box.h / 2, note, 9, anchor="centre", colour=GREY
        )
    if layout.photo_caption:
        typeset.draw(
            canvas,
            box.x + box.w / 2,
            box.y - 5 * mm,
            layout.photo_caption,
            10,
            anchor="centre",
            colour=GREY,
        )


def _seal(canvas: Canvas, doc: FaceDocument, layout: GroupLayout, set_: ItemsLayout) -> None:
    """The seal over the 核发机关 line (or, failing that, above the footer on the right)."""
    diameter = layout.seal_diameter
    row = next((r for r in set_.rows if r.label == "核发机关"), None)
    if row is None:
        cx, cy = layout.content.right - diameter, layout.content.y + diameter / 2
    else:
        # Stamped over the end of the authority's name, as a clerk stamps a paper licence.
        text_width = typeset.width(row.lines[0][1], set_.size)
        cy = row.baseline + set_.size * 0.35
        cx = set_.value_x + text_width - diameter * 0.12
        right = _right_limit(layout, cy - diameter / 2, cy + diameter / 2)
        cx = max(set_.value_x, min(cx, right - diameter / 2))
    draw_seal(canvas, cx, cy, diameter, doc.authority_name)


def _invalid_mark(canvas: Canvas, doc: FaceDocument, layout: GroupLayout) -> None:
    """A banner in the corner and a large diagonal stamp across the items, clear of the code."""
    label = doc.status_label or ""
    width, height = layout.page
    banner = 12
    text_w = typeset.width(label, banner)
    x, y = width - 14 * mm - text_w - 6 * mm, height - 24 * mm
    canvas.saveState()
    canvas.setStrokeColorRGB(*MARK_RED)
    canvas.setLineWidth(1.2)
    canvas.roundRect(x, y, text_w + 6 * mm, banner + 3 * mm, 2 * mm, stroke=1, fill=0)
    canvas.restoreState()
    typeset.draw(canvas, x + 3 * mm, y + 1.8 * mm, label, banner, bold=True, colour=MARK_RED)

    box = _free_area(layout)
    angle = max(15.0, min(40.0, math.degrees(math.atan2(box.h, box.w))))
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    per_point = max(typeset.width(label, 1), 1.0)  # text width at size 1
    size = 0.9 * min(box.w / (per_point * cos + sin), box.h / (per_point * sin + cos))
    size = min(size, 72.0)
    canvas.saveState()
    canvas.setFillAlpha(0.3)
    canvas.setStrokeAlpha(0.3)
    canvas.translate(box.x + box.w / 2, box.y + box.h / 2)
    canvas.rotate(angle)
    typeset.draw(canvas, 0, -size * 0.36, label, size, anchor="centre", bold=True, colour=MARK_RED)
    canvas.restoreState()


def _free_area(layout: GroupLayout) -> Box:
    """The largest part of the items' area that the photo and the code leave free: the full
    width between them, or the full height to their left, whichever is larger."""
    content = layout.content
    obstacles = _obstacles(layout)
    left = Box(
        content.x, content.y, min(b.x for b in obstacles) - _OBSTACLE_GAP - content.x, content.h
    )
    edges = sorted({content.y, content.top, *(b.y for b in obstacles), *(b.top for b in obstacles)})
    best = left
    for low, high in itertools.pairwise(edges):
        if not any(b.overlaps_rows(low, high) for b in obstacles):
            band = Box(content.x, low + _OBSTACLE_GAP, content.w, high - low - 2 * _OBSTACLE_GAP)
            if band.h > 0 and band.w * band.h > best.w * best.h:
                best = band
    return best


def _footer(canvas: Canvas, doc: FaceDocument, layout: GroupLayout) -> None:
    width, _ = layout.page
    if doc.identifier:
        typeset.draw(
            canvas,
            width / 2,
            19 * mm,
            f"电子证照标识：{doc.identifier}",
            7.5,
            anchor="centre",
            colour=GREY,
        )
    footer = FOOTER.format(province=doc.province_name)
    typeset.draw(canvas, width / 2, 13 * mm, footer, 9.5, anchor="centre", colour=GREY)


def render_pdf(doc: FaceDocument) -> bytes:
    """The face as a one-page PDF with the font and the signed e-cert embedded.

    The PDF is deterministic: the same document gives the same bytes. Its subject and keywords
    carry the e-cert identifier.
    """
    if not doc.qr_text:
        raise FaceRenderError("缺少二维码内容", code="render.no_qr", field="qr_text")
    doc = _printable(doc)
    cert_type = doc.cert_type
    layout = LAYOUTS[cert_type.group]
    all_text = "".join(
        [*doc.title_lines, doc.number, doc.authority_name, doc.province_name]
        + [label + value for label, value in doc.items]
    )
    typeset.warn_missing(all_text, f"{cert_type.name} {doc.number}")

    buffer = io.BytesIO()
    canvas = Canvas(
        buffer,
        pagesize=layout.page,
        invariant=True,
        initialFontName=typeset.FONT_NAME,  # type: ignore[arg-type]  # stubs say float
        lang="zh-CN",
    )
    name = "".join(doc.title_lines[1:]) or cert_type.name
    canvas.setTitle(f"{name} {doc.number}".strip())
    canvas.setSubject(doc.identifier)
    canvas.setKeywords(
        ", ".join(k for k in (doc.identifier, doc.type_code, "道路运输电子证照") if k)
    )
    canvas.setAuthor(doc.authority_name)
    canvas.setCreator("roadcert")

    width, height = layout.page
    _frame(canvas, width, height)
    _titles(canvas, doc, layout)
    set_ = layout_items(layout, doc.items)
    _items(canvas, set_, layout.content)
    _photo(canvas, doc, layout)
    _qr(canvas, layout.qr, doc.qr_text)
    _seal(canvas, doc, layout, set_)
    if doc.invalid:
        _invalid_mark(canvas, doc, layout)
    _footer(canvas, doc, layout)
    canvas.showPage()
    if doc.attachment is not None:
        embed(canvas, doc.attachment)
    with typeset.subset_lock:
        canvas.save()
    return buffer.getvalue()


def _printable(doc: FaceDocument) -> FaceDocument:
    """The document with every printed string made printable (see ``typeset.printable``)."""
    clean = typeset.printable
    return dataclasses.replace(
        doc,
        title_lines=tuple(clean(line) for line in doc.title_lines),
        number=clean(doc.number),
        items=[(clean(label), clean(value, newlines=True)) for label, value in doc.items],
        authority_name=clean(doc.authority_name),
        province_name=clean(doc.province_name),
        identifier=clean(doc.identifier),
        status_label=clean(doc.status_label) if doc.status_label else doc.status_label,
    )


def render_png(doc: FaceDocument, dpi: int = 150) -> bytes:
    """The same face as a PNG, rasterised from its PDF at ``dpi`` (36–600)."""
    if not 36 <= dpi <= 600:
        raise FaceRenderError(
            f"分辨率应在 36–600 dpi 之间：{dpi}", code="render.bad_dpi", field="dpi"
        )
    pdf = render_pdf(dataclasses.replace(doc, attachment=None))
    return raster.pdf_page_png(pdf, dpi=dpi)


# -- samples --------------------------------------------------------------------------------------


def sample_document(type_code: str, *, status_label: str = VALID_LABEL) -> FaceDocument:
    """A face of ``type_code`` with sample values (see :mod:`roadcert.render.samples`)."""
    cert_type = by_type_code(type_code)
    describe = samples.describe(cert_type.type_code, status_label=status_label)
    kind = "car" if cert_type.suffix == "073" else str(cert_type.photo)
    photo = samples.photo(kind) if cert_type.photo else None
    return face_document(
        describe,
        photo,
        samples.qr_text(cert_type.type_code),
        samples.PROVINCE,
        b"sample e-cert " + cert_type.type_code.encode(),
    )


def write_samples(out_dir: Path, dpi: int = 150) -> list[Path]:
    """Write the PDF and PNG face of every type, and one seal, into ``out_dir``."""
    from roadcert.catalog.types import CATALOGUE

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for cert_type in CATALOGUE.values():
        doc = sample_document(cert_type.type_code)
        stem = f"face-{cert_type.suffix}"
        started = time.perf_counter()
        pdf = render_pdf(doc)
        elapsed = time.perf_counter() - started
        (out_dir / f"{stem}.pdf").write_bytes(pdf)
        (out_dir / f"{stem}.png").write_bytes(render_png(doc, dpi))
        written += [out_dir / f"{stem}.pdf", out_dir / f"{stem}.png"]
        print(f"{stem} {cert_type.name}: {len(pdf)} bytes, {elapsed * 1000:.1f} ms")
    seal = out_dir / "seal.png"
    seal.write_bytes(seal_png(samples.AUTHORITY))
    written.append(seal)
    return written


def main(argv: list[str] | None = None) -> int:
    """``python -m roadcert.render.faces --sample DIR``: write sample faces for review."""
    parser = argparse.ArgumentParser(
        prog="python -m roadcert.render.faces", description=main.__doc__
    )
    parser.add_argument("--sample", type=Path, required=True, metavar="DIR")
    parser.add_argument("--dpi", type=int, default=150)
    args = parser.parse_args(argv)
    for path in write_samples(args.sample, args.dpi):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

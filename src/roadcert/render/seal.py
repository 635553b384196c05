"""The issuing authority's red round seal (公章), drawn from its name.

A round official seal: a red ring, the authority's name along the upper arc, a five-pointed star
in the centre and a caption across the lower half ("电子证照专用章"). The picture is
decoration: what makes an e-cert genuine is its SM2 signature, which the 2D code and the embedded
e-cert carry. One vector drawing serves the faces (``draw_seal`` on their canvas) and the
stand-alone picture (``seal_png``, rasterised from a one-seal PDF), so the seal is defined once.
"""

from __future__ import annotations

import io
import math

from reportlab.pdfgen.canvas import Canvas

from roadcert.render import raster, typeset

SEAL_RED: typeset.Colour = (0.86, 0.08, 0.09)
SEAL_CAPTION = "电子证照专用章"

# Proportions of a 42 mm official seal, as fractions of the diameter.
_RING = 0.034  # ring stroke
_STAR = 0.17  # star's outer radius
_NAME_HEIGHT = 0.17  # height (em) of a name character when the name is short
_NAME_STEP = 32.0  # degrees between characters of a short name
_NAME_SPAN_MAX = 236.0  # degrees of arc the name may take
_NAME_SQUEEZE = 0.78  # seal characters are narrower than they are tall


def _star(canvas: Canvas, cx: float, cy: float, radius: float) -> None:
    path = canvas.beginPath()
    for i in range(10):
        r = radius if i % 2 == 0 else radius * 0.382
        angle = math.radians(90 + i * 36)
        x, y = cx + r * math.cos(angle), cy + r * math.sin(angle)
        if i == 0:
            path.moveTo(x, y)
        else:
            path.lineTo(x, y)
    path.close()
    canvas.drawPath(path, stroke=0, fill=1)


def _name_arc(
    canvas: Canvas, cx: float, cy: float, diameter: float, inner: float, name: str
) -> None:
    """The name along the upper arc, tops outward, spread over up to 236 degrees.

    Characters are spaced about 32 degrees apart, as on a cut seal; a long name gets smaller
    characters so that it stays within the arc.
    """
    height = diameter * _NAME_HEIGHT
    step = min(_NAME_STEP, _NAME_SPAN_MAX / max(1, len(name) - 1))
    baseline = inner - height * 0.84
    while height > diameter * 0.06:
        baseline = inner - height * 0.84
        # angular width of one character at its middle height: the ink is 0.87 em wide,
        # and the stroke that makes it bold adds a little
        ink = math.degrees(height * 0.95 * _NAME_SQUEEZE / (baseline + height * 0.36))
        if ink <= step * 0.82:
            break
        height *= 0.95
    span = step * (len(name) - 1)
    for i, ch in enumerate(name):
        angle = 90 + span / 2 - i * step
        canvas.saveState()
        canvas.translate(cx, cy)
        canvas.rotate(angle - 90)
        canvas.scale(_NAME_SQUEEZE, 1)
        typeset.draw(canvas, 0, baseline, ch, height, anchor="centre", bold=True, colour=SEAL_RED)
        canvas.restoreState()


def draw_seal(
    canvas: Canvas,
    cx: float,
    cy: float,
    diameter: float,
    authority_name: str,
    *,
    caption: str | None = SEAL_CAPTION,
    opacity: float = 0.88,
) -> None:
    """Draw the seal centred on (``cx``, ``cy``), ``diameter`` points across.

    It multiplies onto what is below it, like ink, so the text it covers stays readable.
    """
    typeset.warn_missing(authority_name, "印章")
    canvas.saveState()
    canvas.setBlendMode("Multiply")
    canvas.setFillAlpha(opacity)
    canvas.setStrokeAlpha(opacity)
    canvas.setFillColorRGB(*SEAL_RED)
    canvas.setStrokeColorRGB(*SEAL_RED)

    ring = diameter * _RING
    radius = diameter / 2 - ring / 2
    canvas.setLineWidth(ring)
    canvas.circle(cx, cy, radius, stroke=1, fill=0)
    _star(canvas, cx, cy, diameter * _STAR)

    name = authority_name.strip()
    if name:
        _name_arc(canvas, cx, cy, diameter, radius - ring * 1.3, name)

    if caption:
        # Across the lower half, between the two ends of the name: at most half the diameter.
        size = min(diameter * 0.085, diameter * 0.5 / (len(caption) * 0.9))
        canvas.saveState()
        canvas.translate(cx, cy - diameter * 0.31)
        canvas.scale(0.9, 1)
        typeset.draw(canvas, 0, 0, caption, size, anchor="centre", bold=True, colour=SEAL_RED)
        canvas.restoreState()
    canvas.restoreState()


def seal_pdf(authority_name: str, diameter: float = 42 * 72 / 25.4) -> bytes:
    """A one-page PDF exactly one seal wide, transparent around the seal."""
    typeset.font()
    buffer = io.BytesIO()
    canvas = Canvas(
        buffer,
        pagesize=(diameter, diameter),
        invariant=True,
        # The page starts in our font, so the PDF names no font it does not embed.
        initialFontName=typeset.FONT_NAME,  # type: ignore[arg-type]  # stubs say float
    )
    canvas.setTitle(f"{authority_name} 印章")
    canvas.setCreator("roadcert")
    draw_seal(canvas, diameter / 2, diameter / 2, diameter * 0.98, authority_name)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def seal_png(authority_name: str, size_px: int = 300) -> bytes:
    """The seal as a square PNG of ``size_px`` pixels with a transparent background."""
    if not 16 <= size_px <= 4000:
        raise ValueError(f"印章图片边长应在 16–4000 像素之间：{size_px}")
    pdf = seal_pdf(authority_name)
    return raster.pdf_page_png(pdf, width_px=size_px, transparent=True)

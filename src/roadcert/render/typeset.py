"""Chinese text on a reportlab canvas: the packaged font, widths, wrapping, spaced labels.

Every face and seal is set in the one TrueType font shipped in ``render/fonts`` (see its README),
registered with reportlab once per process. reportlab embeds the glyphs a PDF uses, so the PDF
shows Chinese wherever it is opened. Characters the font lacks print as an empty box and are
logged, never raised: a rare character in a name must not stop a certificate from printing.
"""

from __future__ import annotations

import io
import logging
import re
import threading
import unicodedata
from importlib import resources

from reportlab import rl_config
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

log = logging.getLogger(__name__)

FONT_NAME = "RoadcertCJK"
FONT_FILE = "WenQuanYiMicroHei-GBK.ttf"

Colour = tuple[float, float, float]
INK: Colour = (0.1, 0.1, 0.1)

_register_lock = threading.Lock()
# reportlab subsets a registered TrueType font through one shared read position in the font
# file, so two threads saving PDFs at once would interleave their reads: saves take turns.
subset_lock = threading.Lock()
_font: TTFont | None = None


def font() -> TTFont:
    """The registered face font, loading it on first use (about 0.15 s, once per process)."""
    global _font
    if _font is None:
        with _register_lock:
            if _font is None:
                data = (resources.files("roadcert.render") / "fonts" / FONT_FILE).read_bytes()
                loaded = TTFont(FONT_NAME, io.BytesIO(data))
                pdfmetrics.registerFont(loaded)
                # Streams are deflated; reportlab would also wrap them in ASCII85, which
                # makes PDFs a quarter larger and costs a third of the drawing time.
                rl_config.useA85 = 0
                _font = loaded
    return _font


def printable(text: str, *, newlines: bool = False) -> str:
    """``text`` with what cannot be printed taken out: control and format characters (bidi
    overrides, zero-width spaces) are dropped, tabs become spaces, lone surrogates (which JSON
    can carry) become U+FFFD. ``newlines`` keeps line breaks, which separate a value's lines."""
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        if ch == "\n" and newlines:
            out.append(ch)
        elif ch == "\t":
            out.append(" ")
        elif category == "Cs":
            out.append("\ufffd")
        elif category not in ("Cc", "Cf"):
            out.append(ch)
    return "".join(out)


def missing_characters(text: str) -> list[str]:
    """The distinct characters of ``text`` the font cannot draw (whitespace aside)."""
    glyphs = font().face.charToGlyph
    return list(dict.fromkeys(ch for ch in text if ord(ch) not in glyphs and not ch.isspace()))


def warn_missing(text: str, where: str) -> None:
    """Log the characters of ``text`` that will print as a box."""
    missing = missing_characters(text)
    if missing:
        points = ", ".join(f"U+{ord(ch):04X} {ch}" for ch in missing)
        log.warning("字体缺字，%s 中以方框显示：%s", where, points)


def width(text: str, size: float) -> float:
    """Width of ``text`` in points at ``size``."""
    font()
    return float(pdfmetrics.stringWidth(text, FONT_NAME, size))


# A run of Latin letters, digits and ASCII punctuation is kept whole when a line breaks (plate
# numbers, dimensions, dates); any other character may break before it. Chinese does not
# break before closing punctuation, nor after opening punctuation.
_TOKEN = re.compile(r"[A-Za-z0-9.\-×/:+*#_~]+|\s+|.", re.DOTALL)
_NO_BREAK_BEFORE = set("，。、；：？！）》」』】〕…%)]}")
_NO_BREAK_AFTER = set("（《「『【〔([{")


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    for match in _TOKEN.finditer(text):
        token = match.group()
        if tokens and (token[0] in _NO_BREAK_BEFORE or tokens[-1][-1] in _NO_BREAK_AFTER):
            tokens[-1] += token
        else:
            tokens.append(token)
    return tokens


def wrap(text: str, widths: list[float] | float, size: float) -> list[str]:
    """Break ``text`` into lines no wider than the widths given line by line.

    ``widths`` is one width for every line, or a list whose last entry applies to the lines past
    its end (a value beside a photo may get narrower lines first). Explicit newlines are kept;
    a token wider than a whole line is cut by character.
    """
    line_widths = [widths] if isinstance(widths, (int, float)) else list(widths)
    lines: list[str] = []

    def limit() -> float:
        return line_widths[min(len(lines), len(line_widths) - 1)]

    for paragraph in text.split("\n"):
        line = ""
        for token in _tokens(paragraph):
            if width(line + token, size) <= limit():
                line += token
                continue
            if line.strip():
                lines.append(line.rstrip())
                line = ""
            token = token.lstrip()
            while token and width(token, size) > limit():
                cut = 1
                while cut < len(token) and width(token[: cut + 1], size) <= limit():
                    cut += 1
                lines.append(token[:cut])
                token = token[cut:]
            line = token
        lines.append(line.rstrip())
    return lines


def draw(
    canvas: Canvas,
    x: float,
    y: float,
    text: str,
    size: float,
    *,
    anchor: str = "left",
    bold: bool = False,
    colour: Colour = INK,
) -> None:
    """Draw one line with its baseline at ``y``; ``anchor`` is left, centre or right.

    The fill colour is left set to ``colour``.

    The font has one weight; ``bold`` strokes the outline as well as filling it, which is how
    Chinese documents set 黑体 titles without a bold face.
    """
    font()
    if anchor == "centre":
        x -= width(text, size) / 2
    elif anchor == "right":
        x -= width(text, size)
    obj = canvas.beginText(x, y)
    obj.setFont(FONT_NAME, size)
    if not bold:
        canvas.setFillColorRGB(*colour)
        obj.textOut(text)
        canvas.drawText(obj)
        return
    canvas.saveState()
    canvas.setFillColorRGB(*colour)
    canvas.setStrokeColorRGB(*colour)
    canvas.setLineWidth(size * 0.035)
    obj.setTextRenderMode(2)
    obj.textOut(text)
    canvas.drawText(obj)
    canvas.restoreState()


_UNIT = re.compile(r"\([^)]*\)|（[^）]*）|.")


def draw_spaced(
    canvas: Canvas,
    x: float,
    y: float,
    text: str,
    size: float,
    span: float,
    *,
    colour: Colour = INK,
) -> None:
    """Draw a label spread evenly over ``span`` points (分散对齐), as printed certificates do.

    A bracketed part such as the "(座)" of "吨(座)位" moves as one unit.
    """
    units = _UNIT.findall(text)
    if len(units) < 2:
        draw(canvas, x, y, text, size, colour=colour)
        return
    total = sum(width(unit, size) for unit in units)
    gap = max(0.0, (span - total) / (len(units) - 1))
    for unit in units:
        draw(canvas, x, y, unit, size, colour=colour)
        x += width(unit, size) + gap

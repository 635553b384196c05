"""Make the Chinese font roadcert embeds in its PDF faces (a maintainer's tool, not run at render).

The faces must show Chinese on a machine with no Chinese font installed, so the package ships
one TrueType font and embeds (a subset of) it in every PDF. reportlab embeds TrueType (``glyf``)
outlines only, not CFF, which rules out Noto/Source Han. The source is Debian's
``fonts-wqy-microhei`` (文泉驿微米黑, Apache-2.0 or GPL-3+ with the font-embedding exception;
roadcert takes it under Apache-2.0), face 0 of ``wqy-microhei.ttc``.

The subset keeps the GBK repertoire (GB 2312 plus every CJK Unified Ideograph of U+4E00–U+9FA5,
so names written with 垚、堃、喆、玥、赟 print), ASCII, Latin-1, CJK and full-width punctuation,
circled numbers and the box-drawing range GBK holds. Hinting and OpenType layout tables are
dropped: faces are printed at sizes where hinting does not matter and reportlab uses neither.

Run (needs ``pip install fonttools`` and ``apt-get install fonts-wqy-microhei``)::

    python src/roadcert/render/fonts/make_subset.py \
        /usr/share/fonts/truetype/wqy/wqy-microhei.ttc src/roadcert/render/fonts/

The output is reproducible: the same source gives the same bytes (timestamps are not renewed).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import sys
from pathlib import Path
from types import ModuleType

OUTPUT_NAME = "WenQuanYiMicroHei-GBK.ttf"
SOURCE_FACE = 0  # face 0 is the proportional "WenQuanYi Micro Hei", face 1 the Mono
NOTICE = (
    "Subset of WenQuanYi Micro Hei 0.2.0-beta to the GBK repertoire, without hinting or "
    "OpenType layout tables, made by roadcert's render/fonts/make_subset.py. Modified from "
    "the original; licensed under the Apache License, Version 2.0."
)


def gbk_repertoire() -> set[int]:
    """Every code point the GBK encoding can represent in two bytes."""
    points: set[int] = set()
    for lead in range(0x81, 0xFF):
        for trail in range(0x40, 0xFF):
            try:
                text = bytes((lead, trail)).decode("gbk")
            except UnicodeDecodeError:
                continue
            points.update(ord(ch) for ch in text)
    return points


def repertoire() -> set[int]:
    """The code points the subset keeps, before intersecting with what the font has."""
    points = gbk_repertoire()
    points.update(range(0x20, 0x7F))  # ASCII
    points.update(range(0xA0, 0x100))  # Latin-1: ×, ·, °
    points.update(range(0x2000, 0x2070))  # general punctuation: — ‘ ’ “ ” …
    points.update(range(0x3000, 0x3040))  # CJK symbols and punctuation
    points.update(range(0xFF01, 0xFF5F))  # full-width forms
    points.add(0xFFFD)
    return points


def _fonttools() -> tuple[ModuleType, ModuleType]:
    # fontTools is a maintainer's tool, not a dependency of roadcert: imported only here.
    try:
        return importlib.import_module("fontTools.subset"), importlib.import_module(
            "fontTools.ttLib"
        )
    except ImportError as exc:
        raise SystemExit("make_subset.py needs fontTools: pip install fonttools") from exc


def make_subset(source: Path, out_dir: Path) -> Path:
    """Write the subset font into ``out_dir`` and return its path."""
    subset, ttlib = _fonttools()
    font = ttlib.TTCollection(str(source)).fonts[SOURCE_FACE]
    font.recalcTimestamp = False
    cmap = font.getBestCmap()
    keep = sorted(point for point in repertoire() if point in cmap)

    options = subset.Options()
    options.hinting = False
    options.layout_features = []
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True  # a missing character prints as a box, not as nothing
    options.glyph_names = False
    options.drop_tables += ["FFTM"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=keep)
    subsetter.subset(font)

    # Apache-2.0 §4(b): a modified file carries a notice that it was changed.
    font["name"].setName(NOTICE, 10, 3, 1, 0x409)

    out = out_dir / OUTPUT_NAME
    font.save(str(out))
    check = ttlib.TTFont(str(out))
    print(
        f"{out}: {out.stat().st_size} bytes, {check['maxp'].numGlyphs} glyphs, "
        f"{len(check.getBestCmap())} characters, "
        f"sha256 {hashlib.sha256(out.read_bytes()).hexdigest()}"
    )
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line: ``make_subset.py SOURCE.ttc OUT_DIR``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="wqy-microhei.ttc")
    parser.add_argument("out_dir", type=Path, help="directory to write the subset into")
    args = parser.parse_args(argv)
    print(f"source sha256 {hashlib.sha256(args.source.read_bytes()).hexdigest()}")
    make_subset(args.source, args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())

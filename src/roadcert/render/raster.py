"""Rasterise roadcert's own PDFs to PNG with PDFium, so each picture is laid out once, as PDF.

PDFium is not thread-safe: every call goes through one lock (the API renders in a thread pool).
Only PDFs roadcert has just drawn come here; a PDF from outside is never rasterised.
"""

from __future__ import annotations

import io
import threading

import pypdfium2 as pdfium  # type: ignore[import-untyped]
from PIL import Image

_pdfium_lock = threading.Lock()

MAX_PIXELS = 40_000_000  # about A4 at 600 dpi


def pdf_page_png(
    pdf: bytes,
    *,
    dpi: float | None = None,
    width_px: int | None = None,
    transparent: bool = False,
) -> bytes:
    """The first page of ``pdf`` as PNG, at ``dpi`` or scaled to ``width_px`` pixels wide.

    ``transparent`` keeps the page background transparent (RGBA); otherwise it is white (RGB).
    """
    with _pdfium_lock:
        document = pdfium.PdfDocument(pdf)
        try:
            page = document[0]
            try:
                page_width, page_height = page.get_size()
                if width_px is not None:
                    scale = width_px / page_width
                elif dpi is not None:
                    scale = dpi / 72
                else:
                    raise ValueError("pdf_page_png needs dpi or width_px")
                if page_width * page_height * scale * scale > MAX_PIXELS:
                    raise ValueError(
                        f"图片过大：{page_width * scale:.0f}×{page_height * scale:.0f}"
                    )
                background = (255, 255, 255, 0) if transparent else (255, 255, 255, 255)
                bitmap = page.render(scale=scale, fill_color=background, draw_annots=False)
                try:
                    # to_pil may share the bitmap's memory: convert (a copy) before closing it.
                    image: Image.Image = bitmap.to_pil().convert("RGBA" if transparent else "RGB")
                finally:
                    bitmap.close()
            finally:
                page.close()
        finally:
            document.close()
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()

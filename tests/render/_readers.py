"""Reading rendered faces the way a reader would: poppler rasterises and reads the PDF, zxing-cpp
scans the code."""

from __future__ import annotations

import io
import subprocess
from dataclasses import dataclass
from pathlib import Path

import zxingcpp
from PIL import Image

TOOLS = ("pdftoppm", "pdftotext", "pdffonts")


@dataclass
class Poppler:
    """poppler-utils on PDF bytes, through files in a scratch directory."""

    workdir: Path

    def _file(self, pdf: bytes) -> Path:
        path = self.workdir / "face.pdf"
        path.write_bytes(pdf)
        return path

    def _run(self, *args: str) -> bytes:
        return subprocess.run(args, check=True, capture_output=True, timeout=60).stdout

    def png(self, pdf: bytes, dpi: int = 150) -> bytes:
        """The first page as PNG, as ``pdftoppm -png -r DPI`` draws it."""
        root = self.workdir / "page"
        self._run(
            "pdftoppm", "-png", "-r", str(dpi), "-singlefile", str(self._file(pdf)), str(root)
        )
        return root.with_suffix(".png").read_bytes()

    def text(self, pdf: bytes) -> str:
        """The page's text as ``pdftotext -layout`` extracts it, line by line as printed."""
        return self._run("pdftotext", "-layout", str(self._file(pdf)), "-").decode()

    def fonts(self, pdf: bytes) -> list[tuple[str, bool]]:
        """(font name, embedded) for each font ``pdffonts`` lists."""
        lines = self._run("pdffonts", str(self._file(pdf))).decode().splitlines()[2:]
        out = []
        for line in lines:
            fields = line.split()
            # name type… encoding emb sub uni object ID: emb is the fifth field from the end
            out.append((fields[0], fields[-5] == "yes"))
        return out


def qr_codes(png: bytes) -> list[zxingcpp.Barcode]:
    """The QR codes zxing-cpp finds in a PNG."""
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        return zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)


def qr_texts(png: bytes) -> list[str]:
    """The texts of the QR codes zxing-cpp finds in a PNG."""
    return [code.text for code in qr_codes(png)]


def squeeze(text: str) -> str:
    """Text without whitespace: spaced labels (分散对齐) come out of pdftotext with spaces."""
    return "".join(text.split())

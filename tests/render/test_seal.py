"""The authority's red round seal, drawn from its name."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from roadcert.render.seal import seal_pdf, seal_png
from tests.render._readers import Poppler


def _image(png: bytes) -> Image.Image:
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        return image.copy()


def _pixels(image: Image.Image) -> list[tuple[int, ...]]:
    data = image.tobytes()
    return [tuple(data[i : i + 4]) for i in range(0, len(data), 4)]


def _is_red(pixel: tuple[int, ...]) -> bool:
    r, g, b, a = pixel
    return a > 200 and r > 180 and g < 90 and b < 90


@pytest.mark.parametrize(
    "name", ["长春市交通运输局", "长春市地方道路运输管理局", "延边朝鲜族自治州交通运输局", "局", ""]
)
def test_seal_is_red_round_and_transparent(name: str) -> None:
    image = _image(seal_png(name, 300))
    assert image.mode == "RGBA" and image.size == (300, 300)
    for corner in [(0, 0), (299, 0), (0, 299), (299, 299), (30, 30)]:
        assert image.getpixel(corner)[3] == 0  # outside the ring: transparent
    assert _is_red(image.getpixel((150, 150)))  # the star's centre
    assert _is_red(image.getpixel((150, 4)))  # the ring at the top
    red = sum(1 for pixel in _pixels(image) if _is_red(pixel))
    assert 0.08 < red / (300 * 300) < 0.5


def test_name_is_drawn_along_the_upper_arc() -> None:
    with_name = _image(seal_png("长春市交通运输局", 200))
    without = _image(seal_png("", 200))
    upper = (40, 20, 160, 70)  # between the ring and the star, above the centre
    diff = sum(
        1
        for a, b in zip(_pixels(with_name.crop(upper)), _pixels(without.crop(upper)), strict=True)
        if a != b
    )
    assert diff > 500


def test_seal_pdf_embeds_its_font(poppler: Poppler) -> None:
    fonts = poppler.fonts(seal_pdf("长春市交通运输局"))
    assert fonts and all(embedded for _, embedded in fonts)


def test_size_is_bounded() -> None:
    with pytest.raises(ValueError):
        seal_png("长春市交通运输局", 10)
    with pytest.raises(ValueError):
        seal_png("长春市交通运输局", 10_000)

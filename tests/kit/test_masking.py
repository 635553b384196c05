"""Masking keeps what seed 000's samples keep and never the rest."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from roadcert.kit.masking import MASK, mask_address, mask_code, mask_date, mask_name, mask_plate


def test_the_seed_samples() -> None:
    assert mask_name("张三") == "张■"
    assert mask_plate("吉A01234") == "吉A0■■■■"
    assert mask_code("220122198302284055") == "22" + MASK * 16
    assert mask_name("长春市宏达运输有限责任公司") == "长春" + MASK * 9 + "公司"
    assert mask_date("2020-04-26") == "2020-■■-■■"
    assert mask_address("吉林省长春市朝阳区人民大街100号") == "吉林省长春市" + MASK * 4


def test_short_and_empty_values() -> None:
    assert mask_name("") == ""
    assert mask_name("王") == "王"
    assert mask_code("12") == MASK * 2
    assert mask_code("1234", keep_start=1, keep_end=1) == "1■■4"
    assert mask_address("吉林省") == "吉林省"


@given(st.text(alphabet="0123456789X", min_size=6, max_size=20))
def test_a_masked_code_shows_at_most_the_kept_characters(code: str) -> None:
    masked = mask_code(code)
    assert len(masked) == len(code)
    assert sum(ch != MASK for ch in masked) <= 2

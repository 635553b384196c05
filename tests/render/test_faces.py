"""Faces: every type issued through the services, rendered, rasterised by poppler and scanned."""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from roadcert.catalog.types import CATALOGUE, CertGroup, by_suffix
from roadcert.certificates.models import Ecert
from roadcert.registry.repository import LedgerRepository
from roadcert.render import faces, samples, typeset
from roadcert.render.faces import FaceDocument, FaceRenderError
from roadcert.runtime import Services
from tests import factories as f
from tests.render._readers import Poppler, qr_codes, qr_texts, squeeze

SUFFIXES = [cert_type.suffix for cert_type in CATALOGUE.values()]
REVIEW_DIR = os.environ.get("ROADCERT_FACE_SAMPLES")  # set to keep the rendered faces


def _issue(svc: Services, suffix: str) -> Ecert:
    """A realistic e-cert of the type with ``suffix``, made by a 新增 through the services."""
    auth = f.authority(svc)
    op = f.operator(svc, auth)
    type_code = by_suffix(suffix).type_code
    licence_scopes = {"008": ["02101", "02201"], "016": ["03121", "03131"], "074": ["01000"]}
    if suffix in ("008", "016", "074", "079"):
        outcome = f.licence(
            svc,
            auth,
            op,
            type_code=type_code,
            business_scopes=licence_scopes.get(suffix, ["03170"]),
        )
    elif suffix == "013":
        lic = f.licence(svc, auth, op).record
        outcome = f.vehicle(svc, auth, op, lic, photo=samples.photo("vehicle"))
    elif suffix == "073":
        lic = f.licence(
            svc, auth, op, type_code=by_suffix("074").type_code, business_scopes=["01000"]
        )
        outcome = f.vehicle(
            svc,
            auth,
            op,
            lic.record,
            photo=samples.photo("vehicle"),
            ride_hailing=True,
            vehicle_type="K33",
            plate_color="5",
            plate="吉AD12345",
        )
    else:
        categories = {"071": ("02001", "03001"), "075": ("09002",), "072": ("09003",)}[suffix]
        outcome = f.practitioner(svc, auth, categories, photo=samples.photo("person"))
    assert not outcome.effect.refused, outcome.effect.refused
    (ecert,) = [e for e in outcome.effect.issued if e.type_code == type_code]
    return ecert


def _face(svc: Services, ecert: Ecert) -> tuple[dict[str, Any], FaceDocument]:
    describe = svc.issuance.describe(ecert)
    cert_type = CATALOGUE[ecert.type_code]
    photo = None
    for entry in describe["face"]:
        if cert_type.photo is not None and entry["key"].endswith("photo"):
            stored = LedgerRepository(svc.session).photo_by_sm3(entry["value"])
            assert stored is not None
            photo = stored.content
    doc = faces.face_document(
        describe,
        photo,
        samples.qr_text(ecert.type_code),
        "吉林省",
        ecert.signed_data + ecert.signature,
    )
    return describe, doc


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_face_of_an_issued_ecert(
    services: Services, poppler: Poppler, suffix: str, tmp_path: Path
) -> None:
    ecert = _issue(services, suffix)
    describe, doc = _face(services, ecert)
    cert_type = CATALOGUE[ecert.type_code]

    assert doc.title_lines == cert_type.title_lines
    assert doc.number == ecert.number
    assert doc.identifier == ecert.identifier
    assert doc.authority_name == describe["metadata"]["ZZBFJG"]
    assert (doc.photo is not None) == (cert_type.photo is not None)
    printed = " ".join(value for _, value in doc.items)
    for entry in describe["face"]:
        if entry["key"].endswith("photo"):
            assert entry["value"] not in printed  # the digest is signed, not printed

    pdf = faces.render_pdf(doc)
    assert faces.extract_attachment(pdf) == ecert.signed_data + ecert.signature
    if services.session.get_bind().dialect.name != "sqlite":
        return  # the picture does not depend on the database: read it once

    page = poppler.png(pdf)
    (code,) = qr_codes(page)
    assert code.text == doc.qr_text
    assert code.extra["ECLevel"] == "M"
    text = squeeze(poppler.text(pdf))
    for line in doc.title_lines:
        assert line in text
    assert squeeze(doc.number) in text
    for label, _ in doc.items:
        assert squeeze(label) in text, label
    assert "数据来源：吉林省电子证照库·中华人民共和国交通运输部监制" in text
    fonts = poppler.fonts(pdf)
    assert fonts and all(embedded for _, embedded in fonts), fonts
    assert any("WenQuanYiMicroHei" in name for name, _ in fonts)

    png = faces.render_png(doc)
    assert qr_texts(png) == [doc.qr_text]
    with Image.open(io.BytesIO(png)) as image:
        landscape = cert_type.group is not CertGroup.QUALIFICATION
        assert (image.width > image.height) == landscape
    if REVIEW_DIR:
        Path(REVIEW_DIR).mkdir(parents=True, exist_ok=True)
        (Path(REVIEW_DIR) / f"face-{suffix}.png").write_bytes(png)


def _sample(suffix: str, **changes: Any) -> FaceDocument:
    return dataclasses.replace(faces.sample_document(by_suffix(suffix).type_code), **changes)


@pytest.mark.parametrize("suffix", ["008", "013", "071"])
def test_invalid_face_is_marked_and_its_code_still_scans(poppler: Poppler, suffix: str) -> None:
    doc = _sample(suffix, status_label="无效（已换发）")
    pdf = faces.render_pdf(doc)
    assert "无效（已换发）" in squeeze(poppler.text(pdf))
    assert qr_texts(poppler.png(pdf)) == [doc.qr_text]
    valid = faces.render_pdf(_sample(suffix))
    assert "无效" not in squeeze(poppler.text(valid))


def test_rare_characters_print_as_boxes_and_are_logged(
    poppler: Poppler, caplog: pytest.LogCaptureFixture
) -> None:
    doc = _sample("071")
    items = [(label, "张𠮷䶮" if label == "姓名" else value) for label, value in doc.items]
    with caplog.at_level(logging.WARNING, logger="roadcert.render.typeset"):
        pdf = faces.render_pdf(dataclasses.replace(doc, items=items, authority_name="𠮷市交通局"))
    assert "U+20BB7" in caplog.text and "U+4DAE" in caplog.text
    assert "张" in poppler.text(pdf)
    assert qr_texts(poppler.png(pdf)) == [doc.qr_text]


def test_unreadable_or_missing_photo_leaves_a_note(
    poppler: Poppler, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="roadcert.render.faces"):
        broken = faces.render_pdf(_sample("013", photo=b"\x89PNG\r\n\x1a\n truncated"))
    assert "照片无法读取" in caplog.text
    assert "照片无法显示" in squeeze(poppler.text(broken))
    missing = faces.render_pdf(_sample("071", photo=None))
    assert "暂无照片" in squeeze(poppler.text(missing))


def test_long_values_wrap_and_shrink_to_fit(poppler: Poppler) -> None:
    doc = _sample("013")
    long_items = [
        (label, value * 4 if label in ("地址", "经营范围") else value) for label, value in doc.items
    ]
    pdf = faces.render_pdf(dataclasses.replace(doc, items=long_items))
    text = squeeze(poppler.text(pdf))
    assert "技术等级评定" in text  # the last item is still on the page
    assert qr_texts(poppler.png(pdf)) == [doc.qr_text]


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.text(max_size=120), min_size=1, max_size=16),
    name=st.text(max_size=40),
    status=st.none() | st.text(max_size=20),
)
def test_any_text_renders(values: list[str], name: str, status: str | None) -> None:
    doc = faces.sample_document("11100000000019713D071")
    items = [(label, values[i % len(values)]) for i, (label, _) in enumerate(doc.items)]
    changed = dataclasses.replace(doc, items=items, authority_name=name, status_label=status)
    assert faces.render_pdf(changed).startswith(b"%PDF-")


def test_pdf_is_deterministic_and_carries_the_identifier(poppler: Poppler) -> None:
    doc = _sample("008")
    pdf = faces.render_pdf(doc)
    assert faces.render_pdf(doc) == pdf
    assert doc.identifier.encode() in pdf  # subject and keywords of the document information
    assert faces.extract_attachment(pdf) == doc.attachment
    assert faces.extract_attachment(faces.render_pdf(_sample("008", attachment=None))) is None


def test_rendering_from_threads_gives_the_same_bytes() -> None:
    docs = [faces.sample_document(code) for code in CATALOGUE]
    expected = [faces.render_pdf(doc) for doc in docs]
    pngs = [faces.render_png(doc, dpi=40) for doc in docs[:3]]
    results: dict[int, bytes] = {}
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            doc = docs[index % len(docs)]
            results[index] = faces.render_pdf(doc)
            if index < 3:
                assert faces.render_png(doc, dpi=40) == pngs[index]
        except BaseException as exc:  # handed to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(18)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert all(results[i] == expected[i % len(docs)] for i in range(18))


def test_refusals() -> None:
    with pytest.raises(FaceRenderError) as no_qr:
        faces.render_pdf(_sample("008", qr_text=""))
    assert no_qr.value.code == "render.no_qr"
    with pytest.raises(FaceRenderError) as too_long:
        faces.render_pdf(_sample("008", qr_text="A" * 5000))
    assert too_long.value.code == "render.qr_failed"
    with pytest.raises(FaceRenderError) as dpi:
        faces.render_png(_sample("008"), dpi=5000)
    assert dpi.value.code == "render.bad_dpi"
    with pytest.raises(KeyError):
        faces.render_pdf(_sample("008", type_code="11100000000019713D999"))


# -- face_document: what is printed -------------------------------------------------------------


def _items(suffix: str, **describe_changes: Any) -> dict[str, str]:
    describe = samples.describe(by_suffix(suffix).type_code) | describe_changes
    return dict(faces.face_document(describe, None, "X", "吉林省", None).items)


def test_licence_prints_dates_as_the_paper_licence() -> None:
    items = _items("008")
    assert items["证件有效期"] == "2024年04月02日至2028年03月31日"
    assert items["发证日期"] == "2024年04月02日"
    assert "有效期起" not in items and "有效期至" not in items
    assert list(items)[:3] == ["业户名称", "地址", "经营范围"]
    assert "危险货物类别" in _items("016") and "放射性物品类别" in _items("079")


def test_transport_face_items_and_review_month() -> None:
    items = _items("013")
    assert list(items) == [
        item.label for item in by_suffix("013").face if not item.key.endswith("photo")
    ]
    assert items["审验有效期至"] == "2025年04月"
    assert items["有效期至"] == "2027年04月01日"
    assert "车辆照片" not in items


def test_qualification_dates_and_categories() -> None:
    items = _items("071")
    assert items["出生日期"] == "1983-02-28"
    assert items["有效期限"] == "2030-03-31"
    # the category valid for the whole term prints alone, as in the seed sample
    assert items["从业资格类别"].splitlines() == [
        "道路货物运输驾驶员",
        "道路危险货物运输驾驶员（2024-10-19至2030-03-31）",
    ]
    assert "照片" not in items
    assert "从业资格类别" not in _items("072")


def test_face_document_fields() -> None:
    describe = samples.describe(by_suffix("013").type_code, status="superseded")
    describe["status_label"] = "无效（已换发）"
    doc = faces.face_document(describe, b"jpeg", "QR", "吉林省", b"cose")
    assert doc.photo == b"jpeg" and doc.photo_kind == "vehicle"
    assert doc.invalid and doc.status_label == "无效（已换发）"
    assert doc.attachment == b"cose" and doc.province_name == "吉林省"
    licence = faces.face_document(
        samples.describe(by_suffix("008").type_code), b"x", "QR", "吉林省", None
    )
    assert licence.photo is None and licence.photo_kind is None
    assert not licence.invalid


def test_empty_and_odd_values_print_as_given() -> None:
    describe = samples.describe(by_suffix("013").type_code)
    for entry in describe["face"]:
        if entry["key"] == "review_valid_until":
            entry["value"] = ""
        if entry["key"] == "issue_date":
            entry["value"] = "不详"
    items = dict(faces.face_document(describe, None, "X", "吉林省", None).items)
    assert items["审验有效期至"] == ""
    assert items["发证日期"] == "不详"


# -- text setting -------------------------------------------------------------------------------


def test_wrap_keeps_latin_runs_and_punctuation() -> None:
    size = 12.0
    text = "解放牌CA1250P66K2L5T3E5（重型仓栅式货车），道路普通货物运输"
    lines = typeset.wrap(text, typeset.width("CA1250P66K2L5T3E5（重", size) + 1, size)
    assert "".join(lines) == text
    assert lines[:2] == ["解放牌", "CA1250P66K2L5T3E5（重"]  # the model number stays whole
    assert not any(line.startswith(("，", "）")) for line in lines)
    assert not any(line.endswith("（") for line in lines)
    narrow_first = typeset.wrap("一二三四五六七八九十", [typeset.width("一二", size), 1000.0], size)
    assert narrow_first == ["一二", "三四五六七八九十"]
    assert typeset.wrap("甲\n乙", 1000.0, size) == ["甲", "乙"]
    assert typeset.wrap("W" * 50, typeset.width("WWW", size), size)[0] == "WWW"


def test_missing_characters() -> None:
    assert typeset.missing_characters("张垚堃喆玥赟 A1（）") == []
    assert typeset.missing_characters("𠮷䶮𠮷") == ["𠮷", "䶮"]


def test_packaged_font_covers_gb2312_and_every_gbk_hanzi() -> None:
    glyphs = typeset.font().face.charToGlyph
    gb2312_hanzi = []
    for lead in range(0xB0, 0xF8):
        for trail in range(0xA1, 0xFF):
            try:
                gb2312_hanzi.append(bytes((lead, trail)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    assert len(gb2312_hanzi) == 6763
    assert all(ord(ch) in glyphs for ch in gb2312_hanzi)
    assert all(point in glyphs for point in range(0x4E00, 0x9FA6))  # GBK's 20,902
    assert all(ord(ch) in glyphs for ch in "，。、；：？！（）《》“”…—·×～①②③ＡＢ１２")


def test_printable_drops_controls_and_mends_surrogates() -> None:
    assert typeset.printable("a\x00b\tc\u202ed\u200be\ud800") == "ab cde\ufffd"
    assert typeset.printable("甲\n乙") == "甲乙"
    assert typeset.printable("甲\r\n乙", newlines=True) == "甲\n乙"


def test_sample_command_writes_every_face(tmp_path: Path) -> None:
    assert faces.main(["--sample", str(tmp_path), "--dpi", "40"]) == 0
    names = {path.name for path in tmp_path.iterdir()}
    assert {f"face-{suffix}.png" for suffix in SUFFIXES} <= names
    assert {f"face-{suffix}.pdf" for suffix in SUFFIXES} <= names
    assert "seal.png" in names

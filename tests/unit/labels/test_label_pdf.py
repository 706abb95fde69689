"""Labels read back the way a printer and a scanner would see them."""

import re

import pytest
from labels_testkit import (
    ORIGIN,
    PUBLIC_URL,
    decode_codes,
    make_dispatch,
    need,
    page_sizes_mm,
    pdf_text,
    write,
)

from labels.layout import layout_for
from labels.render import render_labels
from logistics.domain.model import Address, Direction, Party


@pytest.mark.parametrize(("size", "mm"), [("100x150", (100.0, 150.0)), ("100x180", (100.0, 180.0))])
def test_each_label_is_one_page_of_the_exact_size(tmp_path, size, mm):
    need("pdfinfo")
    pdf = write(
        tmp_path,
        render_labels([make_dispatch(1), make_dispatch(2)], size, origin=ORIGIN, public_url=PUBLIC_URL),
    )
    assert page_sizes_mm(pdf) == [mm, mm]


@pytest.mark.parametrize("size", ["100x150", "100x180"])
def test_barcode_and_qr_scan_at_203_dpi(tmp_path, size):
    need("pdftoppm", "zbarimg")
    dispatch = make_dispatch(7)
    pdf = write(tmp_path, render_labels([dispatch], size, origin=ORIGIN, public_url=PUBLIC_URL))
    [codes] = decode_codes(pdf, tmp_path)
    assert dispatch.waybill_no in codes
    assert f"{PUBLIC_URL}/track?waybill_no={dispatch.waybill_no}" in codes


def test_the_label_prints_masked_personal_data_only(tmp_path):
    need("pdftotext")
    dispatch = make_dispatch(recipient=Party("欧阳娜娜", "13807961234"))
    text = pdf_text(
        write(tmp_path, render_labels([dispatch], "100x150", origin=ORIGIN, public_url=PUBLIC_URL))
    )
    flat = re.sub(r"\s", "", text)
    assert "13807961234" not in flat and "07961234" not in flat
    assert "欧阳娜娜" not in flat
    assert "1502" not in flat and "3栋" not in flat
    assert "欧**娜" in flat and "138******34" in flat
    assert "安福县政务服务中心" in flat and "0796-7612345" in flat
    for words in ("政务专递", "寄付月结", dispatch.case_no, "食品经营许可证×1", "0.201kg", "洲湖镇"):
        assert words in flat
    assert "11000000001 8" not in text and "1100 0000 0001 8" in text


def test_an_inbound_label_names_the_hall_as_recipient(tmp_path):
    need("pdftotext")
    dispatch = make_dispatch(direction=Direction.INBOUND)
    flat = re.sub(
        r"\s",
        "",
        pdf_text(write(tmp_path, render_labels([dispatch], "100x150", origin=ORIGIN, public_url=PUBLIC_URL))),
    )
    assert flat.index("安福县政务服务中心") < flat.index("王*明"), (
        "the recipient block comes before the sender block"
    )
    assert "材料收取" in flat


def test_a_200_character_address_stays_inside_its_box_on_the_page(tmp_path):
    need("pdftotext")
    long_detail = ("武功山大道" + "幸福里小区东门对面" * 25)[:200]
    dispatch = make_dispatch(address=Address("江西省", "吉安市", "安福县", long_detail, "343200", "洲湖镇"))
    html = pdf_text(
        write(tmp_path, render_labels([dispatch], "100x150", origin=ORIGIN, public_url=PUBLIC_URL)), "-bbox"
    )
    layout = layout_for("100x150")
    box = layout.recipient_address.box
    page_h = layout.height
    words = [(*map(float, m.groups()[:4]), m.group(5)) for m in WORD.finditer(html)]
    address_words = [w for w in words if "幸福里" in w[4] or "对面" in w[4] or "…" in w[4]]
    assert address_words, "the address is printed"
    for x0, y0, x1, y1, _ in address_words:  # pdftotext measures y downwards from the top
        assert box.x - 0.5 <= x0 and x1 <= box.right + 0.5
        assert page_h - box.top - 0.5 <= y0 and y1 <= page_h - box.y + 0.5
    for x0, y0, x1, y1, _ in words:
        assert 0 <= x0 and x1 <= layout.width and 0 <= y0 and y1 <= page_h


WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')


def test_rare_characters_render_or_show_a_visible_replacement(tmp_path):
    need("pdftotext")
    dispatch = make_dispatch(address=Address("江西省", "吉安市", "安福县", "堃赟龘𠮷村", "343200", "洲湖镇"))
    flat = re.sub(
        r"\s",
        "",
        pdf_text(write(tmp_path, render_labels([dispatch], "100x150", origin=ORIGIN, public_url=PUBLIC_URL))),
    )
    assert "堃赟龘□村" in flat


def test_a4_sheets_hold_four_labels_in_the_given_order(tmp_path):
    need("pdftotext", "pdfinfo")
    dispatches = [make_dispatch(n) for n in (5, 3, 9, 1, 7)]
    pdf = write(tmp_path, render_labels(dispatches, "a4", origin=ORIGIN, public_url=PUBLIC_URL))
    assert page_sizes_mm(pdf) == [(210.0, 297.0), (210.0, 297.0)]
    quadrants = [(0, 0), (298, 0), (0, 421), (298, 421)]
    seen = []
    for page in (1, 2):
        for x, y in quadrants:
            region = ("-f", str(page), "-l", str(page), "-x", str(x), "-y", str(y), "-W", "297", "-H", "420")
            found = re.findall(r"AF2026110500\d{3}", pdf_text(pdf, *region))
            seen.append(found[0] if found else None)
    assert seen == [d.case_no for d in dispatches] + [None, None, None]


def test_a4_labels_still_scan(tmp_path):
    need("pdftoppm", "zbarimg")
    dispatches = [make_dispatch(n) for n in range(1, 5)]
    pdf = write(tmp_path, render_labels(dispatches, "a4", origin=ORIGIN, public_url=PUBLIC_URL))
    [codes] = decode_codes(pdf, tmp_path, dpi=300)
    assert {d.waybill_no for d in dispatches} <= set(codes)


def test_an_unknown_size_is_refused():
    with pytest.raises(ValueError, match="unknown label size"):
        render_labels([make_dispatch()], "76x130", origin=ORIGIN, public_url=PUBLIC_URL)

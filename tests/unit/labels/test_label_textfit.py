from labels.fonts import load_font
from labels.layout import layout_for
from labels.textfit import ELLIPSIS, fit_text, text_width

FONT = load_font().name


def assert_inside(fitted, width, height):
    assert fitted.height <= height + 1e-6
    for line in fitted.lines:
        assert text_width(line, FONT, fitted.size) <= width + 1e-6


def test_a_200_character_address_shrinks_and_wraps_inside_the_recipient_box():
    slot = layout_for("100x150").recipient_address
    address = ("江西省吉安市安福县洲湖镇王屯村" * 14)[:200]
    fitted = fit_text(address, FONT, slot.box.w, slot.box.h, max_size=slot.max_size, min_size=slot.min_size)
    assert fitted.size < slot.max_size
    assert len(fitted.lines) > 1
    assert_inside(fitted, slot.box.w, slot.box.h)


def test_text_that_cannot_fit_at_the_smallest_size_is_cut_with_an_ellipsis():
    fitted = fit_text("很长的地址" * 200, FONT, 100, 20, max_size=12, min_size=6)
    assert fitted.size == 6
    assert fitted.lines[-1].endswith(ELLIPSIS)
    assert_inside(fitted, 100, 20)


def test_short_text_keeps_the_largest_size_on_one_line():
    fitted = fit_text("王*明  138******34", FONT, 240, 20, max_size=14)
    assert fitted.size == 14
    assert fitted.lines == ("王*明 138******34",)


def test_a_box_lower_than_the_smallest_size_gets_no_text():
    assert fit_text("地址", FONT, 100, 3, max_size=12, min_size=6).lines == ()

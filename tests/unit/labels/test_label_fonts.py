from labels.fonts import LabelFont, load_font


def test_a_truetype_cjk_font_is_embedded_when_installed():
    font = load_font()
    assert font.embedded, "fonts-wqy-zenhei is installed in this environment"


def test_characters_without_a_glyph_become_a_visible_mark_and_known_ones_stay():
    font = load_font()
    printed = font.printable("𠮷堃赟龘")
    assert printed[1:] == "堃赟龘"
    assert printed[0] == font.missing_mark
    assert len(printed) == 4


def test_the_cid_fallback_judges_glyphs_by_gbk_and_marks_the_rest():
    fallback = LabelFont("STSong-Light", embedded=False)
    assert fallback.printable("王𠮷\x07") == "王□ "


def test_loading_twice_registers_once():
    assert load_font() is load_font()

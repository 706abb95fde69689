import re

import pytest
from labels_testkit import ORIGIN, PUBLIC_URL, make_dispatch

from labels.render import render_zpl
from labels.zpl import field_data
from logistics.domain.model import Party


@pytest.mark.parametrize(("dpi", "width", "height"), [(203, 800, 1200), (300, 1200, 1800)])
def test_a_100x150_label_is_sized_in_printer_dots(dpi, width, height):
    zpl = render_zpl([make_dispatch()], dpi=dpi, origin=ORIGIN, public_url=PUBLIC_URL)
    assert f"^PW{width}\n" in zpl and f"^LL{height}\n" in zpl
    for x, y in re.findall(r"\^FO(\d+),(\d+)", zpl):
        assert 0 <= int(x) < width and 0 <= int(y) < height


def test_one_label_per_dispatch_in_order_with_utf8_declared():
    dispatches = [make_dispatch(n) for n in (4, 2, 8)]
    zpl = render_zpl(dispatches, dpi=203, origin=ORIGIN, public_url=PUBLIC_URL)
    assert zpl.count("^XA") == zpl.count("^XZ") == zpl.count("^CI28") == 3
    barcodes = re.findall(r"\^BC[^\^]*\^FH_\^FD(\d+)\^FS", zpl)
    assert barcodes == [d.waybill_no for d in dispatches]


def test_every_field_is_hex_escaped_and_the_output_is_pure_ascii():
    hostile = make_dispatch(recipient=Party("王^XZ~JA_明", "13807961234"), case_no="AF^FS~DG_1")
    zpl = render_zpl([hostile], dpi=203, origin=ORIGIN, public_url=PUBLIC_URL)
    assert zpl.isascii()
    for data in re.findall(r"\^FD(.*?)\^FS", zpl):
        assert "^" not in data and "~" not in data
    assert all(fd.startswith("^FH_") for fd in re.findall(r"\^FH_\^FD", zpl))
    assert zpl.count("^FD") == zpl.count("^FH_^FD") + zpl.count("^FDEMS^FS")
    assert "AF_5EFS_7EDG_5F1" in zpl
    assert "waybill_5Fno=" in zpl  # the QR's URL survives ^FH with its underscore escaped


def test_field_data_escapes_utf8_bytes():
    assert field_data("收a^~_") == "_E6_94_B6a_5E_7E_5F"


def test_the_zpl_label_masks_personal_data():
    zpl = render_zpl([make_dispatch()], dpi=203, origin=ORIGIN, public_url=PUBLIC_URL)
    assert "13807961234" not in zpl and "138******34" in zpl
    assert field_data("小明") not in zpl and field_data("王*明") in zpl


def test_an_unsupported_resolution_is_refused():
    with pytest.raises(ValueError, match="600 dpi"):
        render_zpl([make_dispatch()], dpi=600, origin=ORIGIN, public_url=PUBLIC_URL)

import re
from datetime import datetime

import pytest
from labels_testkit import ORIGIN, make_dispatch, need, pdf_text, write

from labels.content import NotBooked
from labels.render import render_manifest
from logistics.domain.model import Direction

AT = datetime(2026, 11, 5, 16, 30)


def test_the_manifest_lists_every_waybill_with_counts_weight_and_signature_lines(tmp_path):
    need("pdftotext", "pdfinfo")
    dispatches = [
        make_dispatch(n, direction=Direction.INBOUND if n % 10 == 0 else Direction.OUTBOUND)
        for n in range(1, 46)
    ]
    pdf = write(tmp_path, render_manifest(dispatches, origin=ORIGIN, courier="李师傅", at=AT))
    text = pdf_text(pdf)
    flat = re.sub(r"\s", "", text)
    assert all(d.waybill_no in flat for d in dispatches)
    assert len(re.findall(r"1100\d{9}", flat)) == 45, "each waybill listed once"
    assert "合计：45件（寄出41件，取件4件）" in flat
    total = sum(d.weight_g for d in dispatches) / 1000
    assert f"总重量{total:.3f}kg" in flat
    assert "交寄人（签字）" in flat and "揽收人（签字）" in flat and "揽收人：李师傅" in flat
    assert "2026-11-0516:30" in flat and "安福县政务服务中心" in flat
    assert "第1/2页" in flat and "第2/2页" in flat
    assert "洲湖镇" in flat and "王小明" not in flat and "王*明" in flat


def test_a_manifest_refuses_dispatches_without_a_waybill_number():
    with pytest.raises(NotBooked, match="AF2026110500002"):
        render_manifest(
            [make_dispatch(1), make_dispatch(2, waybill_no=None)], origin=ORIGIN, courier="李", at=AT
        )

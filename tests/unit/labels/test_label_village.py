"""A label of a parcel for a village point: addressed to the point (its name, town and address, the
clerk's phone masked), the citizen named only masked; the same words in the PDF and in ZPL; a parcel
whose point is not given (or has no address yet) keeps the citizen's own address, masked as always."""

from __future__ import annotations

from datetime import UTC, datetime

from labels_testkit import ORIGIN, PUBLIC_URL, make_dispatch, need, pdf_text, write

from labels.content import label_content
from labels.manifest import render_manifest_pdf
from labels.zpl import render_zpl_labels
from logistics.domain.model import DeliveryMethod, Party
from logistics.domain.village import point_from

POINT = point_from(
    {"code": "VP-YT01", "name": "严田村代办点", "town": "严田镇", "clerk_name": "李桂英",
     "clerk_phone": "13907960001",
     "address": {"province": "江西省", "city": "吉安市", "county": "安福县", "town": "严田镇",
                 "detail": "严田村村委会", "postcode": "343201"}},
    hall="default", now=datetime(2026, 11, 5, tzinfo=UTC),
)  # fmt: skip


def village_dispatch(**over):
    return make_dispatch(
        delivery_method=DeliveryMethod.VILLAGE_POINT, village_point_code="VP-YT01",
        recipient=Party("欧阳小明", "13807961234"), **over,
    )  # fmt: skip


def test_the_label_is_addressed_to_the_point_with_the_citizen_masked():
    content = label_content(village_dispatch(), ORIGIN, PUBLIC_URL, {("default", "VP-YT01"): POINT})
    assert content.recipient.head == "欧**明（严田村代办点）  139******01"
    assert content.recipient.address == "江西省吉安市安福县严田镇严田村村委会"
    assert content.recipient.postcode == "343201" and content.destination_town == "严田镇"
    everything = repr(content)
    assert "欧阳小明" not in everything and "13807961234" not in everything and "洲湖镇" not in everything


def hexed(text: str) -> str:
    return "".join(f"_{b:02X}" for b in text.encode())


def test_zpl_prints_the_same_point():
    zpl = render_zpl_labels([village_dispatch()], dpi=203, origin=ORIGIN, public_url=PUBLIC_URL,
                            points={("default", "VP-YT01"): POINT})  # fmt: skip
    assert hexed("严田村代办点") in zpl and hexed("欧") in zpl  # field data hex-escaped (^FH_)
    assert hexed("欧阳小明") not in zpl and hexed("洲湖镇") not in zpl


def test_without_its_point_or_its_address_the_label_keeps_the_citizens_own_address_masked():
    plain = label_content(village_dispatch(), ORIGIN, PUBLIC_URL)
    assert plain.recipient.head == "欧**明  138******34" and "洲湖镇" in plain.recipient.address
    other_hall = label_content(
        village_dispatch(hall="YX"), ORIGIN, PUBLIC_URL, {("default", "VP-YT01"): POINT}
    )
    assert "严田" not in other_hall.recipient.head


def test_the_halls_manifest_lists_a_point_parcel_under_the_points_town(tmp_path):
    need("pdftotext")
    at, points = datetime(2026, 11, 5, 10), {("default", "VP-YT01"): POINT}
    pdf = render_manifest_pdf([village_dispatch()], origin=ORIGIN, courier="张师傅", at=at, points=points)
    text = "".join(pdf_text(write(tmp_path, pdf)).split())
    assert "严田镇" in text and "欧**明" in text
    assert "洲湖镇" not in text and "欧阳小明" not in text

from dataclasses import replace

import pytest
from labels_testkit import ORIGIN, PUBLIC_URL, make_dispatch

from labels.content import NotBooked, label_content, sorting_text
from logistics.domain.hall import town_in
from logistics.domain.model import Direction


def test_outbound_label_masks_the_citizen_and_shows_the_hall_in_full():
    content = label_content(make_dispatch(), ORIGIN, PUBLIC_URL)
    assert content.recipient.head == "王*明  138******34"
    assert "1502" not in content.recipient.address and "阳光花园" in content.recipient.address
    assert content.sender.head == "安福县政务服务中心  0796-7612345"
    assert content.sorting == "江西 吉安 安福县"
    assert content.tracking_url == "https://zwfw.anfu.gov.cn/track?waybill_no=1100000000018"


def test_inbound_label_has_the_applicant_as_sender_and_the_hall_as_recipient():
    content = label_content(make_dispatch(direction=Direction.INBOUND), ORIGIN, PUBLIC_URL)
    assert content.sender.head == "王*明  138******34"
    assert content.recipient.head.startswith("安福县政务服务中心")
    assert content.inbound


def test_inbound_label_prints_the_hall_s_town_as_the_destination_town():
    inbound = make_dispatch(direction=Direction.INBOUND)
    assert label_content(make_dispatch(), ORIGIN, PUBLIC_URL).destination_town == "洲湖镇"
    assert label_content(inbound, ORIGIN, PUBLIC_URL).destination_town == "平都镇"  # from its address
    configured = replace(ORIGIN, address="凤林东路1号", town="平都镇")
    assert label_content(inbound, configured, PUBLIC_URL).destination_town == "平都镇"
    assert town_in("东门街道办事处") == "东门街道" and town_in("政务服务中心") == ""


def test_a_dispatch_without_a_waybill_number_has_no_label():
    with pytest.raises(NotBooked):
        label_content(make_dispatch(waybill_no=None), ORIGIN, PUBLIC_URL)


@pytest.mark.parametrize(
    ("province", "city", "county", "expected"),
    [
        ("广西壮族自治区", "南宁市", "兴宁区", "广西 南宁 兴宁区"),
        ("北京市", "北京市", "东城区", "北京 北京 东城区"),
        ("新疆维吾尔自治区", "伊犁哈萨克自治州", "伊宁县", "新疆 伊犁哈萨克 伊宁县"),
    ],
)
def test_sorting_text_shortens_province_and_city(province, city, county, expected):
    assert sorting_text(province, city, county) == expected


def test_the_port_adapter_renders_through_render_labels():
    from labels import PdfLabelRenderer

    pdf = PdfLabelRenderer(ORIGIN, PUBLIC_URL).render([make_dispatch()], "100x180")
    assert pdf.startswith(b"%PDF") and b"/MediaBox [ 0 0 283.4646 510.2362 ]" in pdf

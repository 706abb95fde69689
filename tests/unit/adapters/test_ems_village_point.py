"""Both EMS protocols book a parcel for a village point to the point: the Shipment the service layer
builds (`service.shipments.shipment_for`) carries the point's address, the clerk's phone and the
citizen's name masked beside the point's, and each protocol's order request says exactly that."""

from __future__ import annotations

import json

import pytest
from ems_samples import NOW, SENDER_NO, SIGN_KEY

from adapters.ems.open import mapping as open_mapping
from adapters.ems.open.settings import EmsOpenSettings
from adapters.ems.soap import mapping as soap_mapping
from adapters.ems.soap.settings import EmsSoapSettings
from logistics.config import SAMPLE_HALL
from logistics.domain.model import DeliveryMethod, Party
from logistics.domain.village import point_from
from logistics.service.shipments import shipment_for
from tests.fixtures.dispatches import make_dispatch

POINT = point_from(
    {"code": "VP-YT01", "name": "严田村代办点", "town": "严田镇", "clerk_name": "李桂英",
     "clerk_phone": "13907960001",
     "address": {"province": "江西省", "city": "吉安市", "county": "安福县", "town": "严田镇",
                 "detail": "严田村村委会", "postcode": "343200"}},
    hall="default", now=NOW,
)  # fmt: skip
DISPATCH = make_dispatch(
    "V1", delivery_method=DeliveryMethod.VILLAGE_POINT, village_point_code="VP-YT01",
    recipient=Party("欧阳小明", "13807961234"),
)  # fmt: skip
REQUESTS = {
    "ems_open": lambda s: open_mapping.create_order_request(
        s, EmsOpenSettings(endpoint="http://ems.test/api/open", sender_no=SENDER_NO, sign_key=SIGN_KEY), NOW
    ),
    "ems_soap": lambda s: soap_mapping.create_order_params(
        s, EmsSoapSettings(endpoint="http://ems.test/soap", sender_no=SENDER_NO, sign_key=SIGN_KEY), NOW
    ),
}


@pytest.mark.parametrize("protocol", sorted(REQUESTS))
def test_the_order_is_addressed_to_the_point(protocol):
    text = json.dumps(
        REQUESTS[protocol](shipment_for(DISPATCH, SAMPLE_HALL, POINT)), ensure_ascii=False, default=str
    )
    assert "严田镇严田村村委会" in text and "欧**明（严田村代办点）" in text and "13907960001" in text
    assert "欧阳小明" not in text and "13807961234" not in text and "洲湖镇" not in text


@pytest.mark.parametrize("protocol", sorted(REQUESTS))
def test_without_its_point_the_order_goes_to_the_citizen_as_before(protocol):
    text = json.dumps(
        REQUESTS[protocol](shipment_for(DISPATCH, SAMPLE_HALL)), ensure_ascii=False, default=str
    )
    assert "洲湖镇" in text and "欧阳小明" in text

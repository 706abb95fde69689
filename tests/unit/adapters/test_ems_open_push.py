from __future__ import annotations

import json

import pytest

from adapters.ems.crypto import seal
from adapters.ems.open.push import InvalidPush, parse_trace_push, push_answer
from logistics.domain.status import Status

KEY = "Y2VydHBvc3Qtc2FuZGJveA=="
SENDER = "1100000000001"
SCAN = {
    "waybillNo": "1110000001736",
    "orderNo": "RES20261105A1",
    "opTime": "2026-11-05 15:02:11",
    "opCode": "704",
    "opName": "投递结果反馈-妥投",
    "opDesc": "已妥投，本人签收",
    "opOrgCode": "34320001",
    "opOrgName": "安福县揽投部",
    "opOrgProvName": "江西省",
    "opOrgCity": "吉安市",
    "operatorNo": "0001",
    "operatorName": "李投递",
}


def push(scan=SCAN, *, key=KEY, sender=SENDER) -> dict:
    return {
        "logitcsInterface": seal(json.dumps(scan, ensure_ascii=False), key),
        "method": "040002",
        "msgType": "0",
        "senderNo": sender,
        "serialNo": "S20261105000001",
        "timeStamp": "2026-11-05 15:02:12",
        "version": "V1.0.0",
    }


def test_push_as_json_body_decodes_to_events():
    decoded = parse_trace_push(json.dumps(push()).encode(), sign_key=KEY, sender_no=SENDER)
    assert decoded.serial_no == "S20261105000001" and decoded.order_no == "RES20261105A1"
    (event,) = decoded.events
    assert (event.waybill_no, event.status, event.raw_code) == ("1110000001736", Status.DELIVERED, "704")
    assert "李投递" not in repr(event)  # the courier's name is not carried along


def test_push_as_form_fields_decodes_too():
    assert parse_trace_push(push(), sign_key=KEY, sender_no=SENDER).events[0].raw_code == "704"


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(push(key="b3RoZXIta2V5LTE2Ynl0ZQ==")),
        json.dumps(push(sender="9999")),
        json.dumps({**push(), "method": "040001"}),
        json.dumps(push(scan={"waybillNo": "1"})),
        "not json",
    ],
)
def test_untrustworthy_pushes_are_refused(body):
    with pytest.raises(InvalidPush):
        parse_trace_push(body, sign_key=KEY, sender_no=SENDER)


def test_answers():
    assert push_answer("S1", SENDER) == {
        "serialNo": "S1",
        "code": "00000",
        "codeMessage": "成功",
        "senderNo": SENDER,
    }
    assert push_answer("S1", SENDER, ok=False)["code"] != "00000"

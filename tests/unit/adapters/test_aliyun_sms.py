"""Alibaba Cloud SMS (adapters/sms/aliyun), pure parts: the RPC signature reproduces the example published
in Aliyun's SMS documentation (HTTP 协议及签名, 签名示例) to the byte; the SendSms form; the documented
error codes mapped onto the core's SMS errors; SmsReport receipts parsed; the templates' variables."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from adapters.sms.aliyun import signing
from adapters.sms.aliyun.codes import error_for
from adapters.sms.aliyun.mapping import AliyunSmsSettings, parse_receipts, parse_send_response, send_request
from logistics.domain.sms_text import TEMPLATES, render, variables
from logistics.ports import (
    SmsMisconfigured,
    SmsRejected,
    SmsTemplateMissing,
    SmsThrottled,
    SmsUnavailable,
)

# The documentation's example: AccessKeyId testId, AccessKeySecret testSecret, a GET of SendSms.
PUBLISHED = {
    "AccessKeyId": "testId",
    "Action": "SendSms",
    "Format": "XML",
    "OutId": "123",
    "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou",
    "SignName": "阿里云短信测试专用",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    "SignatureVersion": "1.0",
    "TemplateCode": "SMS_71390007",
    "TemplateParam": '{"customer":"test"}',
    "Timestamp": "2017-07-12T02:42:19Z",
    "Version": "2017-05-25",
}
PUBLISHED_QUERY = (
    "AccessKeyId=testId&Action=SendSms&Format=XML&OutId=123&PhoneNumbers=15300000001&RegionId=cn-hangzhou"
    "&SignName=%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5%8B%E8%AF%95%E4%B8%93%E7%94%A8"
    "&SignatureMethod=HMAC-SHA1&SignatureNonce=45e25e9b-0a6f-4070-8c85-2956eda1b466&SignatureVersion=1.0"
    "&TemplateCode=SMS_71390007&TemplateParam=%7B%22customer%22%3A%22test%22%7D"
    "&Timestamp=2017-07-12T02%3A42%3A19Z&Version=2017-05-25"
)
PUBLISHED_STRING_TO_SIGN_HEAD = "GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML%26OutId%3D123"
PUBLISHED_SIGNATURE = "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_the_published_example_is_reproduced_exactly():
    assert signing.canonical_query(PUBLISHED) == PUBLISHED_QUERY
    assert signing.string_to_sign(PUBLISHED, "GET").startswith(PUBLISHED_STRING_TO_SIGN_HEAD)
    assert signing.string_to_sign(PUBLISHED, "GET").endswith(
        "Timestamp%3D2017-07-12T02%253A42%253A19Z%26Version%3D2017-05-25"
    )
    assert signing.signature(PUBLISHED, "testSecret", "GET") == PUBLISHED_SIGNATURE


def test_a_changed_parameter_secret_or_method_breaks_the_signature():
    signed = signing.signed(PUBLISHED, "testSecret", "GET")
    assert signing.verify(signed, "testSecret", "GET")
    assert not signing.verify({**signed, "PhoneNumbers": "15300000002"}, "testSecret", "GET")
    assert not signing.verify(signed, "otherSecret", "GET")
    assert not signing.verify(signed, "testSecret", "POST")


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        (" ", "%20"),
        ("*", "%2A"),
        ("~", "~"),
        ("+", "%2B"),
        ("/", "%2F"),
        ("a-b_c.d", "a-b_c.d"),
        ("取", "%E5%8F%96"),
    ],
)
def test_percent_encoding_follows_rfc_3986_as_aliyun_requires(raw, encoded):
    assert signing.percent_encode(raw) == encoded


SETTINGS = AliyunSmsSettings(
    endpoint="http://127.0.0.1:1/", access_key_id="LTAI-test", access_key_secret="secret-1",
    sign_name="安福县政务服务中心", templates={"pickup_code": "SMS_900001"},
)  # fmt: skip


def test_the_send_request_carries_template_code_params_and_our_notice_as_out_id():
    params = {
        "matter_name": "食品经营许可证核发",
        "place": "县政务服务中心",
        "code": "048213",
        "expires_at": "11月8日 10:00",
    }
    form = send_request(
        SETTINGS, "13807961234", "pickup_code", params, out_id="notice-1",
        now=datetime(2026, 11, 5, 2, 0, tzinfo=UTC), nonce="n-1",
    )  # fmt: skip
    assert form["TemplateCode"] == "SMS_900001" and form["OutId"] == "notice-1"
    assert form["Action"] == "SendSms" and form["Version"] == "2017-05-25" and form["Format"] == "JSON"
    assert form["Timestamp"] == "2026-11-05T02:00:00Z" and form["SignName"] == "安福县政务服务中心"
    assert json.loads(form["TemplateParam"]) == params
    assert signing.verify(form, "secret-1", "POST")


def test_a_kind_without_a_template_code_is_not_sent():
    with pytest.raises(SmsTemplateMissing):
        send_request(SETTINGS, "13807961234", "delivered", {}, out_id="n", now=datetime.now(UTC), nonce="x")


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("isv.BUSINESS_LIMIT_CONTROL", SmsThrottled),
        ("isv.DAY_LIMIT_CONTROL", SmsThrottled),
        ("isv.MOBILE_NUMBER_ILLEGAL", SmsRejected),
        ("isv.TEMPLATE_MISSING_PARAMETERS", SmsRejected),
        ("isv.BLACK_KEY_CONTROL_LIMIT", SmsRejected),
        ("SignatureDoesNotMatch", SmsMisconfigured),
        ("InvalidAccessKeyId.NotFound", SmsMisconfigured),
        ("isv.SMS_SIGNATURE_ILLEGAL", SmsMisconfigured),
        ("isv.SMS_TEMPLATE_ILLEGAL", SmsMisconfigured),
        ("isp.RAM_PERMISSION_DENY", SmsMisconfigured),  # the key lacks permission: staff must fix it
        ("isp.SYSTEM_ERROR", SmsUnavailable),
        ("isp.SOMETHING_NEW", SmsUnavailable),
        ("NeverDocumented", SmsUnavailable),
    ],
)
def test_documented_error_codes_map_onto_the_core_s_errors(code, kind):
    error = error_for(code)
    assert type(error) is kind and error.code == code
    if kind is SmsThrottled:
        assert error.transient and error.retry_after >= 60


def test_answers_parse_to_the_biz_id_or_the_mapped_error():
    ok = b'{"Message":"OK","RequestId":"F655A8D5","Code":"OK","BizId":"900619746936498440^0"}'
    assert parse_send_response(200, ok) == "900619746936498440^0"
    with pytest.raises(SmsRejected):
        parse_send_response(200, b'{"Code":"isv.MOBILE_NUMBER_ILLEGAL","Message":"x","RequestId":"r"}')
    with pytest.raises(SmsMisconfigured):
        parse_send_response(400, b'{"Code":"SignatureDoesNotMatch","Message":"x","RequestId":"r"}')
    with pytest.raises(SmsUnavailable):
        parse_send_response(502, b"<html>Bad Gateway</html>")


def test_sms_report_receipts_are_parsed_and_a_bad_push_is_named():
    body = json.dumps([
        {"phone_number": "13807961234", "send_time": "2026-11-05 10:00:00",
         "report_time": "2026-11-05 10:00:05",
         "success": True, "err_code": "DELIVERED", "err_msg": "用户接收成功", "sms_size": "1",
         "biz_id": "932702304080415357^0", "out_id": "notice-1"},
        {"success": False, "err_code": "MK:0001", "biz_id": "2", "out_id": "notice-2"},
    ]).encode()  # fmt: skip
    first, second = parse_receipts(body)
    assert (first.out_id, first.success, first.err_code) == ("notice-1", True, "DELIVERED")
    assert (second.out_id, second.success, second.err_code) == ("notice-2", False, "MK:0001")
    with pytest.raises(ValueError, match="success"):
        parse_receipts(b'[{"out_id": "x"}]')
    with pytest.raises(ValueError, match="array"):
        parse_receipts(b'{"out_id": "x"}')


def test_templates_are_chinese_and_carry_no_personal_data():
    for kind, text in TEMPLATES.items():
        assert "您办理的" in text, kind
        assert not {"name", "phone", "recipient", "address", "id_no"} & set(variables(text)), kind
    assert variables(TEMPLATES["pickup_code"]) == ["matter_name", "place", "code", "expires_at"]
    text = render("pickup_code", {"matter_name": "营业执照", "place": "县政务服务中心", "code": "123456",
                                  "expires_at": "11月8日 10:00"}, "安福县政务服务中心")  # fmt: skip
    assert text == (
        "【安福县政务服务中心】您办理的营业执照已到县政务服务中心，"
        "取件码123456，11月8日 10:00前有效，请凭取件码领取。"
    )

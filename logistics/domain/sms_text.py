"""What the citizen reads: the SMS templates in Simplified Chinese, with `${name}` variables as SMS
providers register them (the sign name, e.g. 【安福县政务服务中心】, is put in front by the provider).

Only what the citizen needs is sent: no name, no phone, no ID number, no address beyond the place to
collect; each value is clipped to what providers accept in one variable."""

from __future__ import annotations

import re

TEMPLATES: dict[str, str] = {
    "pickup_code": "您办理的${matter_name}已到${place}，取件码${code}，${expires_at}前有效，请凭取件码领取。",
    "booked": "您办理的${matter_name}已交邮政寄出，运单号${waybill_no}，可在政务服务网“办件查询”查看进度。",
    "out_for_delivery": "您办理的${matter_name}（运单号${waybill_no}）正在派送，请保持电话畅通。",
    "delivered": "您办理的${matter_name}（运单号${waybill_no}）已签收。如非本人签收，请联系政务服务中心。",
    "delivery_failed": "您办理的${matter_name}（运单号${waybill_no}）投递未成功：${reason}。邮政将再联系您。",
}
"""Message kind → template text. The kinds are the notice kinds (a status) and `pickup_code`."""

VARIABLE_CHARS = 20
"""At most this many characters per variable (providers cap a variable at 20–35)."""

_VARIABLE = re.compile(r"\$\{(\w+)\}")


def variables(template: str) -> list[str]:
    """The variable names a template text uses, in order."""
    return _VARIABLE.findall(template)


def clip(value: object, limit: int = VARIABLE_CHARS) -> str:
    text = " ".join(str(value or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render(kind: str, params: dict, sign_name: str = "") -> str:
    """The message as the citizen's phone shows it; a variable without a value stays empty."""
    body = _VARIABLE.sub(lambda m: str(params.get(m[1], "")), TEMPLATES.get(kind, ""))
    return f"【{sign_name}】{body}" if sign_name else body

"""Chinese words for codes and zones, shared by every report."""

from __future__ import annotations

from logistics.domain.money import yuan

CODE_NAMES = {
    "duplicate": "重复计费",
    "unknown_waybill": "非我方邮件",
    "cancelled_but_billed": "已取消仍计费",
    "out_of_period": "不属本账期",
    "weight_mismatch": "计费重量不符",
    "overcharged": "多收",
    "undercharged": "少收",
    "not_billed": "未计费",
    "ok": "相符",
}
ZONE_NAMES = {"county": "县内", "city": "市内", "province": "省内", "national": "省外"}


def yuan_text(fen: int) -> str:
    return f"{yuan(fen)} 元"

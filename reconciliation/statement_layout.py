"""The statement's columns: the contract's default EMS header names, or a mapping for other layouts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# logical name -> header texts accepted by default (the first is the contract's name)
DEFAULT_HEADERS: dict[str, tuple[str, ...]] = {
    "waybill_no": ("邮件号", "运单号", "邮件号码"),
    "accepted_on": ("收寄日期", "收寄时间"),
    "province": ("寄达省",),
    "city": ("寄达市",),
    "county": ("寄达县", "寄达区县"),
    "weight_g": ("计费重量(克)", "计费重量"),
    "postage_fen": ("资费(元)",),
    "insurance_fen": ("保价费(元)",),
    "other_fen": ("其他费用(元)",),
    "billed_fen": ("应收合计(元)", "应收合计"),
}
REQUIRED = ("waybill_no", "accepted_on", "weight_g", "billed_fen")
FEE_PARTS = ("postage_fen", "insurance_fen", "other_fen")


@dataclass(frozen=True)
class Layout:
    header_row: int  # 1-based, as Excel numbers rows
    columns: dict[str, int]  # logical name -> 0-based cell index
    titles: dict[str, str]  # logical name -> header text as written in the file, for messages

    def title(self, logical: str) -> str:
        return self.titles.get(logical, DEFAULT_HEADERS[logical][0])


def normalize_header(value: object) -> str:
    text = "".join(str(value or "").split()).lstrip("\ufeff")
    return text.replace("（", "(").replace("）", ")").lower()


def accepted_headers(mapping: Mapping[str, str] | None) -> dict[str, tuple[str, ...]]:
    unknown = sorted(set(mapping or {}) - set(DEFAULT_HEADERS))
    if unknown:
        raise ValueError(f"列映射中未知的字段 {unknown[0]}（可用：{', '.join(DEFAULT_HEADERS)}）")
    chosen = {
        name: (mapping[name],) if name in (mapping or {}) else defaults
        for name, defaults in DEFAULT_HEADERS.items()
    }
    return {name: tuple(normalize_header(h) for h in headers) for name, headers in chosen.items()}


def match_header(cells: Sequence[object], accepted: dict[str, tuple[str, ...]], row: int) -> Layout | None:
    """The layout if `cells` is the header row (all required columns present), else None."""
    index = {}
    for i, cell in enumerate(cells):
        index.setdefault(normalize_header(cell), i)
    columns, titles = {}, {}
    for name, texts in accepted.items():
        for text in texts:
            if text in index:
                columns[name] = index[text]
                titles[name] = str(cells[index[text]]).strip().lstrip("\ufeff")
                break
    if not all(name in columns for name in REQUIRED):
        return None
    return Layout(row, columns, titles)


def missing_headers(accepted: dict[str, tuple[str, ...]]) -> str:
    return "、".join(accepted[name][0] for name in REQUIRED)

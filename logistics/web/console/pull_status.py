"""The pull intake's section of the admin console's system page: cursor, last success, failures, backoff
and the items reported and skipped (case number, reason and fields, never the item's personal data)."""

from __future__ import annotations

from ...config import Settings
from ...ports import UnitOfWork
from ...service.console_text import cn_time
from ...service.pull import error_code

ERROR_TEXT = {
    "unreachable": "无法连接审批系统",
    "malformed": "审批系统返回的数据格式不正确",
    "too_large": "审批系统返回的一页数据超过上限",
    "store_conflict": "保存时办件被同时写入，稍后重试",
}
REASON_TEXT = {"invalid": "内容不合格", "conflict": "与已接收的同一办件内容不同", "too_large": "超过大小上限"}


def _error_text(code: str | None) -> str:
    if code is None:
        return "—"
    if code.startswith("http_"):
        return f"审批系统返回 HTTP {code[5:]}"
    return ERROR_TEXT.get(code, code)


async def pull_view(uow: UnitOfWork, settings: Settings) -> dict | None:
    """The facts and the skipped items (templates/pull_status.html); None when pull intake is not set up."""
    if not settings.pull_url:
        return None
    client = settings.pull_client
    state = await uow.pull.state(client)
    rejects = await uow.pull.recent_rejects(client, limit=50)
    failing = state is not None and state.consecutive_failures > 0
    facts = [
        ("拉取地址", settings.pull_url),
        ("客户端", client),
        ("状态", "尚未拉取" if state is None else ("拉取失败，退避重试中" if failing else "正常")),
        ("当前游标", (state.cursor if state else None) or "（从头开始）"),
        ("最近成功", cn_time(state.last_ok_at if state else None, seconds=True)),
        ("连续失败次数", state.consecutive_failures if state else 0),
        ("最近错误", _error_text(error_code(state.last_error)) if failing else "—"),
        ("退避至", cn_time(state.next_attempt_at, seconds=True) if failing else "—"),
        ("已拉取办件", state.pulled if state else 0),
        ("已跳过的问题办件", state.rejected if state else 0),
    ]
    rows = [
        [
            cn_time(r.at, seconds=True),
            r.case_no or "（无办件号）",
            REASON_TEXT.get(r.reason, r.reason),
            "；".join(f"{e['field']}：{e['message']}" for e in r.errors),
            r.after or "（第一页）",
            r.position + 1,
        ]
        for r in rejects
    ]
    return {"facts": facts, "rejects": rows}

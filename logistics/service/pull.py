"""Pull intake: where the approval system cannot push, certpost polls it for completed cases.

`GET {pull_url}?after=<cursor>&limit=<n>`, signed like an outbound callback (over "<timestamp>." and an
empty body), answers `{"items": [<intake bodies>], "next_cursor": "…"}`. Each item is validated by the same
function as a pushed intake (injected by the composition root: validation lives with the web schemas) and
recorded by the same use case, as the pull client: same idempotency per case. The cursor moves in the
transaction that stores the page's dispatches, so it advances only once they are durable; a bad item
(invalid, or a case already received with other content) is recorded in `pull_rejects` and skipped. While
the approval system is down (unreachable, 5xx, a malformed page) polls back off exponentially."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

from ..config import Settings
from ..domain.china_time import CHINA
from ..domain.errors import Conflict, InvalidInput
from ..domain.signing import sign_headers
from ..ports.repositories.pull import Reject
from . import village_points
from .deps import Deps
from .intake import IntakeRequest, IntakeResult, record_intake_batch
from .job_contract import backoff_s

log = logging.getLogger("certpost.pull")

MAX_CURSOR_CHARS = 1000
_CASE_NO = re.compile(r"[A-Za-z0-9_\-]{1,64}")

BuildIntake = Callable[[bytes, str, datetime], IntakeRequest]
"""(item body, client id, now) → the intake request, exactly as for a push; raises InvalidInput."""


class PageSource(Protocol):
    """GETs one page from the approval system: (HTTP status, body); raises OSError when unreachable and
    `PageTooLarge` when the body passes `max_bytes`."""

    async def get(self, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, bytes]: ...


class PageTooLarge(Exception):
    pass


class _CursorMoved(Exception):
    """Another instance moved the cursor while we stored a page: roll the page back."""


class PullMisconfigured(ValueError):
    """`certpost serve` refuses to start (exit 2) with this one-line reason."""


class PageError(Exception):
    """The approval system did not give a usable page: `code` is for /healthz and the console."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


def check_settings(settings: Settings) -> None:
    if not settings.pull_url:
        return
    url = urlsplit(settings.pull_url)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise PullMisconfigured(f"CERTPOST_PULL_URL 应为 http(s) 地址，而不是 {settings.pull_url!r}")
    if not settings.pull_client:
        raise PullMisconfigured(
            "设置了 CERTPOST_PULL_URL 时必须设置 CERTPOST_PULL_CLIENT（CERTPOST_CLIENTS 中的客户端）"
        )
    if settings.pull_client not in settings.clients:
        raise PullMisconfigured(
            f"CERTPOST_PULL_CLIENT {settings.pull_client!r} 不在 CERTPOST_CLIENTS 中"
            "（拉取请求要用它的密钥签名）"
        )


@dataclass(frozen=True, slots=True)
class Page:
    items: list
    next_cursor: str | None


def parse_page(status: int, body: bytes) -> Page:
    if status != 200:
        raise PageError(f"http_{status}")
    try:
        data = json.loads(body)
    except ValueError:
        raise PageError("malformed", "not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise PageError("malformed", "no items list")
    cursor, items = data.get("next_cursor"), data["items"]
    if cursor is None and not items:
        return Page([], None)
    if not isinstance(cursor, str) or not cursor or len(cursor) > MAX_CURSOR_CHARS:
        raise PageError("malformed", "next_cursor is not a string of 1-1000 characters")
    return Page(items, cursor)


def _case_no(item: object) -> str | None:
    value = item.get("case_no") if isinstance(item, dict) else None
    return value if isinstance(value, str) and _CASE_NO.fullmatch(value) else None


class Puller:
    """Polls one approval system for the pull client. `tick` is run by the scheduler's lease holder."""

    def __init__(
        self,
        deps: Deps,
        source: PageSource,
        build: BuildIntake,
        *,
        wake: Callable[[], None] | None = None,
        leading: Callable[[], bool] = lambda: True,
        max_pages: int = 1000,
    ):
        self.deps, self.source, self.build, self.wake, self.leading = deps, source, build, wake, leading
        s = deps.settings
        self.client, self.secret, self.url = s.pull_client, s.clients[s.pull_client], s.pull_url
        self.max_pages = max_pages

    async def tick(self) -> None:
        """Page on from the stored cursor until caught up, a failure (then back off) or lease loss."""
        now = self.deps.clock.now()
        async with self.deps.uow() as uow:
            await uow.pull.ensure(self.client)
            state = await uow.pull.state(self.client)
        if state.next_attempt_at is not None and now < state.next_attempt_at:
            return  # backing off
        after = state.cursor
        for _ in range(self.max_pages):
            if not self.leading():
                return
            try:
                page = await self._fetch(after)
                moved = await self._store(after, page)
            except PageError as e:
                await self._failed(e.code, str(e))
                return
            if moved is None:  # another instance moved the cursor meanwhile
                return
            if not page.items or moved == after:
                return
            after = moved

    async def _fetch(self, after: str | None) -> Page:
        s = self.deps.settings
        headers = sign_headers(self.client, self.secret, b"", int(self.deps.clock.now().timestamp()))
        params = {"after": after or "", "limit": str(s.pull_limit)}
        try:
            status, body = await self.source.get(self.url, params, headers)
        except PageTooLarge:
            raise PageError("too_large", f"page over {s.pull_max_page_bytes} bytes") from None
        except (OSError, TimeoutError) as e:
            raise PageError("unreachable", type(e).__name__) from None
        return parse_page(status, body)

    def _prepare(self, after: str | None, page: Page, now: datetime) -> tuple[list, list[Reject]]:
        """The page's valid items as (position, intake request), and the others as rejects."""
        limit = self.deps.settings.max_body_bytes
        valid, rejects = [], []
        for pos, item in enumerate(page.items):
            errors, reason = None, "invalid"
            raw = json.dumps(item, ensure_ascii=False).encode()
            if not isinstance(item, dict):
                errors = [("body", "每一项应为一个 JSON 对象（一件办件）")]
            elif len(raw) > limit:
                errors, reason = [("body", f"超过 {limit} 字节")], "too_large"
            else:
                try:
                    valid.append((pos, self.build(raw, self.client, now)))
                except InvalidInput as e:
                    errors = e.errors
            if errors is not None:
                rejects.append(self._reject(after, pos, _case_no(item), reason, errors, now))
        return valid, rejects

    async def _to_known_points(self, after, valid: list, rejects: list[Reject], now: datetime) -> list:
        """The valid items less those for a village point their hall does not have (rejected, as a pushed
        intake is refused)."""
        kept = []
        for pos, req in valid:
            try:
                await village_points.check_intake(
                    self.deps.uow.for_hall(req.dispatch.hall)(read_only=True), req.dispatch
                )
            except InvalidInput as e:
                rejects.append(self._reject(after, pos, req.dispatch.case_no, "invalid", e.errors, now))
                continue
            kept.append((pos, req))
        return kept

    @staticmethod
    def _reject(after, pos, case_no, reason, errors, now) -> Reject:
        fields = [{"field": f, "message": m} for f, m in errors]
        return Reject(after, pos, case_no, reason, fields, now)

    async def _store(self, after: str | None, page: Page) -> str | None:
        """Store the page's items and move the cursor in one transaction; the new cursor, or None when
        another instance had moved it. A case stored meanwhile by a push is what it is now: a replay, or
        a conflict."""
        now = self.deps.clock.now()
        valid, rejects = self._prepare(after, page, now)
        valid = await self._to_known_points(after, valid, rejects, now)
        to = page.next_cursor if page.next_cursor is not None else after
        try:
            async with self.deps.uow() as uow:
                results = await record_intake_batch(uow, [r for _, r in valid]) if valid else []
                all_rejects = rejects + self._conflicts(after, valid, results, now)
                await uow.pull.add_rejects(self.client, all_rejects)
                taken = len(valid) - (len(all_rejects) - len(rejects))
                counts = {"pulled": taken, "rejected": len(all_rejects)}
                if not await uow.pull.advance(self.client, after=after, to=to, now=now, **counts):
                    raise _CursorMoved()
        except _CursorMoved:
            return None
        self._report(all_rejects, after)
        if self.wake is not None and any(isinstance(r, IntakeResult) and r.queued for r in results):
            self.wake()
        if page.items:
            new, skipped = _new(results), len(all_rejects)
            log.info("pulled %d items (%d new, %d rejected)", len(page.items), new, skipped)
        return to

    def _conflicts(self, after, valid, results, now) -> list[Reject]:
        out = []
        for (pos, req), result in zip(valid, results, strict=True):
            if isinstance(result, Conflict):
                msg = "该办件已以不同内容接收（同一办件号与方向）"
                case_no = req.dispatch.case_no
                out.append(self._reject(after, pos, case_no, "conflict", [("case_no", msg)], now))
            elif isinstance(result, Exception):
                raise result
        return out

    def _report(self, rejects: list[Reject], after: str | None) -> None:
        for r in rejects:  # case numbers and field names only: never the item's content
            fields = ",".join(e["field"] for e in r.errors)
            log.warning(
                "pull item skipped: %s case %s (position %d of the page after %r) fields %s",
                r.reason, r.case_no, r.position, after, fields,
            )  # fmt: skip

    async def _failed(self, code: str, detail: str) -> None:
        s, now = self.deps.settings, self.deps.clock.now()
        async with self.deps.uow() as uow:
            state = await uow.pull.state(self.client)
            failures = (state.consecutive_failures if state else 0) + 1
            delay = backoff_s(failures, base=s.pull_interval_s, cap=s.pull_backoff_max_s)
            retry_at = now + timedelta(seconds=delay)
            await uow.pull.failed(self.client, error=detail, now=now, retry_at=retry_at)
        text = "pull from the approval system failed: %s (%d in a row, next in %.0f s)"
        log.warning(text, code, failures, delay)


def _new(results: list) -> int:
    return sum(1 for r in results if isinstance(r, IntakeResult) and r.created)


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(CHINA).isoformat() if at else None


async def status(deps: Deps) -> dict:
    """The pull's state for /healthz: ok unless the last attempt failed."""
    client = deps.settings.pull_client
    async with deps.uow(read_only=True) as uow:  # on SQLite: no write lock for a health probe
        state = await uow.pull.state(client)
    if state is None:
        return {"ok": True, "state": "waiting", "cursor": None, "last_ok_at": None, "rejected": 0}
    failing = state.consecutive_failures > 0
    report = {
        "ok": not failing,
        "state": "failing" if failing else "ok",
        "cursor": state.cursor,
        "last_ok_at": _iso(state.last_ok_at),
        "rejected": state.rejected,
    }
    if failing:
        report |= {
            "error": error_code(state.last_error),
            "consecutive_failures": state.consecutive_failures,
            "next_attempt_at": _iso(state.next_attempt_at),
        }
    return report


def error_code(last_error: str | None) -> str | None:
    return last_error.split(":", 1)[0] if last_error else None

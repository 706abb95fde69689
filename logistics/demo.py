"""`certpost demo`: the whole story on the embedded defaults, in one process, over the public HTTP API.

The gateway (SQLite in DIR, the in-process EMS simulator at /sandbox) listens on a free loopback port;
the demo then plays the approval system (signed intake), the dispatcher (labels, manifest, handover),
the carrier (simulator control), a citizen (tracking) and finance (statement upload, reports), and
prints where everything is. Errors: `DemoRefused` (bad usage, exit 2), `DemoFailed` (exit 1)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import socket
import sys
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import aiohttp

from . import demo_data
from .domain.china_time import CHINA

log = logging.getLogger("certpost.demo")

CLIENT_ID = "approval"
STAFF = (("demo-dispatcher", "dispatcher"), ("demo-finance", "finance"), ("demo-admin", "admin"))
CONSOLE_USER = "demo-admin"
COURIER = "邮政揽投员张师傅"
DEFAULT_TIMEOUT_S = 50.0
STEP_TIMEOUT_S = 20.0
WATCHDOG_GRACE_S = 15.0
BOOKING_PENDING = frozenset({"received", "booking"})
EXPECTED = {  # status in the gateway once the simulator's scans have arrived
    "delivered": {"delivered", "awaiting_pickup"},  # a village point's parcel waits there for its citizen
    "delivery_failed": {"delivery_failed"},
    "in_transit": {"in_transit"},
}


class DemoRefused(Exception):
    """Bad usage (the output directory is not empty): exit 2."""


class DemoFailed(Exception):
    """The story did not complete: exit 1 with this one-line reason."""


@dataclass
class Outputs:
    dir: Path
    files: list[tuple[str, Path]] = field(default_factory=list)

    def write(self, name: str, label: str, content: bytes) -> Path:
        path = self.dir / name
        path.write_bytes(content)
        self.files.append((label, path))
        return path


# ---- entry point ------------------------------------------------------------------------------------


def run_demo(directory: str | Path, *, force: bool = False, timeout_s: float = DEFAULT_TIMEOUT_S) -> Path:
    """Run the story into `directory` and print the summary; the directory's absolute path."""
    try:
        out = prepare_dir(Path(directory), force=force)
    except OSError as e:
        raise DemoRefused(f"无法使用目录 {directory}：{e.strerror or e}") from None
    handler = _log_to(out / "demo.log")
    started = time.monotonic()
    watchdog = threading.Timer(timeout_s + WATCHDOG_GRACE_S, _give_up, args=(timeout_s,))
    watchdog.daemon = True
    watchdog.start()
    try:
        summary = asyncio.run(_bounded(out, timeout_s))
    except DemoFailed:
        log.exception("demo failed")
        raise
    except Exception as e:
        log.exception("demo failed")
        raise DemoFailed(f"{type(e).__name__}: {_one_line(str(e)) or 'see demo.log'}") from e
    finally:
        watchdog.cancel()
        logging.getLogger().removeHandler(handler)
        handler.close()
    print(summary.render(time.monotonic() - started))
    return out


def _give_up(timeout_s: float) -> None:
    """Last resort when the event loop itself is stuck (asyncio's timeout cannot fire): exit 1 now."""
    sys.stderr.write(f"certpost: demo failed: 超时：{timeout_s:g} 秒内未完成，强制退出 (watchdog)\n")
    sys.stderr.flush()
    os._exit(1)


def prepare_dir(path: Path, *, force: bool) -> Path:
    path = path.expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise DemoRefused(f"{path} 不是目录 (not a directory)")
    if path.is_dir() and any(path.iterdir()):
        if not force:
            raise DemoRefused(
                f"目录 {path} 不为空；换一个目录或加 --force (directory not empty, use --force)"
            )
        for child in path.iterdir():  # only what the demo writes; anything else stays
            if child.is_file() and (child.name in DEMO_FILES or child.name.startswith(DEMO_PREFIXES)):
                child.unlink()
    path.mkdir(parents=True, exist_ok=True)
    return path


DEMO_FILES = frozenset({
    "demo.log", "certpost.toml", "credentials.txt", "labels-100x150.pdf", "labels-a4.pdf", "manifest.pdf",
    "citizen-track.json", "citizen-case.json", "dispatches.json",
})  # fmt: skip
DEMO_PREFIXES = ("certpost.db", "ems-statement-", "reconciliation-")
"""What `--force` removes: the files a previous run wrote (the month-named ones by prefix)."""


def _log_to(path: Path) -> logging.Handler:
    from .logs import JsonFormatter

    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    return handler


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


async def _bounded(out: Path, timeout_s: float) -> Summary:
    deadline = asyncio.timeout(timeout_s)
    try:
        async with deadline:
            return await _story(out)
    except TimeoutError:
        if deadline.expired():
            raise DemoFailed(f"超时：{timeout_s:g} 秒内未完成 (timed out)") from None
        raise DemoFailed("等待网关应答超时 (a request to the gateway timed out)") from None


# ---- the gateway in this process -------------------------------------------------------------------


async def _story(out: Path) -> Summary:
    from aiohttp import web

    from .bootstrap import gateway
    from .config import Settings

    secret = secrets.token_hex(24)
    console_password = secrets.token_urlsafe(12)
    db_url = f"sqlite+aiosqlite:///{out / 'certpost.db'}"
    settings = Settings(  # the embedded defaults, whatever CERTPOST_* says about carrier and callbacks
        database_url=db_url, clients={CLIENT_ID: secret}, carrier="sandbox", sandbox_protocol="ems_open",
        public_url="", callback_url="", auto_book=True, pool_offline=True, log_level="INFO",
    )  # fmt: skip
    tokens = await _create_staff(settings, console_password)
    _write_config(out, db_url, secret)
    _write_credentials(out, secret, tokens, console_password)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = gateway(settings, self_url=base)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2)
    await runner.setup()
    try:
        await web.SockSite(runner, sock, shutdown_timeout=2).start()
        timeout = aiohttp.ClientTimeout(total=STEP_TIMEOUT_S)
        async with aiohttp.ClientSession(base, timeout=timeout) as http:
            outputs = Outputs(out)
            outputs.files += [
                ("数据库 (SQLite)", out / "certpost.db"),
                ("网关配置 (certpost serve --config)", out / "certpost.toml"),
                ("演示账号与令牌", out / "credentials.txt"),
                ("网关日志", out / "demo.log"),
            ]
            story = Story(http, base, secret, tokens, outputs)
            summary = await story.run()
        summary.console_password_file = out / "credentials.txt"
        return summary
    finally:
        try:
            async with asyncio.timeout(10):
                await runner.cleanup()
        except TimeoutError:
            log.warning("gateway shutdown took over 10 s")
        sock.close()


async def _create_staff(settings, console_password: str) -> dict[str, str]:
    """As `certpost users add` does: one user per role; the admin may also sign in to the console."""
    from .bootstrap import standalone
    from .service import users as user_service

    tokens = {}
    async with standalone(settings) as deps:
        now = datetime.now(CHINA)
        for name, role in STAFF:
            password = console_password if name == CONSOLE_USER else None
            tokens[role] = await user_service.create(
                deps.uow(), name, role, password=password, actor="demo", now=now
            )
    return tokens


def _write_config(out: Path, db_url: str, secret: str) -> None:
    text = (
        "# certpost configuration written by `certpost demo`: serve the demo's database with\n"
        f"#   certpost --config {out / 'certpost.toml'} serve --port 8080\n"
        f"database_url = {json.dumps(db_url)}\n\n"
        "[clients]\n"
        f"{CLIENT_ID} = {json.dumps(secret)}\n"
    )
    path = out / "certpost.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)


def _write_credentials(out: Path, secret: str, tokens: dict[str, str], console_password: str) -> None:
    lines = [
        "# certpost demo credentials (demo only: generated for this database, keep them out of production)",
        f"machine client (approval system): {CLIENT_ID}",
        f"client secret: {secret}",
        *(f"API token, {name} ({role}): {tokens[role]}" for name, role in STAFF),
        f"console: user {CONSOLE_USER}, password {console_password}",
        "",
    ]
    path = out / "credentials.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    path.chmod(0o600)


# ---- the story over HTTP ---------------------------------------------------------------------------


@dataclass
class Summary:
    dir: Path
    base: str
    files: list[tuple[str, Path]]
    outcomes: list[tuple[str, str, str, str | None]]  # role, case_no, status, waybill_no
    findings: dict[str, int]
    period: str
    console_password_file: Path | None = None
    track_query: str = ""  # a case the citizen can follow on /track

    def render(self, elapsed_s: float) -> str:
        width = max((_width(label) for label, _ in self.files), default=0)
        lines = [
            f"certpost 演示完成（用时 {elapsed_s:.1f} 秒）。输出目录：{self.dir}",
            "",
            "寄递单（审批系统签名推送）：",
            *(
                f"  {case_no}  {status:<16} {waybill or '—':<13}  {role}"
                for role, case_no, status, waybill in self.outcomes
            ),
            "",
            f"{self.period} 对账结果：" + "、".join(f"{c} {n}" for c, n in sorted(self.findings.items())),
            "",
            "输出文件：",
            *(f"  {_pad(label, width)}  {path}" for label, path in self.files),
            "",
            "群众查询（演示用网关已关闭；在 certpost serve 上）：",
            "  页面  http://127.0.0.1:8080/track",
            *(
                [f"  办件  http://127.0.0.1:8080/track?{self.track_query}  （登记→受理→审核→办结→寄出→签收）"]
                if self.track_query
                else []
            ),
            "  接口  GET http://127.0.0.1:8080/api/v1/track?waybill_no=<邮件号>&phone_last4=<手机后4位>",
            "        或 ?case_no=<办件编号>&phone_last4=<手机后4位>（姓名、电话已脱敏）",
            f"后台控制台：http://127.0.0.1:8080/console/ ，用户 {CONSOLE_USER}，密码和 API 令牌见 "
            f"{self.console_password_file or self.dir / 'credentials.txt'}",
            "在同一数据库上运行网关（EMS 模拟器的订单只在内存中，重启后为空）：",
            f"  certpost --config {self.dir / 'certpost.toml'} serve --port 8080",
        ]
        return "\n".join(lines)


class Story:
    def __init__(self, http: aiohttp.ClientSession, base: str, secret: str, tokens: dict, out: Outputs):
        self.http, self.base, self.secret, self.out = http, base, secret, out
        self.staff = {role: {"Authorization": f"Bearer {token}"} for role, token in tokens.items()}
        now = datetime.now(CHINA)
        self.today, self.period = now.strftime("%Y-%m-%d"), now.strftime("%Y-%m")
        completed = now.replace(microsecond=0).isoformat()
        self.samples = demo_data.samples(now.strftime("%Y%m%d"), completed)
        self.ids: dict[str, str] = {}  # sample key -> dispatch id
        self.dispatches: dict[str, dict] = {}  # sample key -> latest representation
        self.track_query = ""

    async def run(self) -> Summary:
        await self._healthy()
        await self.case_stages()
        await self.intake()
        await self.wait_for_booking()
        printed = [s for s in self.samples if s.printed and self._booked(s)]
        await self.labels(printed)
        await self.handover(printed)
        await self.carrier_scans()
        await self.citizen()
        findings = await self.reconcile()
        snapshot = {s.key: self.dispatches[s.key] for s in self.samples}
        self.out.write("dispatches.json", "寄递单最终状态 (JSON)", _json_bytes(list(snapshot.values())))
        outcomes = [(s.role, d["case_no"], d["status"], d.get("waybill_no")) for s, d in
                    ((s, self.dispatches[s.key]) for s in self.samples)]  # fmt: skip
        summary = Summary(self.out.dir, self.base, self.out.files, outcomes, findings, self.period)
        summary.track_query = self.track_query
        return summary

    # -- helpers

    async def _call(self, method: str, path: str, *, expect=(200,), **kwargs) -> aiohttp.ClientResponse:
        response = await self.http.request(method, path, **kwargs)
        await response.read()
        if response.status not in expect:
            text = (await response.text(errors="replace"))[:200]
            raise DemoFailed(f"{method} {path.split('?')[0]} → HTTP {response.status}: {_one_line(text)}")
        return response

    async def _json(self, method: str, path: str, *, expect=(200,), **kwargs):
        response = await self._call(method, path, expect=expect, **kwargs)
        return await response.json(content_type=None)

    async def _healthy(self) -> None:
        await self._call("GET", "/healthz")

    async def _get(self, key: str) -> dict:
        d = await self._json("GET", f"/api/v1/dispatches/{self.ids[key]}", headers=self.staff["dispatcher"])
        self.dispatches[key] = d
        return d

    async def _wait(self, key: str, ready, what: str) -> dict:
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while True:
            d = await self._get(key)
            if ready(d):
                return d
            if time.monotonic() > deadline:
                raise DemoFailed(f"{d['case_no']} 未能{what}（状态 {d['status']}）")
            await asyncio.sleep(0.05)

    def _booked(self, sample) -> bool:
        return bool(self.dispatches[sample.key].get("waybill_no"))

    # -- the approval system

    async def case_stages(self) -> None:
        """Each case's progress (登记, 受理, 审核, 办结), posted before its dispatch is submitted."""
        for sample in self.samples:
            for event in demo_data.case_stages(sample):
                body = json.dumps(event, ensure_ascii=False).encode()
                headers = demo_data.signed_headers(CLIENT_ID, self.secret, body, int(time.time()))
                path = f"/api/v1/cases/{sample.body['case_no']}/events"
                await self._call("POST", path, data=body, headers=headers, expect=(201,))
        log.info("demo case stages: %d cases", len(self.samples))

    async def intake(self) -> None:
        for point in demo_data.VILLAGE_POINTS:  # staff register the hall's village points first
            await self._call("POST", "/api/v1/village-points", json=point, headers=self.staff["dispatcher"],
                             expect=(201,))  # fmt: skip
        for sample in self.samples:
            body = json.dumps(sample.body, ensure_ascii=False).encode()
            headers = demo_data.signed_headers(CLIENT_ID, self.secret, body, int(time.time()))
            d = await self._json("POST", "/api/v1/dispatches", data=body, headers=headers, expect=(201,))
            self.ids[sample.key], self.dispatches[sample.key] = d["id"], d
            log.info("demo intake %s: %s", sample.key, d["status"])

    async def wait_for_booking(self) -> None:
        async def one(sample):
            return await self._wait(sample.key, lambda d: d["status"] not in BOOKING_PENDING, "完成下单")

        await asyncio.gather(*(one(s) for s in self.samples))
        failed = [s.key for s in self.samples if self.dispatches[s.key]["status"] == "booking_failed"]
        if failed != ["unreachable"]:
            states = {s.key: self.dispatches[s.key]["status"] for s in self.samples}
            raise DemoFailed(f"下单结果与预期不符 (booking outcomes): {states}")

    # -- the dispatcher

    async def labels(self, printed) -> None:
        ids = [self.ids[s.key] for s in printed]
        headers = self.staff["dispatcher"]
        for size, name, label in (("100x150", "labels-100x150.pdf", "热敏面单 100x150 (PDF)"),
                                  ("a4", "labels-a4.pdf", "A4 面单 (PDF)")):  # fmt: skip
            r = await self._call("POST", "/api/v1/labels", json={"ids": ids, "size": size}, headers=headers)
            self.out.write(name, label, _pdf(await r.read(), name))

    async def handover(self, printed) -> None:
        ids = [self.ids[s.key] for s in printed]
        headers = self.staff["dispatcher"]
        r = await self._call(
            "POST", "/api/v1/manifests", json={"ids": ids, "courier": COURIER}, headers=headers
        )
        self.out.write("manifest.pdf", "交接清单 (PDF)", _pdf(await r.read(), "manifest.pdf"))
        body = {"ids": ids, "courier": COURIER, "manifest_id": r.headers.get("X-Manifest-Id")}
        done = await self._json("POST", "/api/v1/manifests/confirm", json=body, headers=headers)
        if len(done["handed_over"]) != len(ids):
            raise DemoFailed(f"交接确认不完整 (handover): {len(done['handed_over'])}/{len(ids)}")

    # -- the carrier (simulator control)

    async def carrier_scans(self) -> None:
        moving = [s for s in self.samples if s.advance_to and self._booked(s)]
        for sample in moving:
            waybill = self.dispatches[sample.key]["waybill_no"]
            await self._call(  # the in-process simulator's control API is the admins'
                "POST",
                f"/sandbox/_control/parcels/{waybill}/advance",
                json={"to": sample.advance_to},
                headers=self.staff["admin"],
            )

        async def arrived(sample):
            wanted = EXPECTED[sample.advance_to]
            await self._wait(sample.key, lambda d: d["status"] in wanted, f"到达 {sample.advance_to}")

        await asyncio.gather(*(arrived(s) for s in moving))

    # -- a citizen

    async def citizen(self) -> None:
        sample = next(s for s in self.samples if s.key == "mail-delivered")
        waybill = self.dispatches[sample.key]["waybill_no"]
        query = {"waybill_no": waybill, "phone_last4": sample.phone_last4}
        found = await self._json("GET", "/api/v1/track", params=query)
        name, phone = sample.body["recipient"]["name"], sample.body["recipient"]["phone"]
        if name in json.dumps(found, ensure_ascii=False) or phone in json.dumps(found):
            raise DemoFailed("群众查询结果未脱敏 (tracking answer not masked)")
        self.out.write("citizen-track.json", "群众查询结果（已脱敏，JSON）", _json_bytes(found))
        query = {"case_no": sample.body["case_no"], "phone_last4": sample.phone_last4}
        case = await self._json("GET", "/api/v1/track", params=query)
        if [e["stage"] for e in case.get("case_events", [])] != [s for s, _, _ in demo_data.STAGES]:
            raise DemoFailed("群众按办件编号查询未见办件进度 (case progress missing)")
        label = "群众办件查询结果（办件进度与邮件，已脱敏，JSON）"
        self.out.write("citizen-case.json", label, _json_bytes(case))
        self.track_query = f"case_no={query['case_no']}&phone_last4={query['phone_last4']}"

    # -- finance

    async def reconcile(self) -> dict[str, int]:
        from reconciliation import default_tariff

        from .config import SAMPLE_HALL

        orders = (await self._json("GET", "/sandbox/_control/orders", headers=self.staff["admin"]))["orders"]
        ours = {d["waybill_no"]: d for d in self.dispatches.values() if d.get("waybill_no")}
        tariff, origin = default_tariff(), SAMPLE_HALL
        lines = [
            demo_data.priced_line(ours[o["waybill_no"]], self.today, tariff, origin)
            for o in orders
            if o.get("waybill_no") in ours
        ]
        if not lines:
            raise DemoFailed("模拟器中没有本次演示的订单 (no simulator orders)")
        over = next(i for i, ln in enumerate(lines) if ln.waybill_no == self._waybill("mail-city"))
        lines[over] = _overcharged(lines[over])
        stranger = demo_data.unknown_waybill([o["waybill_no"] for o in orders if o.get("waybill_no")])
        lines.append(demo_data.Line(stranger, self.today, "江西省", "吉安市", "安福县", 500,
                                    demo_data.UNKNOWN_FEN))  # fmt: skip
        name = f"ems-statement-{self.period}.csv"
        content = demo_data.statement_csv(lines, self.period)
        self.out.write(name, "EMS 月结对账单 (CSV, GBK)", content)

        form = aiohttp.FormData()
        form.add_field("period", self.period)
        form.add_field("file", content, filename=name, content_type="text/csv")
        headers = self.staff["finance"]
        run = await self._json("POST", "/api/v1/reconciliations", data=form, headers=headers, expect=(201,))
        for fmt in ("json", "xlsx", "pdf", "csv"):
            label = f"对账报告 ({fmt.upper()})"
            r = await self._call("GET", f"/api/v1/reconciliations/{run['id']}/report.{fmt}", headers=headers)
            self.out.write(f"reconciliation-{self.period}.{fmt}", label, await r.read())
        report = json.loads((self.out.dir / f"reconciliation-{self.period}.json").read_bytes())
        codes: dict[str, int] = {}
        for finding in report["findings"]:
            codes[finding["code"]] = codes.get(finding["code"], 0) + 1
        if not (codes.get("overcharged") and codes.get("unknown_waybill")):
            raise DemoFailed(f"对账结果缺少预置的差错 (planted findings missing): {codes}")
        return codes

    def _waybill(self, key: str) -> str:
        return self.dispatches[key]["waybill_no"]


def _overcharged(line: demo_data.Line) -> demo_data.Line:
    from dataclasses import replace

    return replace(line, postage_fen=line.postage_fen + demo_data.OVERCHARGE_FEN)


def _width(text: str) -> int:
    """Columns on a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _pdf(content: bytes, name: str) -> bytes:
    if not content.startswith(b"%PDF"):
        raise DemoFailed(f"{name} 不是 PDF (not a PDF)")
    return content


def _json_bytes(value) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode("utf-8")

"""`certpost` command line. Exit 0 ok, 2 bad usage or input (one-line reason), 1 internal failure."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from pydantic import ValidationError

from .config import Settings

ROLES = ("dispatcher", "finance", "admin")


class UsageError(Exception):
    """Bad usage or input: exit 2 with this one-line reason."""


def _settings(args) -> Settings:
    """The settings; a bad value is bad input (exit 2) naming the setting."""
    if getattr(args, "config", None):
        os.environ["CERTPOST_CONFIG"] = args.config
    try:
        return Settings()
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(map(str, err['loc'])) or 'settings'}: {err['msg']}" for err in e.errors()
        )
        raise UsageError(f"bad configuration: {problems}") from None


async def _freeze_startup_objects(_app) -> None:
    """What startup built (modules, the app, engines, schemas) lives as long as the process: keep it
    out of the garbage collector's full passes, which would otherwise walk it again and again under
    load. Measured on intake: about a quarter less CPU per request, and shorter pauses."""
    import gc

    gc.collect()
    gc.freeze()


def cmd_serve(args) -> None:
    from aiohttp import web

    from adapters.ems.credentials import CarrierCredentialsError

    from .bootstrap import gateway
    from .logs import setup_logging
    from .service.pull import PullMisconfigured

    settings = _settings(args)
    setup_logging(settings.log_level)
    self_host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
    try:
        app = gateway(settings, self_url=f"http://{self_host}:{args.port}")
    except (CarrierCredentialsError, PullMisconfigured) as e:
        raise UsageError(str(e)) from None
    app.on_startup.append(_freeze_startup_objects)
    # Keep-alive connections (the in-process simulator is called over HTTP) must not hold shutdown for
    # aiohttp's default minute: open work is in the durable queue and resumes after a restart.
    web.run_app(
        app, host=args.host, port=args.port, access_log=None, print=lambda *_: None, shutdown_timeout=3
    )


def cmd_sandbox(args) -> None:
    """The simulator alone, on its published keys (adapters.sandbox, as in `certpost serve`) unless
    --sign-key / --sender-no give others (a gateway in a real carrier mode refuses the published ones)."""
    from adapters.ems.credentials import is_sm4_key
    from adapters.sandbox import run_sandbox

    from .logs import setup_logging

    keys = {
        name: value for name, value in (("sign_key", args.sign_key), ("sender_no", args.sender_no)) if value
    }
    if "sign_key" in keys and not is_sm4_key(keys["sign_key"]):
        raise UsageError("--sign-key 应为 16 字节 SM4 密钥的 Base64 编码")
    setup_logging("INFO")
    run_sandbox(args.host, args.port, rate_limit_per_s=args.rate_limit, **keys)


def cmd_approval_sim(args) -> None:
    """The approval-system simulator for pull intake (adapters.approval.simulator)."""
    from adapters.approval.simulator import run_approval_sim

    if args.cases < 0 or not args.secret or not args.client:
        raise UsageError("--cases 不能为负数；--client 与 --secret 不能为空")
    run_approval_sim(args.host, args.port, cases=args.cases, client=args.client, secret=args.secret)


async def _users_add(
    settings: Settings, name: str, role: str, password: str | None = None, hall: str | None = None
) -> str:
    from .bootstrap import standalone
    from .domain.errors import InvalidInput
    from .service import users as user_service

    async with standalone(settings) as deps:
        async with deps.uow() as uow:
            if await uow.users.exists(name):
                raise UsageError(f"user {name} already exists")
            if hall is not None and await uow.halls.get(hall) is None:
                raise UsageError(f"--hall: no hall {hall} (certpost halls list)")
        if password is None:
            async with deps.uow() as uow:
                return await uow.users.add(name, role, now=deps.clock.now(), hall=hall)
        try:  # issue 7: with a console password
            return await user_service.create(
                deps.uow(), name, role, password=password, actor="cli", now=deps.clock.now(), hall=hall
            )
        except InvalidInput as e:
            raise UsageError("; ".join(m for _, m in e.errors)) from None


def _password_arg(args) -> str | None:
    """The console password from --password-stdin (first line of stdin) or --password, if any."""
    if getattr(args, "password_stdin", False):
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise UsageError("--password-stdin: no password on standard input")
        return line
    return getattr(args, "password", None)


def cmd_users_add(args) -> None:
    if not args.name.strip():
        raise UsageError("NAME must not be empty")
    hall = args.hall.strip() if args.hall is not None else None
    token = asyncio.run(_users_add(_settings(args), args.name.strip(), args.role, _password_arg(args), hall))
    print(f"user {args.name} ({args.role}) created; API token:")
    print(token)


async def _on_user(settings: Settings, name: str, change) -> object:
    """Run `change(new_uow, user_id, actor=, now=)` on the user called `name`; bad input → UsageError."""
    from .bootstrap import standalone
    from .domain.errors import InvalidInput, NotFound
    from .service import users as user_service

    try:
        async with standalone(settings) as deps:
            user = await user_service.by_name(deps.uow(read_only=True), name)
            return await change(deps.uow, user.id, actor="cli", now=deps.clock.now())
    except InvalidInput as e:
        raise UsageError("; ".join(m for _, m in e.errors)) from None
    except NotFound as e:
        raise UsageError(str(e)) from None


def _user_name(args) -> str:
    if not args.name.strip():
        raise UsageError("NAME must not be empty")
    return args.name.strip()


def cmd_users_passwd(args) -> None:
    """Set a user's console password (read from stdin); ends the user's sessions, lifts a lock-out and
    replaces the API token (printed on the last line)."""
    from .service import users as user_service

    name = _user_name(args)
    password = _password_arg(args) if args.password_stdin or args.password else None
    if password is None:
        import getpass

        password = (
            getpass.getpass("new password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\r\n")
        )

    async def change(new_uow, user_id, **kw):
        return await user_service.set_password(new_uow, user_id, password, **kw)

    done = asyncio.run(_on_user(_settings(args), name, change))
    print(f"password of {done.name} set; its sessions ended and its old API token stopped working.")
    print("new API token:")
    print(done.token)


def cmd_users_revoke(args) -> None:
    """End a user's API token, console sessions and password at once."""
    from .service import users as user_service

    async def change(new_uow, user_id, **kw):
        return await user_service.revoke(new_uow(), user_id, **kw)

    revoked = asyncio.run(_on_user(_settings(args), _user_name(args), change))
    print(f"user {revoked}: API token revoked, console sessions ended, password cleared")


def cmd_users_token(args) -> None:
    """Issue a new API token (printed on the last line); the old one stops working."""
    from .service import users as user_service

    async def change(new_uow, user_id, **kw):
        return await user_service.issue_token(new_uow(), user_id, **kw)

    done = asyncio.run(_on_user(_settings(args), _user_name(args), change))
    print(f"new API token of {done.name} (the old one no longer works):")
    print(done.token)


# ---- halls: many county halls in one deployment ------------------------------------------------


def _origin_arg(text: str) -> dict:
    import json

    try:
        origin = json.loads(text)
    except ValueError as e:
        raise UsageError(f"--origin: not valid JSON ({e.msg} at character {e.pos})") from None
    if not isinstance(origin, dict):
        raise UsageError("--origin: must be a JSON object (phone, province, city, county, address, postcode)")
    return origin


async def _halls_add(settings: Settings, code: str, name: str, origin: dict) -> None:
    from .bootstrap import standalone
    from .domain.errors import Conflict, InvalidInput
    from .domain.hall import hall_from_origin
    from .service import halls

    try:
        hall = hall_from_origin(code, name, origin)
        async with standalone(settings) as deps:
            await halls.add(deps.uow(), hall, now=deps.clock.now())
    except InvalidInput as e:
        raise UsageError("; ".join(f"{f}: {m}" for f, m in e.errors)) from None
    except Conflict as e:
        raise UsageError(str(e)) from None


def cmd_halls_add(args) -> None:
    asyncio.run(_halls_add(_settings(args), args.code, args.name, _origin_arg(args.origin)))
    print(f"hall {args.code} ({args.name}) added")


async def _halls_list(settings: Settings) -> list:
    from .bootstrap import standalone
    from .service import halls

    async with standalone(settings) as deps:
        return await halls.listed(deps.uow(read_only=True))


def cmd_halls_list(args) -> None:
    for hall in asyncio.run(_halls_list(_settings(args))):
        place = f"{hall.province}{hall.city}{hall.county}{hall.address}"
        print(f"{hall.code}\t{hall.name}\t{hall.phone}\t{place}")


async def _halls_tariff(settings: Settings, code: str, text: str, from_period: str) -> None:
    from . import reconcile_engine
    from .bootstrap import standalone
    from .domain.errors import InvalidInput
    from .service import halls
    from .service.reconcile_runs import check_period

    try:
        check_period(from_period)
        reconcile_engine.tariff_of(text)  # TariffError (InvalidInput) naming the key when wrong
        async with standalone(settings) as deps:
            await halls.put_tariff(deps.uow(), code, from_period, text, now=deps.clock.now())
    except InvalidInput as e:
        raise UsageError("; ".join(f"{f}: {m}" for f, m in e.errors)) from None


def cmd_halls_tariff(args) -> None:
    from pathlib import Path

    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        reason = getattr(e, "strerror", None) or e
        raise UsageError(f"cannot read tariff file {args.file}: {reason}") from None
    asyncio.run(_halls_tariff(_settings(args), args.code, text, getattr(args, "from")))
    print(f"hall {args.code}: tariff {args.file} applies from {getattr(args, 'from')}")


async def _db_upgrade(settings: Settings) -> None:
    from .bootstrap import standalone

    async with standalone(settings):  # migrates
        pass


def cmd_db_upgrade(args) -> None:
    asyncio.run(_db_upgrade(_settings(args)))
    print("database is up to date")


def cmd_db_backup(args) -> None:
    """A consistent copy of the SQLite database, safe while the gateway runs (storage/sqlite/backup.py)."""
    from pathlib import Path

    from .storage.sqlite.backup import BackupRefused, backup, sqlite_file

    try:
        done = backup(sqlite_file(_settings(args).database_url), Path(args.path))
    except BackupRefused as e:
        raise UsageError(str(e)) from None
    except OSError as e:
        raise UsageError(f"无法写入 {args.path}：{e.strerror or e}") from None
    print(f"已备份到 {done.target}（{done.bytes} 字节，完整性检查通过）")


# ---- reconcile (finance): statement + stored shipments + tariff -> report ----------------------


async def _stored_shipments(settings: Settings, hall: str, period: str) -> tuple:
    """(the hall, its own tariff's TOML for the period or None, its shipments): a statement is one hall's,
    its zones judged from that hall's origin."""
    from .bootstrap import standalone
    from .service.reconcile_runs import load_shipments

    async with standalone(settings) as deps:
        async with deps.uow(read_only=True) as uow:
            found = await uow.halls.get(hall)
            own_tariff = await uow.halls.tariff_for(hall, period)
        if found is None:
            raise UsageError(f"--hall: no hall {hall} (certpost halls list)")
        return found, own_tariff, await load_shipments(deps.for_hall(hall).uow(read_only=True))


def _one_line(e) -> str:
    reasons = [f"{field}：{message}" if field != "statement" else message for field, message in e.errors]
    return " ".join("；".join(reasons).split())


def _progress_bar():
    """A bar on stderr for statements big enough to report progress, only when a person watches."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int | None) -> None:
        pct = min(100, done * 100 // total) if total else 0
        sys.stderr.write(f"\r读取对账单 [{'#' * (pct // 4):<25}] {pct:3d}% ({done} 行)")
        sys.stderr.flush()

    return show


def cmd_reconcile(args) -> None:
    from pathlib import Path

    from reconciliation import load_tariff
    from reconciliation.reports import write_report_to
    from reconciliation.wording import yuan_text

    from . import reconcile_engine
    from .domain.errors import InvalidInput
    from .domain.hall import DEFAULT_HALL
    from .service.reconcile_runs import Upload, check_period

    settings = _settings(args)
    if args.format in ("xlsx", "pdf", "disputes") and not args.out:
        raise UsageError(f"{args.format} 是二进制格式，请用 --out PATH 指定输出文件")
    try:
        check_period(args.period)
        tariff = load_tariff(args.tariff) if args.tariff else reconcile_engine.tariff_of(None)
        content = Path(args.invoice).read_bytes()
    except InvalidInput as e:
        raise UsageError(_one_line(e)) from None
    except OSError as e:
        raise UsageError(f"无法读取对账单文件 {args.invoice}：{e.strerror or e}") from None
    stored = _stored_shipments(settings, args.hall or DEFAULT_HALL, args.period)
    hall, own_tariff, shipments = asyncio.run(stored)
    if own_tariff is not None and not args.tariff:
        tariff = reconcile_engine.tariff_of(own_tariff)  # the hall's own (certpost halls tariff)
    progress = _progress_bar()
    upload = Upload(args.period, Path(args.invoice).name, content)
    try:
        result = reconcile_engine.run(
            upload,
            shipments,
            origin=hall,
            tariff=tariff,
            on_progress=progress,
            limits=reconcile_engine.limits_of(settings),
        )
    except InvalidInput as e:
        raise UsageError(_one_line(e)) from None
    finally:
        if progress:
            sys.stderr.write("\n")
    for warning in result.warnings:
        print(f"certpost: 提示：{warning}", file=sys.stderr)
    if not args.out:
        write_report_to(result, args.format, sys.stdout.buffer)
        sys.stdout.buffer.write(b"\n" if args.format == "json" else b"")
        sys.stdout.flush()
        return
    try:
        with open(args.out, "wb", buffering=1024 * 1024) as out:  # written as it is made, never whole
            write_report_to(result, args.format, out)
    except OSError as e:
        raise UsageError(f"无法写入 {args.out}：{e.strerror or e}") from None
    t = result.totals
    done = f"{result.period} 对账完成：{t.lines} 行，差额 {yuan_text(t.difference_fen)}"
    print(f"{done}，报告已写入 {args.out}", file=sys.stderr)


# ---- end reconcile


# ---- demo: the whole story in one process (logistics/demo.py)


def cmd_demo(args) -> None:
    from .demo import DemoFailed, DemoRefused, run_demo

    try:
        run_demo(args.dir, force=args.force)
    except DemoRefused as e:
        raise UsageError(str(e)) from None
    except DemoFailed as e:
        print(f"certpost: demo failed: {e}", file=sys.stderr)
        raise SystemExit(1) from None


# ---- end demo


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="certpost", description="certpost postal dispatch gateway")
    p.add_argument("--config", help="TOML configuration file (also CERTPOST_CONFIG)")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.set_defaults(func=cmd_serve)

    sandbox = sub.add_parser("sandbox", help="run the EMS simulator alone")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8090)
    sandbox.add_argument("--rate-limit", type=float, default=None, help="requests per second it accepts")
    sandbox.add_argument("--sign-key", help="Base64 SM4 key (default: the simulator's published key)")
    sandbox.add_argument("--sender-no", help="协议客户号 (default: the simulator's published one)")
    sandbox.set_defaults(func=cmd_sandbox)

    sim = sub.add_parser("approval-sim", help="run the approval-system simulator for pull intake")  # issue 16
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8091)
    sim.add_argument("--cases", type=int, default=20, help="completed cases it starts with (default 20)")
    sim.add_argument("--client", default="approval", help="the client id certpost signs its polls as")
    sim.add_argument("--secret", default="approval-sim-secret", help="that client's shared secret")
    sim.set_defaults(func=cmd_approval_sim)

    users = sub.add_parser("users", help="staff users").add_subparsers(dest="users_command", required=True)
    add = users.add_parser("add", help="create a staff user and print its API token")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument("--hall", metavar="CODE", help="the hall the user works for (default: every hall)")
    secret = add.add_mutually_exclusive_group()  # issue 7: console sign-in
    secret.add_argument("--password-stdin", action="store_true", help="read a console password from stdin")
    secret.add_argument("--password", help="console password (visible in the process list: prefer stdin)")
    add.set_defaults(func=cmd_users_add)
    passwd = users.add_parser("passwd", help="set a user's console password (from stdin); prints a new token")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    passwd.add_argument("--password", help=argparse.SUPPRESS)
    passwd.set_defaults(func=cmd_users_passwd)
    revoke = users.add_parser("revoke", help="end a user's API token, console sessions and password at once")
    revoke.add_argument("name")
    revoke.set_defaults(func=cmd_users_revoke)
    token = users.add_parser("token", help="issue a new API token (the old one stops working) and print it")
    token.add_argument("name")
    token.set_defaults(func=cmd_users_token)

    rec = sub.add_parser("reconcile", help="reconcile a monthly EMS statement")  # finance
    rec.add_argument("invoice", metavar="INVOICE", help="the statement file (CSV or XLSX)")
    rec.add_argument("--period", required=True, help="the month, YYYY-MM")
    rec.add_argument("--hall", metavar="CODE", help="the hall whose statement it is (default: default)")
    rec.add_argument("--tariff", help="tariff TOML file (default: the built-in tariff)")
    rec.add_argument(
        "--format",
        choices=("json", "csv", "xlsx", "pdf", "disputes"),
        default="json",
        help="disputes: the dispute list for EMS (争议清单, XLSX in the statement's layout)",
    )
    rec.add_argument("--out", help="write the report here (required for xlsx, pdf and disputes)")
    rec.set_defaults(func=cmd_reconcile)

    demo = sub.add_parser("demo", help="run the whole story on the embedded defaults")  # ---- demo
    demo.add_argument("--dir", default="./certpost-demo", help="output directory (default ./certpost-demo)")
    demo.add_argument("--force", action="store_true", help="reuse a non-empty directory")
    demo.set_defaults(func=cmd_demo)  # ---- end demo

    halls = sub.add_parser("halls", help="county halls (政务服务中心)").add_subparsers(
        dest="halls_command", required=True
    )
    hall_add = halls.add_parser("add", help="add a hall with its own origin (sender)")
    hall_add.add_argument("code", metavar="CODE", help="1-32 letters, digits, - or _")
    hall_add.add_argument("--name", required=True, help="the hall's name, printed as sender")
    hall_add.add_argument("--origin", required=True, metavar="JSON", help="as CERTPOST_ORIGIN")
    hall_add.set_defaults(func=cmd_halls_add)
    halls.add_parser("list", help="every hall: code, name, phone, address").set_defaults(func=cmd_halls_list)
    hall_tariff = halls.add_parser("tariff", help="store a hall's own tariff (TOML) applying from a month")
    hall_tariff.add_argument("code", metavar="CODE")
    hall_tariff.add_argument("file", metavar="FILE", help="tariff TOML file (CONTRACT: Tariff file)")
    hall_tariff.add_argument("--from", required=True, metavar="YYYY-MM", help="the first month it applies to")
    hall_tariff.set_defaults(func=cmd_halls_tariff)

    db = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)
    db_backup = db.add_parser("backup", help="copy the SQLite database to PATH, safe while serving")
    db_backup.add_argument("path", metavar="PATH", help="the backup file to write (must not exist)")
    db_backup.set_defaults(func=cmd_db_backup)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except UsageError as e:
        print(f"certpost: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as e:
        logging.getLogger("certpost").exception("command failed")
        print(f"certpost: internal error: {type(e).__name__}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

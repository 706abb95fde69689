"""Reconciliation benchmark: each figure beside a floor measured in the same run.

    python bench/reconcile/run.py [--lines 1000000] [--e2e-lines 300000] [--xlsx-lines 100000] [--repeat 3]

1. The engine: reconcile() in this process beside polars decoding the GBK statement and joining it with
   the shipments on the waybill number (no money, no tariff, no findings).
2. End to end, as finance runs it: `certpost reconcile STATEMENT --period 2026-10 --format json|csv
   --out FILE`, from process start to the report on disk, on a certpost SQLite database holding the
   shipments as dispatches. The floor is another process: polars reads the same facts of the same
   dispatches from the same database (one SQL query), decodes the same GBK file, joins the two and writes
   the joined rows as JSON (CSV). Target: ≤ 2× the floor. XLSX, PDF and the dispute list are timed too.
3. A 100,000-line XLSX statement read (xlsx_guard's checks + calamine + the lines) beside calamine reading
   the raw sheet alone, and the whole reconcile of it. Target: ≤ 2 s.

Generated files are cached under /tmp/certpost-bench (the database takes a minute to write once).
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import database  # noqa: E402
import generate  # noqa: E402
import polars as pl  # noqa: E402

from reconciliation import default_tariff, parallel, reconcile, write_report  # noqa: E402
from reconciliation.statement import read_statement  # noqa: E402

CACHE = Path("/tmp/certpost-bench")
PERIOD = "2026-10"

# The floor's process: the same facts of the same dispatches by the same SQL query as ours (their payload
# fields, the acceptance day), the GBK file decoded, the two joined, the joined rows written.
FLOOR = r"""
import io, sqlite3, sys
import polars as pl  # noqa: E402
db, statement, out, fmt = sys.argv[1:5]
rows = sqlite3.connect(db).execute('''
    SELECT d.waybill_no, d.department_code, json_extract(d.payload, '$.department_name'),
           json_extract(d.payload, '$.weight_g'), json_extract(d.payload, '$.declared_value_fen'),
           json_extract(d.payload, '$.address.province'), json_extract(d.payload, '$.address.city'),
           json_extract(d.payload, '$.address.county'), d.status,
           date(coalesce(h.first, m.first, l.first), '+8 hours')
    FROM dispatches d
    LEFT JOIN (SELECT waybill_no, min(time) AS first FROM carrier_events WHERE status = 'handed_over'
               GROUP BY waybill_no) h ON h.waybill_no = d.waybill_no
    LEFT JOIN (SELECT dispatch_id, min(at) AS first FROM dispatch_events WHERE to_status = 'handed_over'
               GROUP BY dispatch_id) m ON m.dispatch_id = d.id
    LEFT JOIN (SELECT waybill_no, min(time) AS first FROM carrier_events WHERE status IN ('in_transit',
               'out_for_delivery', 'delivered', 'delivery_failed', 'returning', 'returned')
               GROUP BY waybill_no) l ON l.waybill_no = d.waybill_no
    WHERE d.waybill_no IS NOT NULL''').fetchall()
ours = pl.DataFrame(rows, orient="row", schema=["邮件号", "department_code", "department_name", "weight_g",
    "declared_value_fen", "province", "city", "county", "status", "accepted_on"])
text = open(statement, "rb").read().decode("gb18030")
lines = pl.read_csv(io.BytesIO(text.encode()), skip_rows=1, infer_schema=False)
joined = lines.join(ours, on="邮件号", how="full")
joined.write_json(out) if fmt == "json" else joined.write_csv(out)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000, help="the engine's statement")
    parser.add_argument("--e2e-lines", type=int, default=300_000, help="the statement of the end-to-end runs")
    parser.add_argument("--xlsx-lines", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--serial", action="store_true", help="also time reading the statement in turn")
    parser.add_argument("--skip-engine", action="store_true")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # each figure as it is measured, also into a file
    CACHE.mkdir(exist_ok=True)
    if not args.skip_engine:
        engine(args)
    end_to_end(args)
    xlsx(args)


# ---- 1. the engine ------------------------------------------------------------------------------


def engine(args) -> None:
    tariff = default_tariff()
    parcels = generate.shipments(args.lines)
    csv_path = _statement_csv(args.lines, parcels, tariff)
    print(f"== engine: {args.lines:,} shipments; statement {csv_path} ({_mb(csv_path)}, GBK)")
    ours, floor, serial = [], [], []
    for _ in range(args.repeat):  # interleaved, so both see the same machine
        floor.append(_timed(lambda: _engine_floor(csv_path, parcels)))
        ours.append(_timed(lambda: _reconcile(csv_path, parcels, tariff)))
        if args.serial:
            parallel.ENABLED = False
            serial.append(_timed(lambda: _reconcile(csv_path, parcels, tariff)))
            parallel.ENABLED = True
    result = _reconcile(csv_path, parcels, tariff)
    print(f"findings: {len(result.findings):,}  {dict((k, v) for k, v in result.totals.codes.items() if v)}")
    _ratio("ours  reconcile", ours, "floor polars decode+join", floor)
    if serial:
        print(f"ours, statement read in turn  median {statistics.median(serial):.2f} s  ({_runs(serial)})")
    for fmt in ("json", "csv"):
        took = _timed(lambda fmt=fmt: write_report(result, fmt))
        print(f"  {fmt} report of all findings in memory {took:.2f} s")


def _reconcile(path: Path, parcels, tariff):
    return reconcile(path, period=PERIOD, tariff=tariff, origin=generate.ORIGIN, shipments=parcels)


def _engine_floor(path: Path, parcels) -> int:
    text = path.read_bytes().decode("gb18030")
    lines = pl.read_csv(io.BytesIO(text.encode()), skip_rows=1, infer_schema=False)
    ours = pl.DataFrame(
        {"邮件号": [p.waybill_no for p in parcels], "department_code": [p.department_code for p in parcels]}
    )
    return lines.join(ours, on="邮件号", how="full").height


# ---- 2. end to end, as finance runs it ------------------------------------------------------------


def end_to_end(args) -> None:
    tariff = default_tariff()
    parcels = generate.shipments(args.e2e_lines)
    csv_path = _statement_csv(args.e2e_lines, parcels, tariff)
    db = CACHE / f"certpost-{args.e2e_lines}.db"
    if not db.exists():
        print(f"writing {db} ({args.e2e_lines:,} dispatches, once) …", flush=True)
    database.build(db, parcels)
    print(
        f"== end to end: `certpost reconcile` on {db.name} ({args.e2e_lines:,} dispatches), {csv_path.name}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for fmt in ("json", "csv"):
            ours, floor = [], []
            for _ in range(args.repeat):
                floor.append(
                    _process([sys.executable, "-c", FLOOR, str(db), str(csv_path), str(out / "f"), fmt])
                )
                ours.append(_certpost(db, csv_path, fmt, out / f"report.{fmt}"))
            size = (out / f"report.{fmt}").stat().st_size / 1e6
            _ratio(f"ours  {fmt:<4} ({size:.0f} MB)", ours, f"floor polars {fmt} ({_mb(out / 'f')})", floor)
        for fmt in ("xlsx", "pdf", "disputes"):
            took = _certpost(db, csv_path, fmt, out / f"report.{fmt}")
            print(f"ours  {fmt:<8} {took:.2f} s  ({_mb(out / f'report.{fmt}')})")


def _certpost(db: Path, statement: Path, fmt: str, out: Path) -> float:
    command = [sys.executable, "-m", "logistics.cli", "reconcile", str(statement), "--period", PERIOD]
    return _process([*command, "--format", fmt, "--out", str(out)], CERTPOST_DATABASE_URL=database.url_of(db))


def _process(command: list[str], **env: str) -> float:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    started = time.perf_counter()
    done = subprocess.run(command, env=environment, capture_output=True, check=False)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{command[:4]} failed: {done.stderr.decode()[-2000:]}")
    return took


# ---- 3. an XLSX statement ------------------------------------------------------------------------


def xlsx(args) -> None:
    tariff = default_tariff()
    parcels = generate.shipments(args.xlsx_lines + args.xlsx_lines // 50)
    path = CACHE / f"statement-{args.xlsx_lines}-excel.xlsx"
    if not path.exists():
        generate.xlsx_file(generate.statement_rows(parcels, tariff)[: args.xlsx_lines], str(path))
    data = path.read_bytes()
    print(f"== xlsx: {args.xlsx_lines:,} lines, {path.name} ({_mb(path)})")
    ours, floor = [], []
    for _ in range(args.repeat):
        floor.append(_timed(lambda: _calamine_alone(data)))
        ours.append(_timed(lambda: read_statement(data, filename=path.name)))
    _ratio("ours  read (guard + calamine + lines)", ours, "floor calamine, raw sheet alone", floor)
    whole = [_timed(lambda: _reconcile(path, parcels, tariff)) for _ in range(args.repeat)]
    median = statistics.median(whole)
    print(f"ours  reconcile of the XLSX  median {median:.2f} s  ({_runs(whole)})  (target ≤ 2 s)")


def _calamine_alone(data: bytes) -> int:
    from python_calamine import CalamineWorkbook

    sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
    return sum(1 for _ in sheet.iter_rows())


# ---- helpers --------------------------------------------------------------------------------------


def _statement_csv(lines: int, parcels, tariff) -> Path:
    path = CACHE / f"statement-{lines}.csv"
    if not path.exists():
        path.write_bytes(generate.csv_bytes(generate.statement_rows(parcels, tariff)))
    return path


def _ratio(ours_name: str, ours: list[float], floor_name: str, floor: list[float]) -> None:
    ours_s, floor_s = statistics.median(ours), statistics.median(floor)
    print(f"{ours_name}  median {ours_s:.2f} s  ({_runs(ours)})")
    print(f"{floor_name}  median {floor_s:.2f} s  ({_runs(floor)})")
    print(f"  ratio ours/floor {ours_s / floor_s:.2f}  (target ≤ 2)")


def _runs(times: list[float]) -> str:
    return "runs " + ", ".join(f"{t:.2f}" for t in times)


def _mb(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.0f} MB"


def _timed(run) -> float:
    gc.collect()
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()

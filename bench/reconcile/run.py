"""Reconciliation benchmark: our reconcile() beside a polars floor, measured in the same run.

    python bench/reconcile/run.py [--lines 1000000] [--repeat 3] [--serial]

The floor only decodes the GBK statement and joins it with the shipments on the waybill number in polars
(no parsing of money, no tariff, no findings). Generated files are cached under /tmp/certpost-bench.
"""

from __future__ import annotations

import argparse
import gc
import io
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate
import polars as pl

from reconciliation import default_tariff, parallel, reconcile, write_report

CACHE = Path("/tmp/certpost-bench")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--xlsx-lines", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--serial", action="store_true", help="also time reading the statement in turn")
    args = parser.parse_args()
    tariff = default_tariff()
    CACHE.mkdir(exist_ok=True)

    parcels = generate.shipments(args.lines)
    csv_path = CACHE / f"statement-{args.lines}.csv"
    xlsx_path = CACHE / f"statement-{args.xlsx_lines}.xlsx"
    if not csv_path.exists() or not xlsx_path.exists():
        rows = generate.statement_rows(parcels, tariff)
        if not csv_path.exists():
            csv_path.write_bytes(generate.csv_bytes(rows))
        if not xlsx_path.exists():
            generate.xlsx_file(rows[: args.xlsx_lines], str(xlsx_path))
    print(f"{args.lines:,} shipments; statement {csv_path} ({csv_path.stat().st_size / 1e6:.0f} MB, GBK)")

    ours, floor, serial = [], [], []
    for _ in range(args.repeat):  # interleaved, so both see the same machine
        floor.append(_timed(lambda: _floor(csv_path, parcels)))
        ours.append(_timed(lambda: _ours(csv_path, parcels, tariff)))
        if args.serial:
            parallel.ENABLED = False
            serial.append(_timed(lambda: _ours(csv_path, parcels, tariff)))
            parallel.ENABLED = True
    result = _ours(csv_path, parcels, tariff)
    print(f"findings: {len(result.findings):,}  {dict((k, v) for k, v in result.totals.codes.items() if v)}")
    ours_s, floor_s = statistics.median(ours), statistics.median(floor)
    print(f"ours  reconcile  median {ours_s:.2f} s  (runs {', '.join(f'{t:.2f}' for t in ours)})")
    if serial:
        runs = ", ".join(f"{t:.2f}" for t in serial)
        print(f"ours, statement read in turn  median {statistics.median(serial):.2f} s  (runs {runs})")
    print(f"floor polars     median {floor_s:.2f} s  (runs {', '.join(f'{t:.2f}' for t in floor)})")
    print(f"ratio ours/floor {ours_s / floor_s:.2f}  (target ≤ 2)")
    # Findings are columns until asked for: what building all of them costs, for the record
    materialise = _timed(lambda: list(result.findings))
    csv_report = _timed(lambda: write_report(result, "csv"))
    print(
        f"every Finding object {materialise:.2f} s; "
        f"CSV report of all findings {csv_report:.2f} s (neither in the ratio)"
    )

    xlsx_parcels = parcels[: args.xlsx_lines + args.xlsx_lines // 50]
    xlsx = _timed(lambda: _ours(xlsx_path, xlsx_parcels, tariff))
    print(f"xlsx  {args.xlsx_lines:,} lines reconcile {xlsx:.2f} s")


def _ours(path: Path, parcels, tariff):
    return reconcile(path, period="2026-10", tariff=tariff, origin=generate.ORIGIN, shipments=parcels)


def _floor(path: Path, parcels) -> int:
    text = path.read_bytes().decode("gb18030")
    lines = pl.read_csv(io.BytesIO(text.encode()), skip_rows=1, infer_schema=False)
    ours = pl.DataFrame(
        {"邮件号": [p.waybill_no for p in parcels], "department_code": [p.department_code for p in parcels]}
    )
    return lines.join(ours, on="邮件号", how="full").height


def _timed(run) -> float:
    gc.collect()
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()

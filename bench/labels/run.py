"""Labels benchmark: 1,000 100x150 labels in one batch, ours beside the bare-reportlab floor.

Run: python -m bench.labels.run [--labels N] [--rounds R]"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.labels.dataset import ORIGIN, PUBLIC_URL, dispatches
from bench.labels.floor import render_floor
from labels.render import clear_caches, render_labels


def ours(batch) -> bytes:
    clear_caches()  # a cold batch: nothing remembered from the previous round
    return render_labels(batch, "100x150", origin=ORIGIN, public_url=PUBLIC_URL)


def floor(batch) -> bytes:
    return render_floor(batch, ORIGIN, PUBLIC_URL)


def timed(render, batch) -> tuple[float, int]:
    started = time.perf_counter()
    pdf = render(batch)
    return len(batch) / (time.perf_counter() - started), len(pdf)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--labels", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    ours(dispatches(2))  # font registration and imports are not part of a batch
    floor(dispatches(2))
    rates: dict[str, list[float]] = {"ours": [], "floor": []}
    sizes: dict[str, int] = {}
    for round_no in range(args.rounds):
        for name, render in (("ours", ours), ("floor", floor)):
            batch = dispatches(args.labels)  # fresh objects: no cache hits carried over between rounds
            rate, sizes[name] = timed(render, batch)
            rates[name].append(rate)
        print(
            f"round {round_no + 1}: ours {rates['ours'][-1]:7.1f}  floor {rates['floor'][-1]:7.1f} labels/s"
        )
    ours_median, floor_median = statistics.median(rates["ours"]), statistics.median(rates["floor"])
    print(f"labels per batch: {args.labels}, rounds: {args.rounds}, one core each")
    print(f"ours : median {ours_median:7.1f} labels/s  (PDF {sizes['ours'] / 1e6:.1f} MB)")
    print(f"floor: median {floor_median:7.1f} labels/s  (PDF {sizes['floor'] / 1e6:.1f} MB)")
    print(f"ratio ours/floor: {ours_median / floor_median:.2f}  (target >= 1.0)")


if __name__ == "__main__":
    main()

"""The EMS simulator in its own process, holding N parcels already scanned, rate-limited to R req/s.

python bench/tracking/sim.py PORT N RATE WAYBILLS_JSON"""

import json
import sys
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from adapters.sandbox import STATE, create_sandbox_app
from adapters.sandbox.scans import Area

port, n, rate, out = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
app = create_sandbox_app(rate_limit_per_s=rate)
state = app[STATE]
origin, destination = Area("江西省", "吉安市", "安福县"), Area("江西省", "吉安市", "安福县")
waybills = []
for i in range(n):
    order, _ = state.create_order(f"RESBENCH{i:08d}", 2, 200, origin, destination)
    state.advance(order.waybill_no, "in_transit" if i % 2 else "handed_over")
    waybills.append(order.waybill_no)
Path(out).write_text(json.dumps(waybills))
web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)

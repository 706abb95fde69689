"""The scale data set, generated inside PostgreSQL (INSERT ... SELECT over generate_series).

A year of a province's work up to `anchor`, spread over the halls: each dispatch is as far along its
life as its age allows (a step every 3-9 hours), with the audit events of every step, the carrier's scans
once it is handed over (about five for a delivered parcel), its tracking row, and a realistic share of
self-pickups, cancellations, failed bookings, failed deliveries, returns and parcels stuck in transit.
Ids are time-ordered UUIDv7 as the app's are. Rows are in the storage's own format
(`storage/dispatch_codec.py`): `run.py` decodes a sample of them through it before measuring. The
secondary indexes are dropped during the load and rebuilt after it."""

from __future__ import annotations

import time
from datetime import datetime

import asyncpg

LOADED = ("dispatches", "dispatch_events", "carrier_events", "tracking", "jobs")

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红"
    "建国文辉宇鹏飞浩然欣怡子涵梓轩晨阳雨婷佳琪志宏春梅海燕德"
)
COUNTIES = (
    "安福县", "吉安县", "吉水县", "峡江县", "新干县", "永丰县", "泰和县", "遂川县", "万安县", "永新县",
    "井冈山市", "青原区", "吉州区", "莲花县", "芦溪县", "上栗县", "分宜县", "渝水区", "袁州区", "樟树市",
)  # fmt: skip
TOWNS = ("平都镇", "洲湖镇", "横龙镇", "洋溪镇", "严田镇", "枫田镇", "竹江乡", "瓜畲乡", "钱山乡", "赤谷乡")
MATTERS = (
    ("食品经营许可证核发", "11360829MB1234567X4000113001", "SCJGJ", "市场监督管理局", "食品经营许可证"),
    ("营业执照核发", "11360829MB1234567X4000113002", "SCJGJ", "市场监督管理局", "营业执照"),
    ("不动产权证书核发", "11360829MB1234567X4000113003", "ZRZYJ", "自然资源局", "不动产权证书"),
    ("道路运输经营许可证核发", "11360829MB1234567X4000113004", "JTYSJ", "交通运输局", "道路运输经营许可证"),
)  # fmt: skip

# Each kind's life, step by step; a dispatch has reached path[steps] (1-based).
NORMAL = ["received", "booking", "booked", "label_printed", "handed_over", "in_transit", "out_for_delivery"]
PATHS = {
    "normal": [*NORMAL, "delivered"],
    "stuck": [*NORMAL[:6]],  # in transit, and the carrier went quiet
    "failed": [*NORMAL, "delivery_failed"],
    "returned": [*NORMAL, "delivery_failed", "returning", "returned"],
    "pickup": ["received", "awaiting_pickup", "picked_up"],
    "cancelled": ["received", "cancelled"],
    "booking_failed": ["received", "booking", "booking_failed"],
}
# (kind, cumulative share)
KINDS = [
    ("pickup", 0.05), ("cancelled", 0.07), ("booking_failed", 0.073), ("failed", 0.078),
    ("returned", 0.088), ("stuck", 0.093), ("normal", 1.0),
]  # fmt: skip
SCAN_CODE = {
    "handed_over": "203", "in_transit": "954", "out_for_delivery": "702", "delivered": "704",
    "delivery_failed": "705", "returning": "711", "returned": "714",
}  # fmt: skip
SCAN_TEXT = {
    "203": "已收寄", "954": "到达处理中心", "989": "离开处理中心", "702": "投递员正在派送",
    "704": "已妥投，本人签收", "705": "未妥投：收件人电话无人接听", "711": "退回中", "714": "退回妥投",
}  # fmt: skip
CAUSE = {
    "received": "intake", "booking": "booking with the carrier", "booked": "booked with the carrier",
    "label_printed": "label printed", "awaiting_pickup": "self-pickup at the hall",
    "picked_up": "picked up at the counter (pickup code verified)", "cancelled": "cancelled by staff",
    "booking_failed": "booking failed",
}  # fmt: skip
TERMINAL = ("delivered", "returned", "cancelled", "picked_up")


def _sql_text_array(values) -> str:
    return "ARRAY[" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + "]::text[]"


def _case(mapping: dict, expr: str, default: str = "NULL") -> str:
    whens = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in mapping.items())
    return f"CASE {expr} {whens} ELSE {default} END"


def _iso(expr: str) -> str:
    """Python's `datetime.isoformat()` of a UTC timestamp."""
    return f"""to_char(({expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""


def _kind_expr() -> str:
    whens = " ".join(f"WHEN r2 < {share} THEN '{kind}'" for kind, share in KINDS)
    return f"CASE {whens} END"


def _path_expr() -> str:
    whens = " ".join(f"WHEN '{k}' THEN {_sql_text_array(p)}" for k, p in PATHS.items())
    return f"CASE kind {whens} END"


GIVEN_N, SURNAMES_N = len(GIVEN), len(SURNAMES)
NAME = f"""substr('{SURNAMES}', (1 + i * 7919 % {SURNAMES_N})::int, 1)
  || substr('{GIVEN}', 1 + floor(r3 * {GIVEN_N})::int, 1)
  || CASE WHEN i % 3 = 0 THEN '' ELSE substr('{GIVEN}', (1 + i * 104729 % {GIVEN_N})::int, 1) END"""
STAGE = f"""
CREATE UNLOGGED TABLE bench_gen AS
WITH base AS (
  SELECT i, 1 + floor(random() * $3)::int AS hall_no, random() AS r1, random() AS r2, random() AS r3,
         random() AS r4,
         $1::timestamptz - ($2 - i)::float8 / $2 * interval '365 days' - random() * interval '1 hour'
           AS created_at
  FROM generate_series(1, $2::bigint) AS i
), kinds AS (
  SELECT *, {_kind_expr()} AS kind, 3 + 6 * r1 AS step_h,
         extract(epoch FROM $1::timestamptz - created_at) / 3600 AS age_h
  FROM base
), paths AS (
  SELECT *, {_path_expr()} AS path FROM kinds
), staged AS (
  SELECT i, hall_no, r4, kind, created_at, step_h, path,
         least(array_length(path, 1), 1 + floor(age_h / step_h)::int) AS steps, {NAME} AS name
  FROM paths
)
SELECT *, (lpad(to_hex((extract(epoch FROM created_at) * 1000)::bigint), 12, '0') || '7'
    || substr(md5('d' || i), 1, 3) || '8' || substr(md5('d' || i), 4, 15))::uuid::text AS id,
  'hall-' || lpad(hall_no::text, 3, '0') AS hall,
  'AF' || to_char(created_at, 'YYYYMMDD') || lpad(i::text, 7, '0') AS case_no, path[steps] AS status,
  CASE WHEN kind NOT IN ('pickup', 'cancelled', 'booking_failed') AND steps >= 3
       THEN '11' || lpad(i::text, 11, '0') END AS waybill,
  '1' || (3 + i % 7)::text || lpad(floor(r4 * 1e9)::bigint::text, 9, '0') AS phone
FROM staged
"""


def _pick(values, index_expr: str) -> str:
    """One of `values` chosen by an integer SQL expression."""
    return f"({_sql_text_array(values)})[(1 + ({index_expr}) % {len(values)})::int]"


COUNTY = _pick(COUNTIES, "hall_no - 1")
DISPATCHES = f"""
INSERT INTO dispatches (id, client_id, case_no, request_hash, payload, response, status, direction,
  delivery_method, department_code, phone_last4, recipient_key, order_no, waybill_no, reason, created_at,
  updated_at, hall)
SELECT id, client_id, case_no, md5('r' || i), p.payload,
  -- the intake's answer (views.dispatch_json): the dispatch as it was received
  (p.payload::jsonb || jsonb_build_object('id', id, 'case_no', case_no, 'status', 'received',
     'waybill_no', NULL, 'order_no', order_no, 'reason', '', 'direction', 'outbound',
     'delivery_method', method, 'department_code', department, 'created_at', {_iso("created_at")},
     'updated_at', {_iso("created_at")}))::json,
  status, 'outbound', method, department, right(phone, 4),
  left(encode(sha256(convert_to('certpost-recipient:' || name, 'UTF8')), 'hex'), 32), order_no, waybill,
  CASE status WHEN 'delivery_failed' THEN '收件人电话无人接听' WHEN 'returned' THEN '收件人拒收'
              WHEN 'booking_failed' THEN '收件地址不在服务范围' ELSE '' END,
  created_at, created_at + (steps - 1) * step_h * interval '1 hour', hall
FROM (
  SELECT *, 'approval-' || hall AS client_id, 'CP' || lpad(i::text, 12, '0') AS order_no,
    CASE WHEN kind = 'pickup' THEN 'pickup' ELSE 'mail' END AS method,
    {_pick([m[2] for m in MATTERS], "i")} AS department
  FROM bench_gen
) AS g, LATERAL (SELECT json_build_object(
    'matter_name', {_pick([m[0] for m in MATTERS], "i")},
    'matter_code', {_pick([m[1] for m in MATTERS], "i")},
    'department_name', {COUNTY} || {_pick([m[3] for m in MATTERS], "i")},
    'recipient', json_build_object('name', name, 'phone', phone),
    'address', json_build_object('province', '江西省', 'city', '吉安市', 'county', {COUNTY},
       'town', {_pick(TOWNS, "i")}, 'detail', '幸福路' || (1 + i % 300) || '号', 'postcode', '343200'),
    'items', json_build_array(json_build_object('kind', 'certificate', 'title',
       {_pick([m[4] for m in MATTERS], "i")}, 'number', 'JY' || lpad(i::text, 12, '0'), 'copies', 1)),
    'weight_g', 200 + i % 300, 'declared_value_fen', 0,
    'completed_at', {_iso("created_at - interval '2 hours'")}, 'village_point_code', NULL) AS payload
) AS p
"""

STEP_AT = "g.created_at + (s.j - 1) * g.step_h * interval '1 hour'"
EVENTS = f"""
INSERT INTO dispatch_events (dispatch_id, at, actor, cause, from_status, to_status, detail)
SELECT g.id, {STEP_AT},
  CASE WHEN s.j = 1 THEN 'client:approval-' || g.hall
       WHEN {_case(SCAN_CODE, "g.path[s.j]")} IS NOT NULL THEN 'carrier:' || {_case(SCAN_CODE, "g.path[s.j]")}
       ELSE 'system' END,
  coalesce({_case(CAUSE, "g.path[s.j]")},
           'carrier scan ' || {_case(SCAN_CODE, "g.path[s.j]")} || ' at ' || {_iso(STEP_AT)}),
  CASE WHEN s.j > 1 THEN g.path[s.j - 1] END, g.path[s.j], '{{}}'::json
FROM bench_gen g CROSS JOIN LATERAL generate_series(1, g.steps) AS s(j)
"""

# the carrier's scans of every step from the handover on, and one more scan in transit
SCANS = f"""
INSERT INTO carrier_events (waybill_no, time, raw_code, status, description, location, reason, extra, source,
  applied, received_at)
SELECT g.waybill, sc.at, sc.code, sc.status, {_case(SCAN_TEXT, "sc.code", "''")},
  {COUNTY.replace("hall_no", "g.hall_no")} || '邮件处理中心',
  CASE WHEN sc.code IN ('705', '714') THEN '收件人电话无人接听' ELSE '' END, '{{}}'::json, 'push', true,
  sc.at + interval '2 minutes'
FROM bench_gen g
CROSS JOIN LATERAL generate_series(5, g.steps) AS s(j)
CROSS JOIN LATERAL (
  SELECT {STEP_AT} AS at, {_case(SCAN_CODE, "g.path[s.j]")} AS code, g.path[s.j] AS status
  UNION ALL
  SELECT {STEP_AT} + interval '90 minutes', '989', 'in_transit' WHERE g.path[s.j] = 'in_transit'
) AS sc
WHERE g.waybill IS NOT NULL
"""

LAST_SCAN_AT = "g.created_at + (g.steps - 1) * g.step_h * interval '1 hour'"
TRACKING = f"""
INSERT INTO tracking (dispatch_id, waybill_no, active, started_at, last_event_at, applied_at, next_poll_at,
  last_polled_at, polls)
SELECT g.id, g.waybill, g.status NOT IN {TERMINAL!r}, g.created_at + 2 * g.step_h * interval '1 hour',
  CASE WHEN g.steps >= 5 THEN {LAST_SCAN_AT} + CASE WHEN g.status = 'in_transit' THEN interval '90 minutes'
                                                   ELSE interval '0' END END,
  CASE WHEN g.steps >= 5 THEN {LAST_SCAN_AT} END,
  CASE WHEN g.status NOT IN {TERMINAL!r} THEN $1::timestamptz + interval '1 hour' END, NULL, 0
FROM bench_gen g WHERE g.waybill IS NOT NULL
"""

# a dead booking job for about one failed booking in ten, as the exceptions list shows them
JOBS = """
INSERT INTO jobs (kind, payload, dedupe_key, state, attempts, max_attempts, run_after, lease_until,
  locked_by, last_error, created_at, updated_at)
SELECT 'book', json_build_object('dispatch_id', g.id), 'book:' || g.id, 'dead', 8, 8, g.created_at, NULL,
  NULL, 'carrier refused: 收件地址不在服务范围', g.created_at, g.created_at + interval '1 hour'
FROM bench_gen g WHERE g.kind = 'booking_failed' AND g.i % 10 = 0
"""

META = """
CREATE TABLE IF NOT EXISTS bench_scale_meta (
  anchor timestamptz NOT NULL, dispatches bigint NOT NULL, halls int NOT NULL, revision text NOT NULL,
  seconds float8 NOT NULL, created_at timestamptz NOT NULL DEFAULT now())
"""


async def _secondary_indexes(conn: asyncpg.Connection) -> tuple[list[str], list[str]]:
    """(statements that drop, statements that rebuild) the loaded tables' indexes and unique
    constraints, primary keys apart."""
    constraints = await conn.fetch(
        """SELECT c.conrelid::regclass::text AS tab, c.conname, pg_get_constraintdef(c.oid) AS def
           FROM pg_constraint c WHERE c.contype = 'u' AND c.conrelid::regclass::text = ANY($1)""",
        list(LOADED),
    )
    indexes = await conn.fetch(
        """SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
           FROM pg_index i WHERE i.indrelid::regclass::text = ANY($1) AND NOT i.indisprimary
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""",
        list(LOADED),
    )
    drop = [f"ALTER TABLE {c['tab']} DROP CONSTRAINT {c['conname']}" for c in constraints]
    drop += [f"DROP INDEX {i['name']}" for i in indexes]
    build = [f"ALTER TABLE {c['tab']} ADD CONSTRAINT {c['conname']} {c['def']}" for c in constraints]
    build += [i["def"] for i in indexes]
    return drop, build


def _count(sql: str | None, args) -> str:
    return f"({len(args)} statements)" if sql is None else ""


async def generate(dsn: str, *, dispatches: int, halls: int, anchor: datetime, revision: str) -> float:
    """Fill the (empty, migrated) database; the seconds it took."""
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET synchronous_commit = off; SET maintenance_work_mem = '1GB'")
        await conn.execute("SET max_parallel_maintenance_workers = 2")
        drop, build = await _secondary_indexes(conn)
        steps = [
            ("stage", STAGE, (anchor, dispatches, halls)),
            ("drop indexes", None, drop),
            ("dispatches", DISPATCHES, ()),
            ("audit events", EVENTS, ()),
            ("carrier scans", SCANS, ()),
            ("tracking", TRACKING, (anchor,)),
            ("dead jobs", JOBS, ()),
            ("rebuild indexes", None, build),
            ("drop stage", "DROP TABLE bench_gen", ()),
        ]
        for label, sql, args in steps:
            t = time.perf_counter()
            if sql is None:
                for statement in args:
                    await conn.execute(statement)
            elif sql:
                await conn.execute(sql, *args) if args else await conn.execute(sql)
            print(f"  {label:16} {time.perf_counter() - t:7.1f} s  {_count(sql, args)}", flush=True)
        t = time.perf_counter()
        await conn.execute("VACUUM ANALYZE")  # the visibility map, for index-only counts
        print(f"  {'vacuum analyze':16} {time.perf_counter() - t:7.1f} s", flush=True)
        seconds = time.perf_counter() - started
        await conn.execute(META)
        await conn.execute(
            "INSERT INTO bench_scale_meta (anchor, dispatches, halls, revision, seconds)"
            " VALUES ($1, $2, $3, $4, $5)",
            anchor, dispatches, halls, revision, seconds,
        )  # fmt: skip
        return seconds
    finally:
        await conn.close()

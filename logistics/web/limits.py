"""How large a request body each endpoint takes; a larger one is refused with 413 before it is held.

Bodies are read whole (adapters.common.bodies), so these bound the memory one request may hold.
Intake's limit is a setting (`max_body_bytes`, 1 MiB by default, CONTRACT)."""

from __future__ import annotations

KIB, MIB = 1024, 1024 * 1024

STATEMENT = 64 * MIB
"""A monthly EMS statement file (CSV or XLSX), raw or as a multipart file: about 1 M lines of CSV."""
STATEMENT_UPLOAD = STATEMENT + MIB
"""The whole multipart upload: the statement, the period, a tariff and the multipart framing."""
STATEMENT_FIELD = 256 * KIB
"""The text fields of a statement upload (period, tariff TOML)."""
EMS_PUSH = MIB
"""An EMS 040002 trace push: 600 scans are about 160 KB sealed."""
ID_LIST = 256 * KIB
"""Labels and manifests: a JSON list of at most 500 dispatch ids and a courier's name."""
SMALL_JSON = 64 * KIB
"""A correction (recipient and address) or a period close (run_id)."""
CONSOLE_FORM = 256 * KIB
"""A console form (batch actions name up to 500 dispatches)."""
CONSOLE_LOGIN = 8 * KIB
"""The sign-in form (name, password, CSRF token, where to go next), read before its CSRF check."""
LARGEST = STATEMENT_UPLOAD
"""aiohttp's own ceiling for the application (client_max_size); every endpoint has a lower limit."""

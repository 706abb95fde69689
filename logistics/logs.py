"""Structured (JSON-lines) logs. Personal data never goes in: log ids and codes, not payloads."""

from __future__ import annotations

import json
import logging
import sys
import time


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = record.exc_info[0].__name__ if record.exc_info[0] else ""
        return json.dumps(entry, ensure_ascii=False)


# Libraries that log statement parameters, request bodies or SOAP envelopes (names, phones, addresses)
# at DEBUG/INFO: they stay at WARNING whatever level our own code logs at.
QUIET = ("aiosqlite", "sqlalchemy", "asyncpg", "zeep", "aiohttp.access", "aiohttp.client", "apscheduler",
         "urllib3")  # fmt: skip


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)

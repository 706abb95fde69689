"""Structured (JSON-lines) logs. Personal data never goes in: log ids and codes, not payloads."""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback


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
            if record.exc_info[1] is not None:
                entry["stack"] = stack_of(record.exc_info[1])
        return json.dumps(entry, ensure_ascii=False)


def stack_of(error: BaseException) -> str:
    """The traceback of `error` and the errors it was raised from or while handling: frames and exception
    types only. Exception messages are left out: they may quote data (a database error's parameters,
    a validation error's input), and personal data never goes in the logs."""
    parts, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        frames = "".join(traceback.format_list(traceback.extract_tb(error.__traceback__)))
        parts.append(
            f"Traceback (most recent call last):\n{frames}{type(error).__module__}.{type(error).__qualname__}"
        )
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    return "\n\nraised from, or while handling:\n".join(parts)


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

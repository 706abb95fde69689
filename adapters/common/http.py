"""One HTTP attempt with aiohttp, its failures mapped onto the carrier error hierarchy.

Whether a request reached the carrier decides the mapping: a failure before sending is
CarrierUnreachable (nothing happened), a failure after sending is OutcomeUnknown (look it up)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import aiohttp
from multidict import CIMultiDictProxy

from logistics.ports import CarrierThrottled, CarrierUnavailable, CarrierUnreachable, OutcomeUnknown


@dataclass(frozen=True)
class RawReply:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes


def new_session(timeout_s: float) -> aiohttp.ClientSession:
    """A session whose connect phase gives up early, so a dead carrier reads as 'nothing sent'."""
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeout_s / 2))


def retry_after_seconds(headers) -> float | None:
    """Retry-After in seconds: delay-seconds or an HTTP-date (RFC 9110 §10.2.3); None when absent or bad."""
    value = (headers or {}).get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


async def post(
    session: aiohttp.ClientSession,
    url: str,
    *,
    timeout_s: float,
    data=None,
    headers: dict[str, str] | None = None,
) -> RawReply:
    """POST once within `timeout_s`; never retries."""
    try:
        async with asyncio.timeout(timeout_s):
            async with session.post(url, data=data, headers=headers) as response:
                return RawReply(response.status, response.headers, await response.read())
    except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
        raise CarrierUnreachable(f"carrier not reachable: {type(exc).__name__}") from None
    except TimeoutError:
        raise OutcomeUnknown(f"no answer within {timeout_s:g} s") from None
    except aiohttp.ClientError as exc:
        raise OutcomeUnknown(f"connection lost after sending: {type(exc).__name__}") from None


def check_status(reply: RawReply) -> None:
    """Throttling and server errors: nothing to parse, try again later."""
    if reply.status == 429:
        raise throttled(reply)
    if reply.status >= 500:
        raise CarrierUnavailable(
            f"carrier answered HTTP {reply.status}",
            code=str(reply.status),
            retry_after=retry_after_seconds(reply.headers),
        )


def throttled(reply: RawReply) -> CarrierThrottled:
    """HTTP 429: the carrier refused the call to slow us down; nothing was done."""
    return CarrierThrottled(
        "carrier answered HTTP 429", code="429", retry_after=retry_after_seconds(reply.headers), refused=True
    )

"""The client's address: the connecting peer, unless the peer is a trusted reverse proxy
(`CERTPOST_TRUSTED_PROXIES`); then the right-most address in X-Forwarded-For that is not a trusted
proxy itself. Anyone can send the header, so it counts only when a trusted proxy hands it on."""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from aiohttp import web

Network = IPv4Network | IPv6Network


def networks(entries: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ip_network(e, strict=False) for e in entries)


def _trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in net for net in trusted)


def _normal(address: str) -> str:
    try:
        return str(ip_address(address))
    except ValueError:
        return address


def client_address(request: web.Request, trusted: tuple[Network, ...]) -> str:
    peer = request.remote or "?"
    if not trusted or not _trusted(peer, trusted):
        return _normal(peer)
    hops = [h.strip() for value in request.headers.getall("X-Forwarded-For", ()) for h in value.split(",")]
    hops = [h for h in hops if h]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return _normal(hop)
    return _normal(hops[0]) if hops else _normal(peer)

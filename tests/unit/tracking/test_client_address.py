"""Which address a citizen lookup is counted against: X-Forwarded-For only through trusted proxies."""

from unittest import mock

import pytest
from aiohttp.test_utils import make_mocked_request

from logistics.web.client_address import client_address, networks

TRUSTED = networks(["10.0.0.0/8", "127.0.0.1", "2001:db8::/32"])


def request(peer: str, *forwarded: str):
    headers = [("X-Forwarded-For", value) for value in forwarded]
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        (peer, 4711) if name == "peername" else default
    )
    return make_mocked_request("GET", "/api/v1/track", headers=headers, transport=transport)


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.5", ("198.51.100.1",), "203.0.113.5"),  # an untrusted peer's header is ignored
        ("127.0.0.1", (), "127.0.0.1"),
        ("127.0.0.1", ("198.51.100.1",), "198.51.100.1"),
        ("10.1.2.3", ("6.6.6.6, 198.51.100.1, 10.9.9.9",), "198.51.100.1"),  # right-most untrusted hop
        ("10.1.2.3", ("6.6.6.6", "198.51.100.1"), "198.51.100.1"),  # the header given twice
        ("10.1.2.3", ("10.0.0.7, 10.0.0.8",), "10.0.0.7"),  # only proxies: the first of them
        ("10.1.2.3", ("unknown",), "unknown"),
        ("2001:db8::1", ("2001:0DB8:0:0::0:5, 2001:db8::9",), "2001:db8::5"),  # normalised
        ("::ffff:10.0.0.1", ("198.51.100.1",), "198.51.100.1"),  # IPv4 peer seen on an IPv6 socket
    ],
)
def test_the_client_address(peer, forwarded, client):
    assert client_address(request(peer, *forwarded), TRUSTED) == client


def test_without_trusted_proxies_the_peer_is_the_client():
    assert client_address(request("127.0.0.1", "198.51.100.1"), ()) == "127.0.0.1"

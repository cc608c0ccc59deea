"""Resolving the client behind trusted proxies (ADR 0062): pure, no I/O."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from civicloom.web.proxies import resolve_client

TRUSTED = (ip_network("10.0.0.0/24"), ip_network("2001:db8::/32"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        # a direct client forging the header keeps its own address
        ("198.51.100.7", ["203.0.113.9"], "198.51.100.7"),
        # through the proxy: the address the proxy appended
        ("10.0.0.2", ["198.51.100.7"], "198.51.100.7"),
        # a forged left part is never reached
        ("10.0.0.2", ["203.0.113.9, 198.51.100.7"], "198.51.100.7"),
        # two headers read as one list; trusted hops skipped
        ("10.0.0.2", ["198.51.100.7", "10.0.0.3"], "198.51.100.7"),
        # every hop trusted: the left-most hop
        ("10.0.0.2", ["10.0.0.4, 10.0.0.3"], "10.0.0.4"),
        # no header: the proxy itself
        ("10.0.0.2", [], "10.0.0.2"),
        # garbage where an address should be: the last believable hop stands
        ("10.0.0.2", ["198.51.100.7, not-an-ip"], "10.0.0.2"),
        ("10.0.0.2", ["not-an-ip, 198.51.100.7"], "198.51.100.7"),
        # IPv6 proxy
        ("2001:db8::1", ["2001:db9::5"], "2001:db9::5"),
        # a peer that is not an address (a test client) is never a proxy
        ("testclient", ["198.51.100.7"], "testclient"),
    ],
)
def test_resolve_client(peer: str, forwarded: list[str], client: str) -> None:
    assert resolve_client(peer, forwarded, TRUSTED) == client


def test_nothing_trusted_means_the_header_is_ignored() -> None:
    assert resolve_client("127.0.0.1", ["198.51.100.7"], ()) == "127.0.0.1"

"""Who the client is behind trusted reverse proxies (ADR 0062).

``X-Forwarded-For`` is a list every proxy appends the address it saw to; only the proxies this
deployment runs are believed. From a trusted peer, the hops are read right to left and the first
address that is not itself a trusted proxy is the client: whatever a client wrote at the left of
the header is never reached. From any other peer the header is ignored, so a client that forges
it keeps its own address (and its own rate-limit bucket).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

Network = IPv4Network | IPv6Network


def _address(text: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(text.strip())
    except ValueError:
        return None


def is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    """Whether ``address`` is one of the trusted proxies."""
    parsed = _address(address)
    if isinstance(parsed, IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped  # ::ffff:10.1.2.3 from a dual-stack socket is 10.1.2.3
    return parsed is not None and any(parsed in network for network in trusted)


def resolve_client(peer: str, forwarded_for: Iterable[str], trusted: Sequence[Network]) -> str:
    """The client's address: the socket ``peer``, or, when the peer is a trusted proxy, the
    right-most ``X-Forwarded-For`` hop that is not a trusted proxy (``forwarded_for`` holds the
    header's values in the order received)."""
    if not trusted or not is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
    client = peer
    for hop in reversed(hops):
        parsed = _address(hop)
        if parsed is None:
            # Not an address: nothing left of it can be believed; the last hop seen stands.
            return client
        client = str(parsed)
        if not any(parsed in network for network in trusted):
            return client
    return client

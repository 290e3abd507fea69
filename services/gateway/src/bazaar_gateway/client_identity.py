"""Who a request comes from, for rate limiting: the connection's peer address.

`X-Forwarded-For` is written by whoever sent the request, so it is believed only when the peer is
a proxy listed in `TRUSTED_PROXIES`, and then only as far as the chain stays trusted: read right
to left (each hop appends the address it saw), skip trusted proxies, and the first address that
is not one is the client. Anything further left came from the client and may be made up.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN = "unknown"
# Memoised peer → trusted? answers (a handful of proxies in practice; bounded regardless).
_MEMO_SIZE = 4096


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """`10.0.0.0/8`, `192.0.2.7` or `::1`; raises ValueError naming a bad entry."""
    networks: list[Network] = []
    for entry in entries:
        text = entry.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError as exc:
            raise ValueError(f"TRUSTED_PROXIES: {text!r} is not an IP address or network") from exc
    return tuple(networks)


class ClientIdentity:
    def __init__(self, trusted_proxies: Iterable[Network] = ()) -> None:
        self.trusted = tuple(trusted_proxies)
        self._memo: dict[str, bool] = {}

    @property
    def uses_forwarded_for(self) -> bool:
        return bool(self.trusted)

    def is_trusted(self, address: str) -> bool:
        known = self._memo.get(address)
        if known is not None:
            return known
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            trusted = False
        else:
            trusted = any(ip in network for network in self.trusted)
        if len(self._memo) >= _MEMO_SIZE:
            self._memo.clear()
        self._memo[address] = trusted
        return trusted

    def address(self, peer: str | None, forwarded_for: bytes | None) -> str:
        """The client's address: the peer's, unless the peer is a trusted proxy."""
        if peer is None:
            return UNKNOWN
        if forwarded_for is None or not self.trusted or not self.is_trusted(peer):
            return peer
        client = peer
        for hop in reversed(forwarded_for.decode("latin-1").split(",")):
            hop = hop.strip()
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                # A trusted proxy appends real addresses; garbage means the chain ended here.
                return client
            client = hop
            if not self.is_trusted(hop):
                return client
        return client

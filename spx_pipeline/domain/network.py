"""Which addresses count as a private network: the one rule the broker's host guard and the local
Tradier server share, so the server listens only where the client may send a token."""

from __future__ import annotations

import ipaddress


def is_private_network_address(host: str) -> bool:
    """An address literal of a private network (10/8, 172.16/12, 192.168/16, fc00::/7...).

    Never loopback (a rule of its own), link-local, unspecified (0.0.0.0 would listen everywhere),
    multicast or reserved; a host name is never one, since a name may resolve anywhere.
    """
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return address.is_private and not (
        address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or address.is_multicast
        or address.is_reserved
    )

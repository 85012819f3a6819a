"""The client's address, as far as our own proxies vouch for it.

X-Forwarded-For is a list anyone can start: a client sends ``X-Forwarded-For: 203.0.113.7`` and
every proxy on the way appends the address it saw the request come from. Only the entries our
own proxies appended can be believed, and those are the rightmost ones. With
``TRUSTED_PROXY_COUNT`` proxies in front of gunicorn (nginx alone: 1; a load balancer, then
nginx: 2), the client is the ``TRUSTED_PROXY_COUNT``-th address from the right. With 0 (the
default) the header is ignored and the client is the socket's peer, ``REMOTE_ADDR``.

DRF's throttles read the header verbatim unless told how many proxies to trust
(``NUM_PROXIES``), which is how 130 logins each with a different forged header were never
limited (issue #10, finding 4). Everything that keys on the client address calls this function.
"""

import ipaddress
import logging

from django.conf import settings

logger = logging.getLogger(__name__)
_warned_untrusted_proxy = False


def client_ip(request) -> str:
    """The address of the client that sent ``request``, never one the client chose itself."""
    meta = request.META
    remote_addr = meta.get("REMOTE_ADDR", "")
    trusted = settings.TRUSTED_PROXY_COUNT
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    if not forwarded:
        return remote_addr
    if trusted <= 0:
        _warn_if_behind_untrusted_proxy(remote_addr)
        return remote_addr
    hops = [hop.strip() for hop in forwarded.split(",")]
    # Fewer hops than trusted proxies means one of them was skipped, which the network must
    # not allow (gunicorn listens on loopback, nginx only behind the load balancer); the
    # leftmost hop is then the best guess, as in DRF's NUM_PROXIES.
    candidate = hops[-min(trusted, len(hops))]
    return candidate if _is_ip(candidate) else remote_addr


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _warn_if_behind_untrusted_proxy(remote_addr: str) -> None:
    """Forwarded requests from a private address look like a proxy of ours that nobody told us
    about: then every client shares that address and its login budget. Said once a process."""
    global _warned_untrusted_proxy
    if _warned_untrusted_proxy or not _is_ip(remote_addr):
        return
    if ipaddress.ip_address(remote_addr).is_private:  # loopback included
        _warned_untrusted_proxy = True
        logger.warning(
            "X-Forwarded-For arrives from %s but TRUSTED_PROXY_COUNT is 0: every client behind "
            "that proxy shares one rate limit; set TRUSTED_PROXY_COUNT (docs/operations.md)",
            remote_addr,
        )

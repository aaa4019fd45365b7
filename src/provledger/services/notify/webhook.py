"""Webhook targets and retries: which URLs a subscription may target, and how long to wait
between attempts (one POST and its outcome: :mod:`provledger.services.notify.posting`).

A webhook URL is checked when a subscription is made and again at every delivery
(:func:`check_target`), because what a name resolves to can change in between: unless the
operator allows private targets, no delivery goes to an address of the machine itself, of its
network or of a cloud's metadata service (a server-side request forgery guard). A
delivery connects to an address the check found, so a name that resolves elsewhere between the
check and the connection cannot redirect it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeAlias
from urllib.parse import SplitResult, quote, urlsplit

from provledger.errors import InputError

__all__ = [
    "BASE_BACKOFF_MS",
    "GIVE_UP_AFTER_MS",
    "MAX_BACKOFF_MS",
    "Target",
    "WebhookTargetError",
    "backoff_ms",
    "check_target",
    "checked_target",
    "default_resolve",
]

#: The wait before the second attempt may be up to this (the cap doubles per attempt).
BASE_BACKOFF_MS: Final = 1_000
#: The wait between two attempts never passes this (1 hour).
MAX_BACKOFF_MS: Final = 3_600_000
#: A delivery still failing this long after its first attempt is given up (24 hours).
GIVE_UP_AFTER_MS: Final = 24 * 3600 * 1000

_SCHEMES: Final = {"http": 80, "https": 443}
#: What a request path keeps as it is: the characters a URL may hold, and ``%`` (already
#: percent-encoded octets stay).
_PATH_SAFE: Final = "!#$%&'()*+,/:;=?@[]~"
#: Exponents past this already put the cap far above :data:`MAX_BACKOFF_MS`.
_MAX_DOUBLINGS: Final = 32
#: The well-known NAT64 prefix: its last 32 bits are an IPv4 address.
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
#: Looks a host name up: ``(host, port)`` to the IP addresses it resolves to, as text.
Resolver: TypeAlias = Callable[[str, int], list[str]]


class WebhookTargetError(InputError):
    """A webhook URL cannot be delivered to, for a ``reason`` (its credentials, if it has any,
    are masked in ``url``)."""

    template = "Cannot deliver webhooks to {url!r}: {reason}"
    url: str
    reason: str


# --- targets ---


def default_resolve(host: str, port: int) -> list[str]:
    """The IP addresses ``host`` resolves to for a TCP connection to ``port``, in the system
    resolver's order, each once. Raises :class:`OSError` (``socket.gaierror``) when it does
    not resolve."""
    found: list[str] = []
    for *_, address in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        text = str(address[0])
        if text not in found:
            found.append(text)
    return found


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (IPv4-mapped, 6to4 or NAT64), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _special_kind(address: IPAddress) -> str | None:
    """What makes ``address`` unfit for a webhook when private targets are not allowed (for an
    IPv6 form of an IPv4 address, what makes that one unfit), or None for a public address."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        kind = _special_kind(embedded)
        return None if kind is None else f"{kind} (IPv4 {embedded})"
    kinds = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        # 100.64.0.0/10 and the like: neither private nor public, and where some clouds put
        # their metadata service (100.100.100.200).
        ("not globally routable", not address.is_global),
    )
    return next((kind for kind, applies in kinds if applies), None)


def _masked(url: str) -> str:
    """``url`` as an error may show it: its credentials, if any, masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]).geturl()


def _normalised(parts: SplitResult, host: str, port: int | None) -> str:
    """The URL of ``parts``: lower-case scheme and host, no default port, a path of at least
    ``/``."""
    scheme = parts.scheme.lower()
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _SCHEMES[scheme]:
        netloc += f":{port}"
    query = f"?{parts.query}" if parts.query else ""
    return f"{scheme}://{netloc}{parts.path or '/'}{query}"


@dataclass(frozen=True)
class Target:
    """A checked webhook URL: its normalised form, its parts, and the addresses it may be
    delivered to (those it resolved to when checked: a delivery connects to one of them, and
    does not resolve the name again)."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    """The path and query the request names."""
    addresses: tuple[str, ...]


def check_target(url: str, *, allow_private: bool, resolve: Resolver = default_resolve) -> str:
    """The normalised form of webhook URL ``url``, after checking it may be delivered to
    (:func:`checked_target`)."""
    return checked_target(url, allow_private=allow_private, resolve=resolve).url


def checked_target(url: str, *, allow_private: bool, resolve: Resolver = default_resolve) -> Target:
    """Webhook URL ``url``, checked: it may be delivered to.

    It must be ``http`` or ``https`` with a host, a port from 1 to 65535 if one is given, no
    credentials and no fragment, and its host must resolve (through ``resolve``; an IP address
    is taken as it is). Unless ``allow_private`` (the operator's setting), no address it
    resolves to may be loopback, private, link-local, multicast, reserved, unspecified or
    otherwise not globally routable, nor an IPv6 form (IPv4-mapped, 6to4, NAT64) of one.
    Raises :class:`WebhookTargetError`.
    """

    def refuse(reason: str) -> WebhookTargetError:
        return WebhookTargetError(_masked(url), reason)

    if any(character <= " " or character == "\x7f" for character in url):
        raise refuse("it contains whitespace or control characters")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise refuse("it is not a URL") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise refuse("its scheme must be http or https")
    if "@" in parts.netloc:
        raise refuse("it carries credentials (user:password@)")
    host = parts.hostname
    if not host:
        raise refuse("it has no host")
    if "#" in url:
        raise refuse("it has a fragment (#...)")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise refuse("its port is not a number from 1 to 65535")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        found = _resolved(host, port or _SCHEMES[scheme], resolve, refuse)
    else:
        found = [(host, literal)]
    if not allow_private:
        for text, address in found:
            kind = _special_kind(address)
            if kind is None:
                continue
            described = f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} address"
            where = f"{text} is" if text == host else f"{host} resolves to {text},"
            raise refuse(
                f"{where} {described}; private targets are off (PROVLEDGER_NOTIFY_ALLOW_PRIVATE)"
            )
    query = f"?{parts.query}" if parts.query else ""
    return Target(
        url=_normalised(parts, host, port),
        scheme=scheme,
        host=host,
        port=port or _SCHEMES[scheme],
        # as requests sent it: anything outside ASCII percent-encoded (UTF-8), the rest kept
        path=quote((parts.path or "/") + query, safe=_PATH_SAFE),
        addresses=tuple(text for text, _ in found),
    )


def _resolved(
    host: str, port: int, resolve: Resolver, refuse: Callable[[str], WebhookTargetError]
) -> list[tuple[str, IPAddress]]:
    """The addresses ``host`` resolves to, each as the resolver wrote it and parsed; refused
    when there are none."""
    try:
        found = resolve(host, port)
    except (OSError, UnicodeError):
        found = []
    if not found:
        raise refuse("the host does not resolve")
    addresses: list[tuple[str, IPAddress]] = []
    for text in found:
        try:
            addresses.append((text, ipaddress.ip_address(text)))
        except ValueError:
            raise refuse(f"{host} resolves to {text!r}, which is not an IP address") from None
    return addresses


# --- retries ---


def backoff_ms(attempt: int, random: Callable[[], float]) -> int:
    """How long to wait, in milliseconds, after failed attempt number ``attempt`` (1 for the
    first) before the next one: exponential backoff with full jitter.

    The wait is ``int(random() * cap)`` but at least 1 ms, where the cap is
    :data:`BASE_BACKOFF_MS` doubled per earlier attempt (1 s, 2 s, 4 s ...) and at most
    :data:`MAX_BACKOFF_MS` (reached at attempt 13). ``random`` returns a float in [0, 1)
    (``random.random``; a test passes a constant), so the wait is in [1, cap]. Retries stop
    :data:`GIVE_UP_AFTER_MS` after the first attempt, whatever the count.
    """
    if attempt < 1:
        raise ValueError(f"attempts are numbered from 1, got {attempt}")
    cap = min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** min(attempt - 1, _MAX_DOUBLINGS))
    return max(1, int(random() * cap))

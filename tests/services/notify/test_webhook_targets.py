"""Which URLs a webhook may target (the guard against server-side request forgery), and the
waits between delivery attempts."""

from __future__ import annotations

import socket

import pytest

from provledger.services.notify.webhook import (
    BASE_BACKOFF_MS,
    GIVE_UP_AFTER_MS,
    MAX_BACKOFF_MS,
    WebhookTargetError,
    backoff_ms,
    check_target,
)

PUBLIC = "93.184.215.14"


class Names:
    """A resolver that answers from a table and records what it was asked."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.table[host]


def public_names() -> Names:
    return Names({"example.com": [PUBLIC], "hooks.example.com": [PUBLIC, "2606:2800:21f::1"]})


def refusal(url: str, *, allow_private: bool = False, resolve: Names | None = None) -> str:
    """The reason ``check_target`` refuses ``url`` for; fails the test if it accepts it."""
    with pytest.raises(WebhookTargetError) as raised:
        check_target(url, allow_private=allow_private, resolve=resolve or public_names())
    assert "\n" not in str(raised.value)
    return raised.value.reason


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("https://example.com/x", "https://example.com/x"),
        ("HTTPS://Example.COM/x?a=1&b=2", "https://example.com/x?a=1&b=2"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com:443/x", "https://example.com/x"),
        ("http://example.com:80/x", "http://example.com/x"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("http://hooks.example.com/in", "http://hooks.example.com/in"),
        (f"https://{PUBLIC}/x", f"https://{PUBLIC}/x"),
        ("https://[2606:2800:21f::1]:8443/x", "https://[2606:2800:21f::1]:8443/x"),
        ("https://[::ffff:93.184.215.14]/x", "https://[::ffff:93.184.215.14]/x"),
    ],
)
def test_a_public_target_is_accepted_and_normalised(url: str, normalised: str) -> None:
    assert check_target(url, allow_private=False, resolve=public_names()) == normalised


def test_the_host_is_resolved_with_the_port_of_the_url() -> None:
    names = public_names()
    check_target("https://example.com/x", allow_private=False, resolve=names)
    check_target("http://example.com:8080/x", allow_private=False, resolve=names)
    assert names.asked == [("example.com", 443), ("example.com", 8080)]
    check_target(f"https://{PUBLIC}/x", allow_private=False, resolve=names)
    assert len(names.asked) == 2  # an IP address is not looked up


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/x", "its scheme must be http or https"),
        ("file:///etc/passwd", "its scheme must be http or https"),
        ("example.com/x", "its scheme must be http or https"),
        ("https://user:pass@example.com/x", "it carries credentials (user:password@)"),
        ("https://user@example.com/x", "it carries credentials (user:password@)"),
        ("https:///x", "it has no host"),
        ("https://:443/x", "it has no host"),
        ("https://example.com/x#frag", "it has a fragment (#...)"),
        ("https://example.com/x#", "it has a fragment (#...)"),
        ("https://example.com:0/x", "its port is not a number from 1 to 65535"),
        ("https://example.com:65536/x", "its port is not a number from 1 to 65535"),
        ("https://example.com:http/x", "its port is not a number from 1 to 65535"),
        ("https://example.com/a b", "it contains whitespace or control characters"),
        ("https://example.com/x\n", "it contains whitespace or control characters"),
        ("https://[::1/x", "it is not a URL"),
    ],
)
def test_a_malformed_target_is_refused(url: str, reason: str) -> None:
    assert refusal(url).startswith(reason)
    assert refusal(url, allow_private=True).startswith(reason)


def test_credentials_are_masked_in_the_refusal() -> None:
    with pytest.raises(WebhookTargetError) as raised:
        check_target(
            "https://user:s3cret@example.com/x", allow_private=True, resolve=public_names()
        )
    assert raised.value.url == "https://***@example.com/x"
    assert "s3cret" not in str(raised.value)


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("[::1]", "::1 is a loopback address"),
        ("10.0.0.1", "10.0.0.1 is a private address"),
        ("192.168.1.1", "192.168.1.1 is a private address"),
        ("172.16.0.1", "172.16.0.1 is a private address"),
        ("169.254.169.254", "169.254.169.254 is a link-local address"),
        ("[fe80::1]", "fe80::1 is a link-local address"),
        ("[fd00::1]", "fd00::1 is a private address"),
        ("0.0.0.0", "0.0.0.0 is an unspecified address"),
        ("[::]", ":: is an unspecified address"),
        ("224.0.0.1", "224.0.0.1 is a multicast address"),
        ("240.0.0.1", "240.0.0.1 is a private address"),
        ("100.100.100.200", "100.100.100.200 is a not globally routable address"),
        ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1 is a loopback (IPv4 127.0.0.1) address"),
        ("[::ffff:10.0.0.1]", "::ffff:10.0.0.1 is a private (IPv4 10.0.0.1) address"),
        ("[2002:7f00:1::1]", "2002:7f00:1::1 is a loopback (IPv4 127.0.0.1) address"),
        ("[64:ff9b::a9fe:a9fe]", "64:ff9b::a9fe:a9fe is a link-local (IPv4 169.254.169.254)"),
    ],
)
def test_a_private_address_is_refused_unless_allowed(host: str, reason: str) -> None:
    url = f"http://{host}:8080/hook"
    assert refusal(url).startswith(reason)
    assert refusal(url).endswith("; private targets are off (PROVLEDGER_NOTIFY_ALLOW_PRIVATE)")
    assert check_target(url, allow_private=True, resolve=public_names()) == url


@pytest.mark.parametrize(
    "addresses",
    [["10.1.2.3"], [PUBLIC, "127.0.0.1"], ["::1"], ["::ffff:192.168.0.10"], ["169.254.169.254"]],
)
def test_a_name_resolving_to_any_private_address_is_refused_unless_allowed(
    addresses: list[str],
) -> None:
    names = Names({"internal.example.com": addresses})
    url = "https://internal.example.com/hook"
    reason = refusal(url, resolve=names)
    assert reason.startswith(f"internal.example.com resolves to {addresses[-1]}, a")
    assert check_target(url, allow_private=True, resolve=names) == url


@pytest.mark.parametrize("resolve", [Names({}), Names({"gone.example.com": []})])
def test_a_name_that_does_not_resolve_is_refused(resolve: Names) -> None:
    for allow_private in (False, True):
        reason = refusal("https://gone.example.com/x", allow_private=allow_private, resolve=resolve)
        assert reason == "the host does not resolve"


def test_a_resolver_answer_that_is_not_an_address_is_refused() -> None:
    names = Names({"odd.example.com": ["not-an-ip"]})
    reason = refusal("https://odd.example.com/x", allow_private=True, resolve=names)
    assert reason == "odd.example.com resolves to 'not-an-ip', which is not an IP address"


def test_the_refusal_reads_as_one_line_naming_the_url() -> None:
    with pytest.raises(WebhookTargetError) as raised:
        check_target("http://127.0.0.1/x", allow_private=False, resolve=public_names())
    assert str(raised.value) == (
        "Cannot deliver webhooks to 'http://127.0.0.1/x': "
        "127.0.0.1 is a loopback address; private targets are off (PROVLEDGER_NOTIFY_ALLOW_PRIVATE)"
    )


# --- backoff ---


def test_the_backoff_cap_doubles_from_one_second_then_stays_at_an_hour() -> None:
    caps = [backoff_ms(attempt, lambda: 1.0) for attempt in range(1, 16)]
    assert caps[:4] == [1_000, 2_000, 4_000, 8_000]
    assert caps[11] == 2_048_000
    assert caps[12:] == [3_600_000] * 3
    assert (BASE_BACKOFF_MS, MAX_BACKOFF_MS) == (1_000, 3_600_000)
    assert backoff_ms(10_000, lambda: 1.0) == MAX_BACKOFF_MS


@pytest.mark.parametrize("attempt", [1, 2, 5, 13, 40])
def test_the_backoff_is_jittered_within_the_cap_and_at_least_a_millisecond(attempt: int) -> None:
    cap = min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** (attempt - 1))
    assert backoff_ms(attempt, lambda: 0.0) == 1
    assert backoff_ms(attempt, lambda: 0.5) == cap // 2
    assert backoff_ms(attempt, lambda: 0.999999) in range(cap - cap // 1000 - 1, cap)


def test_attempts_are_numbered_from_one() -> None:
    with pytest.raises(ValueError, match="numbered from 1"):
        backoff_ms(0, lambda: 0.5)


def test_retries_give_up_after_a_day() -> None:
    assert GIVE_UP_AFTER_MS == 86_400_000

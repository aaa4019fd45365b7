"""One webhook delivery against a real receiver: what arrives, and the outcome of each way a
receiver or the network can answer."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from helpers.receiver import KeepAliveReceiver, Receiver
from provledger.services.notify.posting import Connections, Outcome, post
from provledger.services.notify.signing import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    sign,
    subscription_secret,
)

BODY = b'{"event":"AssetRegistered","assetId":"7"}'
SECRET = subscription_secret(bytes(32), "sub-1")


@pytest.fixture
def session() -> Iterator[Connections]:
    connections = Connections()
    yield connections
    connections.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


def headers() -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(SECRET, 1_750_000_000, BODY),
        DELIVERY_HEADER: "dlv-1",
    }


def deliver(
    session: Connections, url: str, *, timeout: float = 5.0, allow_private: bool = True
) -> Outcome:
    return post(session, url, BODY, headers(), timeout=timeout, allow_private=allow_private)


def test_a_delivery_arrives_with_its_headers_and_body_intact(
    session: Connections, receiver: Receiver
) -> None:
    sent = {**headers(), "user-agent": "someone-else/1.0"}
    outcome = post(session, receiver.url, BODY, sent, timeout=5.0, allow_private=True)
    assert outcome == Outcome(delivered=True, status=200, error=None)
    [received] = receiver.wait_for(1, timeout=5.0)
    assert received.path == "/hook"
    assert received.body == BODY
    assert received.headers["content-type"] == "application/json"
    assert received.headers["provledger-signature"] == headers()[SIGNATURE_HEADER]
    assert received.headers["provledger-delivery"] == "dlv-1"
    assert received.headers["user-agent"] == "provledger-notify"
    assert received.headers["content-length"] == str(len(BODY))


@pytest.mark.parametrize("status", [201, 202, 204, 299])
def test_any_2xx_answer_is_a_delivery(
    session: Connections, receiver: Receiver, status: int
) -> None:
    receiver.respond = lambda received: status
    assert deliver(session, receiver.url) == Outcome(delivered=True, status=status, error=None)


@pytest.mark.parametrize("status", [500, 503, 404, 410, 400, 429, 418])
def test_any_other_answer_is_not(session: Connections, receiver: Receiver, status: int) -> None:
    receiver.respond = lambda received: status
    outcome = deliver(session, receiver.url)
    assert outcome == Outcome(delivered=False, status=status, error=f"HTTP {status}")


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_not_a_delivery_and_is_not_followed(
    session: Connections, receiver: Receiver, status: int
) -> None:
    receiver.respond = lambda received: status if received.path == "/hook" else 200
    outcome = deliver(session, receiver.url)
    assert outcome == Outcome(delivered=False, status=status, error=f"HTTP {status}")
    # post returns after any redirect it followed (the receiver's Location is /followed).
    assert [received.path for received in receiver.received] == ["/hook"]


def test_a_receiver_slower_than_the_timeout_times_out(
    session: Connections, receiver: Receiver
) -> None:
    receiver.delay = 5.0
    started = time.monotonic()
    outcome = deliver(session, receiver.url, timeout=0.3)
    assert outcome == Outcome(delivered=False, status=None, error="timed out after 0.3 s")
    assert time.monotonic() - started < 3.0
    assert len(receiver.wait_for(1, timeout=1.0)) == 1


def test_a_closed_port_is_a_connection_error(session: Connections) -> None:
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    # Nothing listens on the port the placeholder held (and gave back) a moment ago.
    outcome = deliver(session, f"http://127.0.0.1:{port}/hook")
    assert outcome == Outcome(delivered=False, status=None, error="connection refused")


def test_a_private_target_is_refused_before_any_request(
    session: Connections, receiver: Receiver
) -> None:
    outcome = deliver(session, receiver.url, allow_private=False)
    assert outcome == Outcome(
        delivered=False,
        status=None,
        error=(
            "127.0.0.1 is a loopback address; private targets are off "
            "(PROVLEDGER_NOTIFY_ALLOW_PRIVATE)"
        ),
    )
    assert receiver.received == []


def test_a_target_refused_at_delivery_time_is_an_outcome_not_an_error(
    session: Connections,
) -> None:
    def rebound(host: str, port: int) -> list[str]:
        return ["10.0.0.7"]  # the name now points inside the network

    outcome = post(
        session,
        "https://hooks.example.com/in",
        BODY,
        headers(),
        timeout=5.0,
        allow_private=False,
        resolve=rebound,
    )
    assert outcome == Outcome(
        delivered=False,
        status=None,
        error=(
            "hooks.example.com resolves to 10.0.0.7, a private address; private targets are "
            "off (PROVLEDGER_NOTIFY_ALLOW_PRIVATE)"
        ),
    )


def test_the_receiver_reports_how_many_arrived_when_it_waits_in_vain(receiver: Receiver) -> None:
    with pytest.raises(AssertionError, match=r"expected 1 deliveries within 0\.1 s, got 0$"):
        receiver.wait_for(1, timeout=0.1)


def test_a_delivery_goes_to_the_address_the_check_found_not_to_a_second_lookup(
    session: Connections, receiver: Receiver
) -> None:
    looked_up: list[str] = []

    def once(host: str, port: int) -> list[str]:
        looked_up.append(host)  # a second lookup could answer anything: there is none
        return ["127.0.0.1"]

    url = receiver.url.replace("127.0.0.1", "hooks.invalid")
    outcome = post(session, url, BODY, headers(), timeout=5.0, allow_private=True, resolve=once)
    assert outcome == Outcome(delivered=True, status=200, error=None)
    assert looked_up == ["hooks.invalid"]
    [received] = receiver.wait_for(1, timeout=5.0)
    assert received.headers["host"] == f"hooks.invalid:{receiver.port}"


def test_deliveries_to_one_target_keep_their_connection(session: Connections) -> None:
    with KeepAliveReceiver() as receiver:
        for number in range(3):
            outcome = deliver(session, receiver.url)
            assert outcome == Outcome(delivered=True, status=200, error=None), number
        assert receiver.connections == 1
        receiver.drop_idle()  # the receiver closes the idle connection: the next POST reconnects
        assert deliver(session, receiver.url) == Outcome(delivered=True, status=200, error=None)
        assert receiver.connections == 2
        assert receiver.posts == 4


def test_a_path_outside_ascii_is_sent_percent_encoded(
    session: Connections, receiver: Receiver
) -> None:
    outcome = deliver(session, receiver.url + "/dépôt?lieu=Zürich")
    assert outcome == Outcome(delivered=True, status=200, error=None)
    [received] = receiver.wait_for(1, timeout=5.0)
    assert received.path == "/hook/d%C3%A9p%C3%B4t?lieu=Z%C3%BCrich"


def test_an_answer_of_no_stated_length_is_not_read_and_its_connection_closed(
    session: Connections,
) -> None:
    with KeepAliveReceiver() as receiver:
        receiver.reply = (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"-1\r\n"  # a chunk size that would read until the receiver closes
        )
        assert deliver(session, receiver.url) == Outcome(delivered=True, status=200, error=None)
        receiver.reply = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        assert deliver(session, receiver.url) == Outcome(delivered=True, status=200, error=None)
        assert receiver.connections == 2  # the first answer's connection was not used again


def test_a_name_with_an_address_that_refuses_is_delivered_at_the_next_one(
    session: Connections, receiver: Receiver
) -> None:
    def both(host: str, port: int) -> list[str]:
        # the receiver listens on 127.0.0.1 only: 127.0.0.2 refuses, 127.0.0.1 takes it
        return ["127.0.0.2", "127.0.0.1"]

    url = receiver.url.replace("127.0.0.1", "hooks.invalid")
    outcome = post(session, url, BODY, headers(), timeout=5.0, allow_private=True, resolve=both)
    assert outcome == Outcome(delivered=True, status=200, error=None)
    assert len(receiver.wait_for(1, timeout=5.0)) == 1


def test_a_name_whose_every_address_refuses_says_so(session: Connections) -> None:
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]

    def nowhere(host: str, port: int) -> list[str]:
        return ["127.0.0.2", "127.0.0.1"]

    url = f"http://hooks.invalid:{port}/hook"
    outcome = post(session, url, BODY, headers(), timeout=5.0, allow_private=True, resolve=nowhere)
    assert outcome == Outcome(delivered=False, status=None, error="connection refused")

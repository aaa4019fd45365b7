"""Hostile input to the served gateway process: the inputs of an outside probe (issue 16), each
sent again to a real `provledger serve` over a real chain. A fault that was a crash or memory
growth is checked on the process itself: after each input it is alive and answers /health.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from api.conftest import Served
from cli.conftest import Cli, gateway_process
from provledger.chain.anvil import free_port
from provledger.hashing import FolderManifest, ManifestEntry

#: Memory the process may keep after a flood (the probe saw +357 MB for ten 32 MiB headers).
RSS_GROWTH_BOUND = 64 << 20


def _raw(port: int, request: bytes, *, wait: float = 10) -> bytes:
    """Send ``request`` on a new connection; what comes back until the server closes (a reset
    after a refusal counts as the end)."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)  # refused before it was all sent: the answer may be there
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
        return answer


def _status(answer: bytes) -> int | None:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None


def _problem(response: requests.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-content-type-options"] == "nosniff"
    body: dict[str, object] = response.json()
    assert body["status"] == status
    return body


# ------------------------------------------------------------------ 1. deep JSON


@pytest.mark.parametrize("depth", [100_000, 1_000_000])
def test_a_deeply_nested_manifest_is_refused_and_the_gateway_lives(
    served: Served, depth: int
) -> None:
    body = "[" * depth + "]" * depth
    response = requests.post(
        f"{served.url}/verify/manifest",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    problem = _problem(response, 400)
    assert problem["detail"] == "manifest: Malformed folder manifest: nested deeper than 64 levels"
    served.gateway.assert_alive()


def test_a_deeply_nested_relay_body_is_refused_and_the_gateway_lives(served: Served) -> None:
    body = '{"registrations":' + "[" * 200_000 + "]" * 200_000 + "}"
    response = requests.post(
        f"{served.url}/relay/registrations",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {served.api_key}"},
        timeout=30,
    )
    problem = _problem(response, 400)
    assert problem["detail"] == "body: nested deeper than 64 levels"
    served.gateway.assert_alive()


# ------------------------------------------------------------------ 2. headers and slow clients


def test_huge_headers_in_parallel_are_refused_and_memory_stays_flat(served: Served) -> None:
    served.gateway.assert_alive()
    before = served.gateway.rss()
    request = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (32 << 20) + b"\r\n\r\n"
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: _raw(served.port, request), range(10)))
    # Refused as soon as the head passes its limit: a 431, or a reset if the client was still
    # sending when the connection closed.
    assert all(_status(answer) in (431, None) for answer in answers), answers
    assert any(_status(answer) == 431 for answer in answers)
    served.gateway.assert_alive()
    assert served.gateway.rss() - before < RSS_GROWTH_BOUND


@pytest.mark.parametrize(
    ("request_bytes", "status", "detail"),
    [
        (
            b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (16 << 20) + b"\r\n\r\n",
            431,
            "the request head is longer than 32,768 bytes",
        ),
        (
            b"GET /health HTTP/1.1\r\nHost: x\r\n"
            + b"".join(b"X-%d: 1\r\n" % n for n in range(20_000))
            + b"\r\n",
            431,
            "more than 100 header fields",
        ),
        (
            b"GET /health?" + b"q" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            414,
            "the request target is longer than 8,192 bytes",
        ),
        (b"NOT HTTP AT ALL\r\n\r\n", 400, "the request is not valid HTTP/1.1"),
    ],
    ids=["16MiB-header", "20000-headers", "long-request-line", "not-http"],
)
def test_oversized_request_heads_are_refused(
    served: Served, request_bytes: bytes, status: int, detail: str
) -> None:
    answer = _raw(served.port, request_bytes)
    assert _status(answer) == status, answer[:200]
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"x-content-type-options: nosniff" in head
    assert b"content-type: application/problem+json" in head
    assert json.loads(body)["detail"] == detail
    served.gateway.assert_alive()


def test_a_slow_head_and_a_stalled_body_are_cut_off(served: Served) -> None:
    started = time.monotonic()
    slow_head = _raw(served.port, b"GET /health HTTP/1.1\r\nHost: x\r\n")
    assert _status(slow_head) == 408
    assert b"the request head did not arrive within 1 s" in slow_head
    stalled = _raw(
        served.port,
        b"POST /verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Length: 1000\r\n\r\nonly a part of it",
    )
    assert _status(stalled) == 408
    assert b"the request body paused longer than 1 s" in stalled
    assert time.monotonic() - started < 9  # each cut off at its 1 s limit, not the client's
    served.gateway.assert_alive()


# ------------------------------------------------------------------ 4. heavy work


@pytest.fixture(scope="module")
def big_manifest() -> bytes:
    """A valid folder manifest of 140,000 files (about 15 MB)."""
    entries = [
        ManifestEntry(f"day-{n:06d}.csv", hashlib.sha256(b"%d" % n).digest(), n)
        for n in range(140_000)
    ]
    return FolderManifest.from_entries(entries).to_json().encode()


def test_parallel_big_manifests_leave_the_gateway_answering(
    served: Served, big_manifest: bytes
) -> None:
    """Eight parallel 15 MB manifests: at most two per worker are taken (the others 503 with
    Retry-After at once), /health answers while they are worked on, memory is returned."""
    assert len(big_manifest) > 14_000_000
    served.gateway.assert_alive()
    before = served.gateway.rss()
    done: list[float] = []
    health: list[tuple[float, int]] = []
    stop = threading.Event()

    def post(_: int) -> requests.Response:
        response = requests.post(
            f"{served.url}/verify/manifest",
            data=big_manifest,
            headers={"Content-Type": "application/json"},
            timeout=120,
        )
        done.append(time.monotonic())
        return response

    def probe() -> None:
        while not stop.is_set():
            response = requests.get(f"{served.url}/health", timeout=30)
            health.append((time.monotonic(), response.status_code))
            time.sleep(0.05)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(post, range(8)))
    finally:
        stop.set()
        prober.join()
    statuses = sorted(answer.status_code for answer in answers)
    assert set(statuses) <= {200, 503}
    assert statuses.count(200) >= 2
    for answer in answers:
        if answer.status_code == 503:
            assert answer.headers["retry-after"] == "1"
            assert "verify_manifest already has 2 requests in progress" in answer.json()["detail"]
        else:
            verdict = answer.json()
            assert verdict["files"] == 140_000
            assert verdict["verdict"]["registered"] is False
    # /health answered while the manifests were being worked on, every time.
    during = [status for moment, status in health if moment < max(done)]
    assert during
    assert set(during) == {200}
    served.gateway.assert_alive()
    assert served.gateway.rss() - before < 4 * RSS_GROWTH_BOUND


# ------------------------------------------------------------------ 5. ranges and the node


LIST_ROUTES = [
    "/assets",
    "/assets/{asset}/history",
    "/assets/{asset}/holders",
    "/assets/{asset}/licenses",
    "/assets/{asset}/appraisals",
    "/assets/{asset}/objections",
    "/assets/{asset}/disputes",
    "/assets/{asset}/certificates",
    "/accounts/0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc/licenses",
    "/participants",
    "/batches",
    "/market/offers",
    "/market/offers/1/bids",
    "/assets/{asset}/offers",
    "/assets/{asset}/trades",
    "/accounts/0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc/trades",
]


def _cursor(key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


@pytest.mark.parametrize("route", LIST_ROUTES)
@pytest.mark.parametrize("key", [[2**63], [-(2**63) - 1], [2**256, 0], ["a" * 200], [2**63, 2**63]])
def test_a_cursor_outside_the_columns_range_is_a_400(
    served: Served, route: str, key: list[object]
) -> None:
    path = route.replace("{asset}", served.asset_id)
    response = requests.get(f"{served.url}{path}", params={"cursor": _cursor(key)}, timeout=10)
    problem = _problem(response, 400)
    assert problem["detail"] in ("cursor: not a cursor of this list",)


@pytest.mark.parametrize("number", ["9223372036854775808", "9" * 5000, "1" + "0" * 30])
def test_a_registration_number_past_64_bits_is_not_found(served: Served, number: str) -> None:
    response = requests.get(f"{served.url}/search", params={"q": number}, timeout=10)
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    served.gateway.assert_alive()


def test_a_node_outage_is_a_503_problem_on_every_route_that_needs_the_node(
    cli: Cli,
    served: Served,
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with gateway_process(
        cli, PROVLEDGER_RPC_URL=dead, PROVLEDGER_RELAYER_DEV_ACCOUNT="9"
    ) as gateway:
        base = gateway.url
        auth = {"Authorization": f"Bearer {served.api_key}"}
        answers = {
            "ready": requests.get(f"{base}/ready", timeout=30),
            "proof": requests.get(f"{base}/assets/{served.asset_id}/proof", timeout=30),
            "relay": requests.post(
                f"{base}/relay/registrations", data=b"{}", headers=auth, timeout=30
            ),
            "relay status": requests.get(f"{base}/relay/requests/abc", headers=auth, timeout=30),
        }
        for name, response in answers.items():
            problem = _problem(response, 503)
            assert f"cannot reach the chain at {dead}" in str(problem["detail"]), name
        # What the index alone answers is still answered.
        assert requests.get(f"{base}/assets/{served.asset_id}", timeout=10).status_code == 200
        gateway.assert_alive()


# ------------------------------------------------------------------ 7. smaller


def test_a_multipart_body_is_capped_whole_not_only_its_file(served: Served) -> None:
    boundary = "probe"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n'
        f"abc\r\n--{boundary}--\r\n"
    ).encode()
    trailer = b"x" * (60 << 20)
    response = requests.post(
        f"{served.url}/verify",
        data=head + trailer,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        timeout=60,
    )
    problem = _problem(response, 413)
    assert "upload cap" in str(problem["detail"])
    served.gateway.assert_alive()


def test_redirects_do_not_repeat_the_host_header(served: Served) -> None:
    for path in ("/assets/", "/search?q=", "//evil.example/"):
        response = requests.get(
            f"{served.url}{path}",
            headers={"Host": "evil.example"},
            allow_redirects=False,
            timeout=10,
        )
        if response.is_redirect:
            location = response.headers["location"]
            assert location.startswith("/"), location
            assert not location.startswith("//"), location
            assert "evil.example" not in location


@pytest.mark.parametrize(
    "text", ["+1", "1_000", "\u0661\u0662", " 1", "1.0", "0x", "0x+1", "1e3", "-1", "\uff11"]
)
def test_numbers_are_ascii_digits_or_0x_hex_only(served: Served, text: str) -> None:
    response = requests.get(f"{served.url}/assets/{text}", timeout=10)
    assert response.status_code in (400, 422), response.text
    offer = requests.get(f"{served.url}/market/offers/{text}", timeout=10)
    assert offer.status_code == 422, offer.text
    limit = requests.get(f"{served.url}/assets", params={"limit": text}, timeout=10)
    assert limit.status_code == 422, limit.text


def test_a_long_bad_value_is_echoed_only_as_a_short_prefix(served: Served) -> None:
    bad = "z" * 10_000
    for response in (
        requests.get(f"{served.url}/assets/{bad[:70]}", timeout=10),
        requests.get(f"{served.url}/assets", params={"holder": bad}, timeout=10),
        requests.get(f"{served.url}/verify", params={"hash": bad}, timeout=10),
        requests.get(f"{served.url}/market/offers", params={"min_price": bad}, timeout=10),
        requests.get(f"{served.url}/asset/{bad[:7000]}", timeout=10),
    ):
        assert 400 <= response.status_code < 500
        assert len(response.content) < 10_000 or "text/html" in response.headers["content-type"]
        assert response.text.count("z" * 200) == 0, response.text[:300]

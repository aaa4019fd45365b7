"""Every route of the served gateway, with hostile values in every parameter and body.

The routes come from the process's own OpenAPI document (and the pages, which it leaves out);
each path, query and header parameter takes every value of :data:`HOSTILE_TEXT`, and each
route that reads a body every body of :func:`hostile_bodies` (nesting to 10^6 levels,
integers to 2^256 and past, 1 MB strings, invalid UTF-8, NUL bytes), then hypothesis mixes
them. The properties: no answer is a 5xx, the process never dies, and its resident memory
after the run is within :data:`RSS_GROWTH_BOUND` of what it was after a first pass over the
same inputs (what the allocator keeps once is not growth).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.conftest import Served

#: Growth of the process's resident memory allowed between the first and the last pass.
RSS_GROWTH_BOUND: Final = 48 << 20

#: Values of path, query and header parameters, as text (sent percent-encoded where needed).
HOSTILE_TEXT: Final[list[str]] = [
    "",
    "0",
    "-1",
    "+1",
    "1_000",
    "1.5",
    "1e309",
    "NaN",
    str(2**63),
    str(2**64),
    str(2**256),
    str(2**256 - 1),
    "9" * 5000,
    "0x" + "f" * 64,
    "0x" + "f" * 65,
    "0x" + "z" * 64,
    "\u0661\u0662\u0663",
    "\uff11",
    "\x00",
    "a\x00b",
    "%00",
    "\u202e\u0000\ufeff",
    "../../../../etc/passwd",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "{{7*7}}",
    "[" * 2000,
    "a" * 6000,
    "true",
    "null",
]
#: Raw byte sequences for paths and queries that are not UTF-8 once decoded.
HOSTILE_ENCODED: Final[list[str]] = ["%ff%fe%fd", "%c3%28", "%ed%a0%80", "%f4%90%80%80", "%"]

PAGES: Final[dict[str, list[str]]] = {
    "/": [],
    "/search": ["q"],
    "/check": ["hash", "batch", "files"],
    "/asset/{asset_id}": [],
    "/holder/{address}": [],
    "/batch/{root}": ["leaf"],
    "/market": ["currency", "kind", "min_price", "max_price", "seller"],
}


@dataclass(frozen=True)
class Operation:
    """One route and method, with its parameters by where they go."""

    method: str
    path: str
    path_params: tuple[str, ...]
    query_params: tuple[str, ...]
    header_params: tuple[str, ...]
    bodies: bool


def operations(served: Served) -> list[Operation]:
    """Every operation of the served OpenAPI document, and the pages."""
    document = requests.get(f"{served.url}/openapi.json", timeout=10).json()
    found = []
    for path, methods in document["paths"].items():
        for method, spec in methods.items():
            params = spec.get("parameters", [])
            found.append(
                Operation(
                    method.upper(),
                    path,
                    tuple(p["name"] for p in params if p["in"] == "path"),
                    tuple(p["name"] for p in params if p["in"] == "query"),
                    tuple(p["name"] for p in params if p["in"] == "header"),
                    "requestBody" in spec,
                )
            )
    for path, query in PAGES.items():
        names = tuple(re.findall(r"{(\w+)}", path))
        found.append(Operation("GET", path, names, tuple(query), (), False))
    return found


def hostile_bodies(served: Served) -> Iterator[tuple[str, bytes]]:
    """(content type, body) pairs: deep, huge, malformed and type-confused documents."""
    deep = 1_000_000
    yield "application/json", b"[" * deep + b"]" * deep
    yield "application/json", b"[" * (deep // 2) + b"]" * (deep // 2)
    yield "application/json", b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    yield "application/json", b"[" * 65 + b"]" * 65
    yield "application/json", b'{"registrations":' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    yield "application/json", b'{"files":"' + b"a" * (1 << 20) + b'"}'
    yield "application/json", b'{"a":"\xff\xfe\xfd"}'
    yield "application/json", b'{"a":"\x00"}'
    yield "application/json", b"\x00" * 1000
    yield "application/json", b""
    for scalar in (b"null", b"[]", b"{}", b"1e999", b'"text"', b"-0", b"true", b"NaN"):
        yield "application/json", scalar
    yield "application/json", json.dumps({"n": 2**256}).encode()
    yield "application/json", b'{"n": ' + b"9" * 5000 + b"}"
    values: list[object] = [2**256, -(2**255), 2**64, 1e308, "x" * (1 << 20), None, [], {}, "\x00"]
    for value in values:
        yield "application/json", json.dumps(_relay_document(value)).encode()
        yield "application/json", json.dumps(_manifest(value)).encode()
    yield "application/octet-stream", b"\x00\xff" * 100_000
    yield "multipart/form-data", b"--x\r\n\r\n--x--"
    yield "multipart/form-data; boundary=x", b"--x\r\n\r\n--x--"
    yield (
        "multipart/form-data; boundary=x",
        (
            b'--x\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc\r\n'
            b'--x\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc\r\n--x--\r\n'
        ),
    )
    yield (
        "multipart/form-data; boundary=x",
        (
            b'--x\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'
            + b"m" * (2 << 20)
            + b"\r\n--x--\r\n"
        ),
    )
    yield "multipart/form-data; boundary=" + "b" * 5000, b"--" + b"b" * 5000 + b"--"
    yield "text/plain; charset=\xff", b"hello"


def _relay_document(value: object) -> dict[str, Any]:
    return {
        "format": "provledger-signed-registration/1",
        "chain_id": value,
        "registry": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        "registrant": value,
        "nonce": value,
        "deadline": value,
        "signature": "0x" + "11" * 65,
        "registration": {
            "content_hash": value,
            "metadata_uri": value,
            "metadata_hash": "0x" + "22" * 32,
            "category": value,
            "grade": value,
            "parents": [{"asset_id": value, "relation": value}],
        },
    }


def _manifest(value: object) -> dict[str, Any]:
    return {
        "version": 1,
        "kind": "provledger.folder-manifest",
        "root": "0x" + "33" * 32,
        "files": [{"path": value, "size": value, "sha256": value}],
    }


class Probe:
    """Sends requests to the served gateway and keeps what came back."""

    def __init__(self, served: Served) -> None:
        self.served = served
        self.session = requests.Session()
        self.sent = 0
        self.failures: list[str] = []

    def send(
        self,
        op: Operation,
        path_values: dict[str, str],
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        body: tuple[str, bytes] | None = None,
        *,
        encoded: bool = False,
    ) -> None:
        path = op.path
        for name, value in path_values.items():
            path = path.replace("{" + name + "}", value if encoded else quote(value, safe=""))
        url = self.served.url + path
        if query:
            pairs = (
                f"{quote(name)}={value if encoded else quote(value, safe='')}"
                for name, value in query.items()
            )
            url += "?" + "&".join(pairs)
        sent_headers = {"Authorization": f"Bearer {self.served.api_key}", **(headers or {})}
        if body is not None:
            sent_headers["Content-Type"] = body[0]
        try:
            response = self.session.request(
                op.method,
                url,
                data=None if body is None else body[1],
                headers=sent_headers,
                allow_redirects=False,
                timeout=60,
                stream=True,
            )
            with response:
                if not response.headers.get("content-type", "").startswith("text/event-stream"):
                    response.content  # noqa: B018 - the whole answer, as a client reads it
                # An event stream goes on until its client leaves: its status is the answer.
        except requests.ConnectionError as error:
            self.session = requests.Session()  # a refused head closes the connection
            if self.served.gateway.process.poll() is not None:
                raise AssertionError(f"the gateway died on {op.method} {url[:200]}") from error
            return
        self.sent += 1
        if response.status_code >= 500:
            self.failures.append(
                f"{response.status_code} {op.method} {url[:200]} {body and body[0]}"
            )
        if self.sent % 200 == 0:
            self.served.gateway.assert_alive()


def _defaults(op: Operation, served: Served) -> dict[str, str]:
    """Path values that exist, so that hostile query values reach the handler."""
    known = {
        "asset_id": served.asset_id,
        "content_hash": "0x" + "00" * 32,
        "address": "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
        "root": "0x" + "00" * 32,
        "offer_id": "1",
        "request_id": "0" * 32,
    }
    return {name: known.get(name, "1") for name in op.path_params}


def _pass(probe: Probe, ops: list[Operation]) -> None:
    served = probe.served
    for op in ops:
        base = _defaults(op, served)
        for name in op.path_params:
            for value in HOSTILE_TEXT:
                probe.send(op, {**base, name: value})
            for raw in HOSTILE_ENCODED:
                probe.send(op, {**base, name: raw}, encoded=True)
        for name in op.query_params:
            for value in HOSTILE_TEXT:
                probe.send(op, base, {name: value})
            for raw in HOSTILE_ENCODED:
                probe.send(op, base, {name: raw}, encoded=True)
        for name in (*op.header_params, "Idempotency-Key", "Authorization"):
            for value in HOSTILE_TEXT[:20]:
                header = value.encode("utf-8", "replace").decode("latin-1")
                if not any(ch in header for ch in "\x00\r\n") and len(header) < 4000:
                    probe.send(op, base, headers={name: header})
        if op.bodies:
            for body in hostile_bodies(served):
                probe.send(op, base, body=body)


def test_every_route_survives_hostile_parameters_and_bodies(served: Served) -> None:
    ops = operations(served)
    assert len(ops) >= 43  # the API's 36 operations and the 7 pages
    assert {op.path for op in ops if op.bodies} >= {
        "/verify",
        "/verify/manifest",
        "/relay/registrations",
    }
    probe = Probe(served)
    _pass(probe, ops)  # a first pass: what the allocator keeps once is not growth
    served.gateway.assert_alive()
    after_first = served.gateway.rss()
    _pass(probe, ops)
    served.gateway.assert_alive()
    growth = served.gateway.rss() - after_first
    print(f"{probe.sent:,} requests; resident memory {after_first / 2**20:.1f} MiB after the first "
          f"pass, {growth / 2**20:+.1f} MiB after the second")  # fmt: skip
    assert probe.failures == []
    assert probe.sent > 5000
    assert growth < RSS_GROWTH_BOUND, f"resident memory grew by {growth / 2**20:.1f} MiB"


LEAVES = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.integers(min_value=-(2**300), max_value=2**300).map(str),
    st.text(max_size=200),
    st.binary(max_size=200).map(lambda data: data.decode("latin-1")),
)


@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_mixes_of_hostile_values(served: Served, data: st.DataObject) -> None:
    ops = data.draw(st.just(_ops_cache(served)))
    op = data.draw(st.sampled_from(ops))
    path_values = {name: data.draw(LEAVES) for name in op.path_params}
    query = {name: data.draw(LEAVES) for name in op.query_params if data.draw(st.booleans())}
    body = None
    if op.bodies:
        document = data.draw(
            st.recursive(
                st.one_of(st.none(), st.booleans(), st.integers(), LEAVES),
                lambda children: (
                    st.lists(children, max_size=4)
                    | st.dictionaries(st.text(max_size=10), children, max_size=4)
                ),
                max_leaves=30,
            )
        )
        kind = data.draw(st.sampled_from(["application/json", "application/octet-stream"]))
        body = (kind, json.dumps(document).encode())
    probe = Probe(served)
    probe.send(op, path_values, query, body=body)
    assert probe.failures == []
    assert served.gateway.process.poll() is None


_OPS: dict[str, list[Operation]] = {}


def _ops_cache(served: Served) -> list[Operation]:
    if served.url not in _OPS:
        _OPS[served.url] = operations(served)
    return _OPS[served.url]


@pytest.fixture(autouse=True)
def _alive_after(served: Served) -> Iterator[None]:
    yield
    served.gateway.assert_alive()

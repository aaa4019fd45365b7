"""The subscription routes: an API key's own webhook subscriptions, every refusal a 4xx
problem+json with nothing kept."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():  # starlette would rather have httpx2; FastAPI pins httpx
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from provledger.api.app import create_app
from provledger.config import Settings
from provledger.services.notify import subscriptions
from provledger.services.notify.signing import (
    generate_master_key,
    master_key_from_text,
    parse_secret,
    subscription_secret,
)
from provledger.store.engine import create_schema, create_store_engine
from provledger.store.notify import NotifyStore
from provledger.store.relay import open_relay_store
from provledger.store.subscriptions import SubscriptionFilter

HOLDER = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"
PUBLIC_URL = "https://93.184.215.14/ledger"


def settings_for(folder: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": str(folder / "index.sqlite"),
        "relay_database_url": str(folder / "relay.sqlite"),
        "notify_database_url": str(folder / "notify.sqlite"),
        "notify_master_key_file": folder / "notify.key",
        "deployments_dir": folder / "deployments",
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    engine = create_store_engine(str(tmp_path / "index.sqlite"))
    create_schema(engine)
    engine.dispose()
    (tmp_path / "notify.key").write_text(generate_master_key() + "\n")
    return tmp_path


@pytest.fixture
def keys(folder: Path) -> tuple[str, str]:
    """Two API keys: one subscribes, the other must not see its subscriptions."""
    with open_relay_store(str(folder / "relay.sqlite")) as store:
        _, first = store.create_key("exchange A", rate_per_minute=60, daily_gas=1)
        _, second = store.create_key("exchange B", rate_per_minute=60, daily_gas=1)
    return first, second


@pytest.fixture
def client(folder: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(folder))) as started:
        yield started


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def problem(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return str(response.json()["detail"])


def test_a_key_subscribes_lists_reads_and_removes_its_own(
    client: TestClient, keys: tuple[str, str], folder: Path
) -> None:
    mine, theirs = keys
    body = {
        "url": "https://93.184.215.14/ledger",
        "finality": "safe",
        "filter": {
            "holders": [HOLDER],
            "events": ["ObjectionLodged", "LicenseExpiring"],
            "grades": [2, 3],
        },
        "remind_before": "336h",
    }
    made = client.post("/subscriptions", json=body, headers=bearer(mine))
    assert made.status_code == 201, made.text
    answer = made.json()
    assert answer["remind_before"] == "14d"
    assert answer["filter"] == {
        "events": ["LicenseExpiring", "ObjectionLodged"],
        "grades": [2, 3],
        "holders": [HOLDER.lower()],
    }
    assert (answer["finality"], answer["url"], answer["from_block"]) == (
        "safe",
        "https://93.184.215.14/ledger",
        None,
    )
    master = master_key_from_text((folder / "notify.key").read_text())
    assert parse_secret(answer["secret"]) == subscription_secret(master, answer["id"])

    listed = client.get("/subscriptions", headers=bearer(mine)).json()
    assert [item["id"] for item in listed] == [answer["id"]]
    assert "secret" not in listed[0]
    assert client.get("/subscriptions", headers=bearer(theirs)).json() == []
    detail = client.get(f"/subscriptions/{answer['id']}", headers=bearer(mine)).json()
    assert detail["delivery"] == {"failed_attempts": 0, "last_error": None, "dead_letters": []}

    other = client.get(f"/subscriptions/{answer['id']}", headers=bearer(theirs))
    assert problem(other, 404) == f"no subscription {answer['id']}"
    assert (
        client.delete(f"/subscriptions/{answer['id']}", headers=bearer(theirs)).status_code == 404
    )
    removed = client.delete(f"/subscriptions/{answer['id']}", headers=bearer(mine))
    assert removed.status_code == 204
    assert client.get("/subscriptions", headers=bearer(mine)).json() == []


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"url": "ftp://hooks.example.com/x"}, "its scheme must be http or https"),
        ({"url": "https://user:pw@93.184.215.14/x"}, "carries credentials"),
        ({"url": "http://127.0.0.1:9/x"}, "127.0.0.1 is a loopback address"),
        ({"url": "http://169.254.169.254/latest"}, "169.254.169.254 is a link-local address"),
        ({"url": "http://10.1.2.3/x"}, "10.1.2.3 is a private address"),
        (
            {"url": "https://93.184.215.14/x", "filter": {"owners": ["0x1"]}},
            "there is no filter field 'owners'",
        ),
        (
            {"url": "https://93.184.215.14/x", "filter": {"events": ["Tranfer"]}},
            "there is no event 'Tranfer'; did you mean 'Transfer'?",
        ),
        (
            {"url": "https://93.184.215.14/x", "filter": {"grades": [4]}},
            "grades: a grade is 1, 2 or 3, not '4'",
        ),
        (
            {"url": "https://93.184.215.14/x", "filter": {"categories": ["9" * 5000]}},
            "categories: a category is a code 0-65535",
        ),
        (
            {"url": "https://93.184.215.14/x", "filter": {"holders": ["0x12"]}},
            "holders: an address is 0x and 40 hex digits",
        ),
        ({"url": "https://93.184.215.14/x", "finality": "soon"}, "finality: one of pending"),
        ({"url": "https://93.184.215.14/x", "callback": "x"}, "a subscription has no field"),
        (
            {"url": "https://93.184.215.14/x", "remind_before": "7w"},
            "remind_before: a lead time such as 7d, 36h or 90m, not '7w'",
        ),
        ({"url": "https://93.184.215.14/x", "remind_before": 30}, "between 1m and 366d"),
        ({"url": "https://93.184.215.14/x", "remind_before": "400d"}, "between 1m and 366d"),
        ({"url": "https://93.184.215.14/x", "remind_before": True}, "remind_before: a lead"),
        ({"finality": "safe"}, "url: the webhook's http(s) URL"),
    ],
)
def test_a_bad_subscription_is_refused_and_nothing_is_kept(
    client: TestClient, keys: tuple[str, str], body: dict[str, Any], detail: str
) -> None:
    mine, _ = keys
    refused = client.post("/subscriptions", json=body, headers=bearer(mine))
    assert detail in problem(refused, 400)
    assert client.get("/subscriptions", headers=bearer(mine)).json() == []


def test_without_a_live_key_nothing_is_answered(
    client: TestClient, keys: tuple[str, str], folder: Path
) -> None:
    body = {"url": "https://93.184.215.14/ledger"}
    for headers in ({}, bearer("plk_nope_nope"), {"Authorization": "Basic x"}):
        assert "API key" in problem(client.post("/subscriptions", json=body, headers=headers), 401)
        assert "API key" in problem(client.get("/subscriptions", headers=headers), 401)


def test_a_gateway_without_a_master_key_says_so(folder: Path, keys: tuple[str, str]) -> None:
    settings = settings_for(folder, notify_master_key_file=None)
    with TestClient(create_app(settings)) as client:
        refused = client.post(
            "/subscriptions", json={"url": "https://93.184.215.14/x"}, headers=bearer(keys[0])
        )
        assert "PROVLEDGER_NOTIFY_MASTER_KEY_FILE" in problem(refused, 503)
        assert client.get("/subscriptions", headers=bearer(keys[0])).json() == []


def test_a_body_that_is_not_an_object_is_refused(client: TestClient, keys: tuple[str, str]) -> None:
    refused = client.post(
        "/subscriptions", content=b'["https://93.184.215.14/x"]', headers=bearer(keys[0])
    )
    assert problem(refused, 400) == "body: a JSON object: {url, finality, filter, ...}"


def test_streams_count_with_the_webhooks_against_a_key_s_limit(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(subscriptions, "MAX_SUBSCRIPTIONS", 1)
    with NotifyStore.open(str(folder / "notify.sqlite")) as store:
        made = subscriptions.Subscriptions(store, settings_for(folder))
        made.create(owner="key1", wanted=SubscriptionFilter(), finality="pending", url=PUBLIC_URL)
        wanted = SubscriptionFilter(events=frozenset({"Transfer"}))
        with pytest.raises(subscriptions.TooManySubscriptionsError) as refused:
            made.stream(owner="key1", wanted=wanted, finality="pending")
        assert (
            str(refused.value) == "key1 holds 1 subscriptions, the most one may; remove one first"
        )
        assert [item.target for item in store.listed()] == ["webhook"]
        other = made.stream(owner="key2", wanted=wanted, finality="pending")  # another key's room
        assert made.stream(owner="key2", wanted=wanted, finality="pending") == other  # kept

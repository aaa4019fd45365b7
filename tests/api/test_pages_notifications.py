"""The notifications page: a key's subscriptions seen, made and removed with plain forms, the
key in a cookie only the page receives, every refusal the API's sentence with the form kept."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

with warnings.catch_warnings():  # starlette would rather have httpx2; FastAPI pins httpx
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from api.test_subscriptions_api import HOLDER, PUBLIC_URL, bearer, settings_for
from api.test_subscriptions_api import folder as folder
from api.test_subscriptions_api import keys as keys
from provledger.api.app import create_app
from provledger.api.pages.notifications import COOKIE

SITE = "http://testserver"


@pytest.fixture
def browser(folder: Path) -> Iterator[TestClient]:
    """A client that does not follow redirects, as a test of each answer needs."""
    with TestClient(create_app(settings_for(folder)), follow_redirects=False) as started:
        yield started


def sign_in(browser: TestClient, key: str, **prefill: str) -> None:
    answer = browser.post("/notifications/sign-in", data={"api_key": key, **prefill})
    assert answer.status_code == 303, answer.text


def test_a_holder_signs_in_subscribes_sees_and_removes(
    browser: TestClient, keys: tuple[str, str]
) -> None:
    mine, _ = keys
    account = browser.get(f"/participant/{HOLDER}").text
    assert f'<a href="/notifications?holder={HOLDER}">Get notified</a>' in account
    blank = browser.get(f"/notifications?holder={HOLDER}")
    assert blank.status_code == 200
    assert 'name="api_key"' in blank.text
    assert f'<input type="hidden" name="holder" value="{HOLDER}">' in blank.text  # kept

    signed = browser.post("/notifications/sign-in", data={"api_key": mine, "holder": HOLDER})
    assert signed.status_code == 303
    assert signed.headers["location"] == f"/notifications?holder={HOLDER}"
    cookie = signed.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}={mine};")
    for part in ("HttpOnly", "Path=/notifications", "SameSite=strict"):
        assert part in cookie
    assert "Max-Age" not in cookie
    assert "expires" not in cookie.lower()

    page = browser.get(f"/notifications?holder={HOLDER}")
    assert page.headers["cache-control"] == "no-store"
    assert "No subscriptions yet" in page.text
    assert f'name="holder" value="{HOLDER}"' in page.text

    made = browser.post(
        "/notifications",
        data={
            "url": PUBLIC_URL,
            "finality": "safe",
            "remind_before": "48h",
            "holder": HOLDER,
            "event": "ObjectionLodged, LicenseExpiring",
            "grade": ["2", "3"],
        },
    )
    assert made.status_code == 201, made.text
    secret = re.search(r"whsec_[0-9A-Za-z_-]+", made.text)
    assert secret is not None
    (listed,) = browser.get("/subscriptions", headers=bearer(mine)).json()
    assert listed["filter"] == {
        "events": ["LicenseExpiring", "ObjectionLodged"],
        "grades": [2, 3],
        "holders": [HOLDER.lower()],
    }
    assert (listed["url"], listed["finality"], listed["remind_before"]) == (
        PUBLIC_URL,
        "safe",
        "2d",
    )
    assert f'Subscribed: <code class="wrap">{listed["id"]}</code>' in made.text
    shown = browser.get("/notifications").text
    assert listed["id"] in shown
    assert PUBLIC_URL in shown
    assert secret.group(0) not in shown  # the secret is shown once
    assert "expiry reminders 2d ahead" in shown

    removed = browser.post(f"/notifications/{listed['id']}/remove")
    assert removed.status_code == 303
    assert removed.headers["location"] == f"/notifications?removed={listed['id']}"
    assert browser.get("/subscriptions", headers=bearer(mine)).json() == []
    assert f"Subscription {listed['id']} removed" in browser.get(removed.headers["location"]).text

    out = browser.post("/notifications/sign-out")
    assert out.status_code == 303
    assert f'{COOKIE}=""' in out.headers["set-cookie"]
    assert 'name="api_key"' in browser.get("/notifications").text


def test_a_bad_subscription_is_refused_with_the_form_kept(
    browser: TestClient, keys: tuple[str, str]
) -> None:
    mine, _ = keys
    sign_in(browser, mine)
    for data, sentence in [
        ({"url": "http://127.0.0.1:9/x"}, "127.0.0.1 is a loopback address"),
        ({"url": PUBLIC_URL, "event": "Tranfer"}, "did you mean &#39;Transfer&#39;?"),
        ({"url": PUBLIC_URL, "remind_before": "2w"}, "a lead time such as 7d, 36h or 90m"),
        ({"url": PUBLIC_URL, "holder": "0x12"}, "holders: an address is 0x and 40 hex digits"),
    ]:
        refused = browser.post("/notifications", data=data)
        assert refused.status_code == 400
        assert 'role="alert"' in refused.text
        assert sentence in refused.text
        assert f'value="{data["url"]}"' in refused.text  # what was typed is kept
    assert browser.get("/subscriptions", headers=bearer(mine)).json() == []


def test_a_wrong_key_another_site_and_another_key_are_refused(
    browser: TestClient, keys: tuple[str, str]
) -> None:
    mine, theirs = keys
    wrong = browser.post("/notifications/sign-in", data={"api_key": "plk_nope_nope"})
    assert wrong.status_code == 401
    assert "not a live key of this gateway" in wrong.text
    assert "set-cookie" not in wrong.headers
    unsigned = browser.post("/notifications", data={"url": PUBLIC_URL})
    assert unsigned.status_code == 401

    sign_in(browser, mine)
    forged = browser.post(
        "/notifications", data={"url": PUBLIC_URL}, headers={"Origin": "https://evil.example"}
    )
    assert forged.status_code == 403
    assert browser.get("/subscriptions", headers=bearer(mine)).json() == []
    fetched = browser.post(
        "/notifications", data={"url": PUBLIC_URL}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert fetched.status_code == 403
    assert browser.get("/subscriptions", headers=bearer(mine)).json() == []
    same = browser.post("/notifications", data={"url": PUBLIC_URL}, headers={"Origin": SITE})
    assert same.status_code == 201

    theirs_made = browser.post(
        "/subscriptions", json={"url": PUBLIC_URL}, headers=bearer(theirs)
    ).json()
    refused = browser.post(f"/notifications/{theirs_made['id']}/remove")
    assert refused.status_code == 404
    assert f"no subscription {theirs_made['id']}" in refused.text
    assert len(browser.get("/subscriptions", headers=bearer(theirs)).json()) == 1
    assert theirs_made["id"] not in browser.get("/notifications").text

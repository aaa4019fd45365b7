"""Security headers on every response, a content security policy on pages, CORS by setting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from provledger.api.app import create_app
from provledger.api.security import PAGE_POLICY, REDOC_POLICY, VERIFY_PAGE_POLICY, docs_policy
from provledger.config import load_settings
from provledger.store.blobs import BlobHashError, BlobStore
from provledger.store.engine import create_schema, create_store_engine

ALLOWED = "https://portal.example.org"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("security")
    database = str(folder / "index.sqlite")
    engine = create_store_engine(database)
    create_schema(engine)
    engine.dispose()
    settings = load_settings(
        {"database_url": database, "blob_dir": folder / "blobs", "cors_origins": (ALLOWED,)}
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.mark.parametrize("path", ["/health", "/status", "/", "/check", "/assets/0x12", "/docs"])
def test_every_response_carries_the_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cross-origin-opener-policy"] == "same-origin"
    assert "camera=()" in response.headers["permissions-policy"]


def test_pages_have_a_content_security_policy_and_the_api_ui_its_own(client: TestClient) -> None:
    for path in ("/", "/asset/0xnothex"):
        assert client.get(path).headers["content-security-policy"] == PAGE_POLICY.decode()
    # The verify page: the page policy, and its proof-bundle verifier may ask any node named.
    for path in ("/check", "/check?hash=0xnothex"):
        policy = client.get(path).headers["content-security-policy"]
        assert policy == VERIFY_PAGE_POLICY.decode()
        assert policy == PAGE_POLICY.decode() + "; connect-src 'self' http: https:"
    # The API's documentation pages: the page policy, plus only what their UIs need.
    swagger = client.get("/docs")
    assert swagger.headers["content-security-policy"] == docs_policy(swagger.content).decode()
    assert docs_policy(swagger.content).startswith(PAGE_POLICY + b"; script-src 'self' 'sha256-")
    assert client.get("/redoc").headers["content-security-policy"] == REDOC_POLICY.decode()
    assert "content-security-policy" not in client.get("/health").headers


def test_cors_answers_only_the_configured_origins(client: TestClient) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    allowed = client.options("/verify", headers={"Origin": ALLOWED, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    refused = client.options("/verify", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in refused.headers
    simple = client.get("/health", headers={"Origin": ALLOWED})
    assert simple.headers["access-control-allow-origin"] == ALLOWED
    assert "access-control-allow-origin" not in client.get("/health").headers


def test_without_origins_there_is_no_cors(tmp_path: Path) -> None:
    database = str(tmp_path / "index.sqlite")
    engine = create_store_engine(database)
    create_schema(engine)
    engine.dispose()
    app = create_app(load_settings({"database_url": database, "blob_dir": tmp_path / "blobs"}))
    with TestClient(app) as test_client:
        response = test_client.get("/health", headers={"Origin": ALLOWED})
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize(
    "path",
    [
        "/static/../app.py",
        "/static/%2e%2e/app.py",
        "/static/..%2fapp.py",
        "/static/%2e%2e%2f%2e%2e%2fconfig.py",
        "/static//etc/passwd",
        "/static/verify.js/../../app.py",
    ],
)
def test_no_request_path_leaves_the_static_folder(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert b"import" not in response.content
    assert b"root:" not in response.content


@pytest.mark.parametrize(
    "value", ["../../etc/passwd", "0x" + "a" * 63 + "/", "0x" + "../" * 21 + "a", "0x" + "g" * 64]
)
def test_blob_names_are_hashes_only(tmp_path: Path, value: str) -> None:
    with pytest.raises(BlobHashError, match="not a SHA-256"):
        BlobStore(tmp_path).path(value)


def test_an_unexpected_error_is_a_500_problem_with_the_security_headers(
    tmp_path: Path,
) -> None:
    """Starlette answers a failing handler from outside the middleware that adds the headers;
    the gateway's own 500 carries them, as problem+json, and says nothing of the error."""
    database = str(tmp_path / "index.sqlite")
    engine = create_store_engine(database)
    create_schema(engine)
    engine.dispose()
    app = create_app(load_settings({"database_url": database, "blob_dir": tmp_path / "blobs"}))

    @app.get("/fails")
    async def fails() -> None:
        raise RuntimeError("a secret detail")

    with TestClient(app, raise_server_exceptions=False) as test_client:
        response = test_client.get("/fails")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.json() == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "the gateway failed to answer; see its log",
        "instance": "/fails",
    }
    assert "secret" not in response.text

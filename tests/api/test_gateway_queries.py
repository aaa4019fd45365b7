"""The gateway's query endpoints, value by value against the chain's view functions and logs."""

from __future__ import annotations

from typing import Any

from eth_utils.address import to_checksum_address
from hexbytes import HexBytes

from api.conftest import Indexed
from helpers.indexing import TEST_CONFIG
from provledger.chain.events import DECODERS
from provledger.chain.ids import asset_id_hex
from provledger.chain.serialize import event_args

PROBLEM = "application/problem+json"


def get(indexed: Indexed, path: str, expect: int = 200, **params: Any) -> Any:
    response = indexed.client.get(path, params=params)
    assert response.status_code == expect, response.text
    return response.json()


def all_pages(indexed: Indexed, path: str, limit: int, **params: Any) -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        page = get(indexed, path, limit=limit, **({"cursor": cursor} if cursor else {}), **params)
        assert len(page["items"]) <= limit
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def chain_events_of(indexed: Indexed, asset: int) -> list[tuple[int, int, str, dict[str, Any]]]:
    """(block, log index, event, args) of every deployment log concerning ``asset``."""
    world = indexed.world
    logs = world.w3.eth.get_logs(
        {"fromBlock": world.deployment.block_number, "address": list(world.deployment.addresses)}
    )
    found: list[tuple[int, int, str, dict[str, Any]]] = []
    for log in logs:
        topics = [bytes(topic) for topic in log["topics"]]
        event = DECODERS[topics[0]](topics, bytes(log["data"]))
        concerned = getattr(event, "asset_id", getattr(event, "token_id", None))
        if concerned == asset:
            found.append((log["blockNumber"], log["logIndex"], type(event).NAME, event_args(event)))
    return found


def finality_at_depth(depth: int) -> str:
    """The finality of a record ``depth`` blocks below the head, in the test window
    (confirmations 2, finality depth 8)."""
    if depth >= TEST_CONFIG.finality_depth:
        return "final"
    return "safe" if depth >= TEST_CONFIG.confirmations else "pending"


def test_every_asset_matches_the_chain(indexed: Indexed) -> None:
    registry = indexed.world.admin.registry
    head = indexed.world.w3.eth.block_number  # the head the index was built at: nothing is mined
    finalities: dict[str, str] = {}
    for label, asset in indexed.assets.items():
        body = get(indexed, f"/assets/{asset_id_hex(asset)}")
        state = registry.asset(asset)
        assert state is not None
        assert body["asset_id"] == asset_id_hex(asset), label
        assert body["holder"] == state.holder, label
        assert body["registrant"] == state.registrant, label
        assert body["status"] == state.status.name, label
        assert body["frozen"] == state.frozen, label
        assert body["under_objection"] == state.under_objection, label
        assert body["metadata_version"] == state.metadata_version, label
        assert body["metadata_hash"] == "0x" + state.metadata_hash.hex(), label
        assert body["registered_at"] == state.registered_at, label
        assert (body["category"], body["grade"]) == (state.category, state.grade), label
        # the block the asset's row was last written in is one of its events' blocks
        assert body["block_number"] in {block for block, *_ in chain_events_of(indexed, asset)}
        assert body["finality"] == finality_at_depth(head - body["block_number"]), label
        finalities[label] = body["finality"]
        # the decimal form of the id names the same asset
        assert get(indexed, f"/assets/{asset}") == body
    # the file was registered in the head block; revised was last given away one block below;
    # everything else lies 12 or more blocks deep
    assert finalities == {
        "raw": "final",
        "derived": "final",
        "revised": "pending",
        "promoted": "final",
        "objected": "final",
        "sold": "final",
        "licensed": "final",
        "listed": "final",
        "file": "pending",
    }


def test_asset_by_content_hash(indexed: Indexed) -> None:
    import hashlib

    from api.conftest import FILE_BYTES

    digest = "0x" + hashlib.sha256(FILE_BYTES).hexdigest()
    body = get(indexed, f"/assets/by-hash/{digest}")
    assert body["asset_id"] == asset_id_hex(indexed.assets["file"])
    assert body["content_hash"] == digest
    missing = get(indexed, "/assets/by-hash/0x" + "00" * 32, 404)
    assert "no asset" in missing["detail"]


def test_history_is_every_event_of_the_asset_in_chain_order(indexed: Indexed) -> None:
    for label in ("raw", "derived", "promoted"):
        asset = indexed.assets[label]
        items = all_pages(indexed, f"/assets/{asset_id_hex(asset)}/history", limit=2)
        expected = chain_events_of(indexed, asset)
        assert [(i["block_number"], i["log_index"], i["event"]) for i in items] == [
            (block, log, name) for block, log, name, _ in expected
        ], label
        for item, (_, _, _, args) in zip(items, expected, strict=True):
            assert item["args"] == args, (label, item["event"])
            block = indexed.world.w3.eth.get_block(item["block_number"])
            assert item["block_hash"] == HexBytes(block["hash"]).to_0x_hex()
            assert item["block_time"] == block["timestamp"]


def test_holders_over_time_and_holder_at(indexed: Indexed) -> None:
    world = indexed.world
    raw = asset_id_hex(indexed.assets["raw"])
    periods = get(indexed, f"/assets/{raw}/holders")["items"]
    assert [p["holder"] for p in periods] == [world.alice.address, world.dave.address]
    assert [p["via"] for p in periods] == ["REGISTRATION", "TRANSFER"]
    first, second = periods
    assert first["to_block"] == second["from_block"]
    assert second["to_block"] is None
    before = get(indexed, f"/assets/{raw}/holder", block=second["from_block"] - 1)
    assert before["holder"] == world.alice.address
    after = get(indexed, f"/assets/{raw}/holder", block=second["from_block"])
    assert after["holder"] == world.dave.address
    at_time = get(indexed, f"/assets/{raw}/holder", time=second["from_time"])
    assert at_time["holder"] == world.dave.address
    assert get(indexed, f"/assets/{raw}/holder", block=0, expect=404)["status"] == 404
    both = get(indexed, f"/assets/{raw}/holder", expect=400, block=1, time=1)
    assert both["invalid_params"][0]["name"] == "block"
    # the ruling moved the derived asset to the claimant
    derived = get(indexed, f"/assets/{asset_id_hex(indexed.assets['derived'])}/holders")
    assert [p["via"] for p in derived["items"]] == ["REGISTRATION", "RULING"]
    assert derived["items"][-1]["holder"] == world.erin.address


def test_lineage_up_and_down(indexed: Indexed) -> None:
    raw, derived = (asset_id_hex(indexed.assets[k]) for k in ("raw", "derived"))
    up = get(indexed, f"/assets/{derived}/lineage", direction="up", depth=2)
    assert {(n["asset_id"], n["depth"]) for n in up["nodes"]} == {(derived, 0), (raw, -1)}
    (edge,) = up["edges"]
    assert (edge["child_id"], edge["parent_id"], edge["relation"]) == (
        derived,
        raw,
        "DERIVED_FROM",
    )
    assert edge["license_id"] == 1
    down = get(indexed, f"/assets/{raw}/lineage", direction="down", depth=1)
    assert {(n["asset_id"], n["depth"]) for n in down["nodes"]} == {(raw, 0), (derived, 1)}
    assert down["truncated"] is False
    alone = get(indexed, f"/assets/{raw}/lineage", direction="up", depth=1)
    assert [n["asset_id"] for n in alone["nodes"]] == [raw]
    assert alone["edges"] == []


def test_records_of_an_asset(indexed: Indexed) -> None:
    world = indexed.world
    raw = asset_id_hex(indexed.assets["raw"])
    licenses = get(indexed, f"/assets/{raw}/licenses")["items"]
    assert [(x["license_id"], x["licensee"], x["kind"]) for x in licenses] == [
        (1, world.bob.address, "PROCESSING_USE")
    ]
    assert licenses[0]["revoked_block"] is not None
    assert get(indexed, f"/assets/{raw}/licenses", valid_now=True)["items"] == []
    granted_at = licenses[0]["granted_at"]
    valid_then = get(indexed, f"/assets/{raw}/licenses", valid_at=granted_at)["items"]
    assert [x["license_id"] for x in valid_then] == [1]
    held = get(indexed, f"/accounts/{world.bob.address}/licenses")["items"]
    assert [x["license_id"] for x in held] == [1, 2]  # the second bought in the market

    appraisals = get(indexed, f"/assets/{raw}/appraisals")["items"]
    assert [(a["amount"], a["method"], a["current"]) for a in appraisals] == [
        ("10000", "COST", False),
        ("12500", "MARKET", True),
    ]
    assert appraisals[0]["superseded_by"] == appraisals[1]["appraisal_id"]
    assert appraisals[1]["appraiser"] == world.appraiser.address

    certificates = get(indexed, f"/assets/{raw}/certificates")["items"]
    assert [(c["registration_type"], c["registrar"]) for c in certificates] == [
        ("INITIAL", world.registrar.address)
    ]
    objections = get(indexed, f"/assets/{raw}/objections")["items"]
    assert [(o["objector"], o["open"], o["upheld"]) for o in objections] == [
        (world.bob.address, False, False)
    ]
    upheld = get(indexed, f"/assets/{asset_id_hex(indexed.assets['objected'])}/objections")
    assert [(o["objector"], o["upheld"]) for o in upheld["items"]] == [(world.erin.address, True)]
    permits = get(indexed, f"/assets/{raw}/export-permits")
    assert [(p["recipient"], p["state"], p["destination"]) for p in permits] == [
        (world.dave.address, "USED", "US")
    ]
    disputes = get(indexed, f"/assets/{asset_id_hex(indexed.assets['derived'])}/disputes")
    (dispute,) = disputes["items"]
    assert (dispute["claimant"], dispute["status"], dispute["ruling"]) == (
        world.erin.address,
        "RULED",
        "TRANSFER_TO_CLAIMANT",
    )
    assert dispute["arbiter"] == world.arbiter.address
    assert dispute["frozen_block"] is not None


def test_lists_filter_and_paginate(indexed: Indexed) -> None:
    world = indexed.world
    by_alice = all_pages(indexed, "/assets", limit=1, registrant=world.alice.address)
    registry = world.admin.registry
    expected = sorted(
        asset_id_hex(a)
        for a in indexed.assets.values()
        if (state := registry.asset(a)) is not None and state.registrant == world.alice.address
    )
    assert [a["asset_id"] for a in by_alice] == expected
    held_by_dave = get(indexed, "/assets", holder=world.dave.address.lower())["items"]
    assert [a["asset_id"] for a in held_by_dave] == [asset_id_hex(indexed.assets["raw"])]
    cancelled = get(indexed, "/assets", status="CANCELLED")["items"]
    assert [a["asset_id"] for a in cancelled] == [asset_id_hex(indexed.assets["promoted"])]
    grade2 = get(indexed, "/assets", grade=2)["items"]
    assert asset_id_hex(indexed.assets["raw"]) in [a["asset_id"] for a in grade2]
    assert all(a["grade"] == 2 for a in grade2)
    recent = get(indexed, "/assets/recent", limit=3)
    assert recent[0]["asset_id"] == asset_id_hex(indexed.assets["file"])

    participants = all_pages(indexed, "/participants", limit=2)
    by_account = {p["account"]: p for p in participants}
    assert by_account[world.erin.address]["status"] == "SUSPENDED"
    assert by_account[world.alice.address]["status"] == "ACTIVE"
    one = get(indexed, f"/participants/{world.dave.address}")
    assert one["jurisdiction"] == "US"

    (batch,) = get(indexed, "/batches")["items"]
    assert batch["submitter"] == world.carol.address
    assert (batch["leaf_count"], batch["promoted_count"]) == (5, 1)
    assert get(indexed, f"/batches/{batch['root']}") == batch
    mine = get(indexed, "/batches", submitter=world.carol.address)["items"]
    assert mine == [batch]


def test_status_health_ready_metrics(indexed: Indexed) -> None:
    world = indexed.world
    status = get(indexed, "/status")
    head = world.w3.eth.block_number
    assert status["indexed_block"] == head
    assert status["lag_blocks"] == 0
    assert status["chain_id"] == world.w3.eth.chain_id
    logs = world.w3.eth.get_logs(
        {"fromBlock": world.deployment.block_number, "address": list(world.deployment.addresses)}
    )
    assert status["events"] == len(logs)
    assert get(indexed, "/health") == {"status": "ok"}
    assert get(indexed, "/ready")["ready"] is True
    text = indexed.client.get("/metrics").text
    assert f"provledger_indexed_block {float(head)}" in text
    assert 'provledger_http_requests_total{method="GET",route="/status",status="200"}' in text
    assert 'provledger_http_request_seconds_bucket{le="0.001",method="GET",route="/health"' in text


def test_assets_by_title_words(indexed: Indexed) -> None:
    file_asset = asset_id_hex(indexed.assets["file"])
    # the document's title is "Huangpu air quality, raw": every word, any case, any order
    for title in ("huangpu", "RAW Huangpu", "quality, air", "air-quality huangpu raw"):
        found = get(indexed, "/assets", title=title)
        assert [item["asset_id"] for item in found["items"]] == [file_asset], title
    assert get(indexed, "/assets", title="huangpu cleaned")["items"] == []
    assert get(indexed, "/assets", title="42")["items"] == []
    mine = get(indexed, "/assets", title="huangpu", registrant=indexed.world.alice.address)
    assert [item["asset_id"] for item in mine["items"]] == [file_asset]
    others = get(indexed, "/assets", title="huangpu", registrant=indexed.world.bob.address)
    assert others["items"] == []


def test_bad_input_is_a_problem_naming_the_field(indexed: Indexed) -> None:
    cases = [
        ("/assets/0xzz", {}, 400, "asset_id"),
        ("/assets/0x" + "1" * 65, {}, 400, "asset_id"),
        ("/assets/" + str(2**256), {}, 400, "asset_id"),
        ("/assets", {"holder": "0x123"}, 400, "holder"),
        ("/assets", {"holder": "0x" + "aB" * 20}, 400, "holder"),
        ("/assets", {"limit": 0}, 400, "limit"),
        ("/assets", {"limit": 1001}, 400, "limit"),
        ("/assets", {"limit": -5}, 422, "limit"),  # not ASCII digits, like grade "x"
        ("/assets", {"limit": "+5"}, 422, "limit"),
        ("/assets", {"cursor": "!!!"}, 400, "cursor"),
        ("/assets", {"cursor": "WzEsMl0"}, 400, "cursor"),
        ("/assets", {"grade": "x"}, 422, "grade"),
        ("/assets/by-hash/0x1234", {}, 400, "hash"),
        (f"/assets/{asset_id_hex(indexed.assets['raw'])}/lineage", {"depth": 0}, 422, "depth"),
        ("/batches/nothex", {}, 400, "root"),
        ("/assets", {"title": "!!! ..."}, 400, "title"),
        ("/assets", {"title": "a b c d e f g h i"}, 400, "title"),
        ("/assets", {"title": "x" * 1001}, 422, "title"),
    ]
    for path, params, status, field in cases:
        response = indexed.client.get(path, params=params)
        assert response.status_code == status, (path, params, response.text)
        assert response.headers["content-type"] == PROBLEM
        body = response.json()
        assert body["status"] == status
        assert body["instance"] == path.split("?")[0]
        assert [p["name"] for p in body["invalid_params"]] == [field], (path, body)
    unknown = indexed.client.get("/assets/0x" + "0" * 63 + "1")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == PROBLEM
    assert unknown.json()["detail"] == f"no asset 0x{'0' * 63}1 in the index"
    no_lineage = indexed.client.get("/assets/0x" + "0" * 63 + "1/lineage")
    assert no_lineage.status_code == 404
    assert no_lineage.json()["detail"] == unknown.json()["detail"]
    nowhere = indexed.client.get("/no/such/route")
    assert nowhere.status_code == 404
    assert nowhere.headers["content-type"] == PROBLEM
    checksummed = to_checksum_address("0x" + "ab" * 20)
    assert get(indexed, "/assets", holder=checksummed)["items"] == []

"""The market's endpoints and pages, value by value against the chain's views and logs.

The scenario's trading (:func:`helpers.scenarios.market_scenario`) is indexed by the real
indexer into SQLite and PostgreSQL; every answer is compared with what the DataMarket says.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes

from api.conftest import Indexed
from helpers.builders import DEFAULT_CATEGORY
from helpers.indexing import TEST_CONFIG
from provledger.chain.events import DECODERS, TradeSettled
from provledger.chain.ids import asset_id_hex
from provledger.chain.reverts import ContractRevertError

PROBLEM = "application/problem+json"
NATIVE = "0x0000000000000000000000000000000000000000"


def get(indexed: Indexed, path: str, expect: int = 200, **params: Any) -> Any:
    response = indexed.client.get(path, params=params)
    assert response.status_code == expect, response.text
    if expect >= 400:
        assert response.headers["content-type"] == PROBLEM
    return response.json()


def chain_offer(indexed: Indexed, offer_id: int) -> dict[str, Any]:
    """The chain's record of an offer, in the API's shape (without the index's own fields)."""
    offer = indexed.world.admin.market.offer(offer_id)
    license_offer = offer.kind.name == "LICENSE"
    return {
        "offer_id": offer_id,
        "asset_id": asset_id_hex(offer.asset_id),
        "seller": offer.seller,
        "kind": offer.kind.name,
        "currency": offer.currency,
        "price": str(offer.price),
        "min_bid": str(offer.min_bid),
        "expires_at": offer.expires_at,
        "fee_bps": offer.fee_bps,
        "license_kind": offer.license_kind.name if license_offer else None,
        "license_duration": offer.license_duration if license_offer else None,
        "terms_hash": "0x" + offer.terms_hash.hex() if license_offer else None,
        "scope": offer.scope if license_offer else None,
        "status": offer.status.name,
    }


def chain_trades(indexed: Indexed) -> dict[int, tuple[TradeSettled, int, HexBytes, int]]:
    """Every TradeSettled on the chain: (event, block, transaction, log index) by trade id."""
    world = indexed.world
    market = world.deployment.address("DataMarket")
    logs = world.w3.eth.get_logs(
        {
            "fromBlock": world.deployment.block_number,
            "address": market,
            "topics": ["0x" + TradeSettled.TOPIC0.hex()],
        }
    )
    trades = {}
    for log in logs:
        event = DECODERS[bytes(log["topics"][0])](
            [bytes(topic) for topic in log["topics"]], bytes(log["data"])
        )
        assert isinstance(event, TradeSettled)
        trades[event.trade_id] = (
            event,
            int(log["blockNumber"]),
            HexBytes(log["transactionHash"]),
            int(log["logIndex"]),
        )
    return trades


def test_open_offers_match_the_chain_and_filter(indexed: Indexed) -> None:
    offers = get(indexed, "/market/offers")["items"]
    # 1, 2 filled; 5 cancelled; 6 open on chain, but its seller gave the asset away
    assert [offer["offer_id"] for offer in offers] == [3, 4]
    for offer in offers:
        own = {key: offer.pop(key) for key in ("created_block", "created_at", "closed_block")}
        assert own["closed_block"] is None
        assert offer.pop("block_number") == own["created_block"]
        assert offer.pop("finality") in ("pending", "safe", "final")
        assert offer == chain_offer(indexed, offer["offer_id"])
    listed = asset_id_hex(indexed.assets["listed"])
    alice = indexed.world.alice.address

    def ids(**params: Any) -> list[int]:
        return [item["offer_id"] for item in get(indexed, "/market/offers", **params)["items"]]

    assert ids(kind="asset") == [4]
    assert ids(kind="LICENSE") == [3]
    assert ids(asset_id=listed) == [4]
    assert ids(seller=alice) == [3, 4]
    assert ids(seller=indexed.world.bob.address) == []
    assert ids(currency=NATIVE, min_price="300", max_price="300") == [3]
    assert ids(currency=NATIVE, min_price="301") == [4]
    assert ids(currency=NATIVE, max_price="1999") == [3]
    assert ids(currency=NATIVE, min_price="2001") == []
    assert ids(currency=indexed.world.bob.address) == []
    assert ids(limit=1) == [3]
    cursor = get(indexed, "/market/offers", limit=1)["next_cursor"]
    assert ids(limit=1, cursor=cursor) == [4]


def test_bad_offer_filters_are_problems(indexed: Indexed) -> None:
    for params, field in (
        ({"min_price": "1"}, "currency"),
        ({"currency": NATIVE, "min_price": "5", "max_price": "4"}, "min_price"),
        ({"currency": NATIVE, "min_price": "-1"}, "min_price"),
        ({"currency": NATIVE, "max_price": str(2**128)}, "max_price"),
        ({"kind": "everything"}, "kind"),
        ({"currency": "0x1234"}, "currency"),
        ({"seller": "alice"}, "seller"),
    ):
        problem = get(indexed, "/market/offers", 400, **params)
        assert problem["status"] == 400
        assert field in problem["detail"], (params, problem)
    assert get(indexed, "/market/offers/99", 404)["status"] == 404
    assert get(indexed, "/market/offers/0", 422)["status"] == 422


def test_an_offer_that_cannot_fill_is_unavailable(indexed: Indexed) -> None:
    world = indexed.world
    revised = asset_id_hex(indexed.assets["revised"])
    assert world.admin.market.offer(6).status.name == "OPEN"
    offer = get(indexed, "/market/offers/6")
    assert (offer["status"], offer["seller"]) == ("UNAVAILABLE", world.carol.address)
    listed = get(indexed, f"/assets/{revised}/offers")["items"]
    assert [(item["offer_id"], item["status"]) for item in listed] == [
        (1, "FILLED"),
        (6, "UNAVAILABLE"),
    ]
    assert get(indexed, "/market/offers", seller=world.carol.address)["items"] == []
    with pytest.raises(ContractRevertError) as refused:
        world.dave.market.buy(6, value=3_000)  # refused at estimation: nothing is mined
    assert refused.value.name == "AssetMovedSinceListing"


def test_an_offer_and_its_bids_match_the_chain(indexed: Indexed) -> None:
    market = indexed.world.admin.market
    offer = get(indexed, "/market/offers/1")
    assert offer["status"] == "FILLED"
    assert offer["closed_block"] is not None
    for key, value in chain_offer(indexed, 1).items():
        assert offer[key] == value, key
    bids = get(indexed, "/market/offers/1/bids")["items"]
    assert [bid["bid_id"] for bid in bids] == [1, 2]
    for bid in bids:
        state = market.bid_state(bid["bid_id"])
        assert bid["offer_id"] == state.offer_id == 1
        assert bid["bidder"] == state.bidder
        assert bid["amount"] == str(state.amount)
        assert bid["expires_at"] == state.expires_at
        assert bid["status"] == state.status.name
        assert bid["currency"] == NATIVE
        assert bid["asset_id"] == asset_id_hex(indexed.assets["revised"])
    assert [bid["status"] for bid in bids] == ["CANCELLED", "ACCEPTED"]
    assert get(indexed, "/market/offers/99/bids", 404)["status"] == 404


def test_trades_match_the_chain_by_asset_and_by_account(indexed: Indexed) -> None:
    world = indexed.world
    head = world.w3.eth.block_number  # the head the index was built at: nothing is mined
    on_chain = chain_trades(indexed)
    assert sorted(on_chain) == [1, 2, 3, 4]
    seen: dict[int, dict[str, Any]] = {}
    for label in ("revised", "sold", "licensed"):
        for trade in get(indexed, f"/assets/{asset_id_hex(indexed.assets[label])}/trades")["items"]:
            seen[trade["trade_id"]] = trade
    assert sorted(seen) == [1, 2, 3, 4]
    for trade_id, trade in seen.items():
        event, block, tx_hash, log_index = on_chain[trade_id]
        assert trade == {
            "trade_id": trade_id,
            "offer_id": event.offer_id,
            "bid_id": event.bid_id or None,
            "asset_id": asset_id_hex(event.asset_id),
            "kind": event.kind.name,
            "seller": event.seller,
            "buyer": event.buyer,
            "currency": event.currency,
            "price": str(event.price),
            "fee": str(event.fee),
            "fee_recipient": event.fee_recipient if event.fee else None,
            "seller_proceeds": str(event.price - event.fee),
            "license_id": event.license_id or None,
            "tx_hash": "0x" + tx_hash.hex().removeprefix("0x"),
            "log_index": log_index,
            "settled_at": world.w3.eth.get_block(block)["timestamp"],
            "block_number": block,
            # the trades lie 12 or more blocks below the head the index saw (finality depth 8)
            "finality": "final",
        }
        assert head - block >= TEST_CONFIG.finality_depth
    # carol's accepted bid of 800, 2.5% to the admin; the license trades name their licenses
    assert (seen[1]["price"], seen[1]["fee"], seen[1]["bid_id"]) == ("800", "20", 2)
    assert seen[1]["fee_recipient"] == world.admin.address
    assert [seen[3]["license_id"], seen[4]["license_id"]] == [2, 3]

    def ids(account: str) -> list[int]:
        return [t["trade_id"] for t in get(indexed, f"/accounts/{account}/trades")["items"]]

    assert ids(world.alice.address) == [1, 2, 3, 4]  # the seller of all four
    assert ids(world.bob.address) == [2, 3]
    assert ids(world.carol.address) == [1]
    assert ids(world.dave.address.lower()) == [4]
    assert ids(world.stranger.address) == []
    assert get(indexed, "/accounts/0x12/trades", 400)["status"] == 400


def test_history_shows_trades_with_price_and_currency(indexed: Indexed) -> None:
    sold = asset_id_hex(indexed.assets["sold"])
    history = get(indexed, f"/assets/{sold}/history")["items"]
    market = {"OfferCreated", "OfferCancelled", "BidPlaced", "TradeSettled"}
    events = [item["event"] for item in history if item["event"] in market]
    assert events == ["OfferCreated", "TradeSettled", "OfferCreated", "OfferCancelled"]
    trade = next(item for item in history if item["event"] == "TradeSettled")
    assert trade["args"]["price"] == 5_000
    assert trade["args"]["currency"] == NATIVE
    assert trade["args"]["buyer"] == indexed.world.bob.address
    holders = get(indexed, f"/assets/{sold}/holders")["items"]
    assert [(h["holder"], h["via"]) for h in holders] == [
        (indexed.world.alice.address, "REGISTRATION"),
        (indexed.world.bob.address, "TRADE"),
    ]


def test_statistics_per_category_and_grade(indexed: Indexed) -> None:
    stats = get(indexed, "/market/stats")
    assert stats == [
        {
            "category": DEFAULT_CATEGORY,
            "category_name": stats[0]["category_name"],
            "grade": 1,
            "currency": NATIVE,
            "trades": 2,
            "volume": "5800",
            "last_price": "5000",
            "last_trade_id": 2,
        },
        {
            "category": 201,
            "category_name": stats[1]["category_name"],
            "grade": 1,
            "currency": NATIVE,
            "trades": 2,
            "volume": "600",
            "last_price": "300",
            "last_trade_id": 4,
        },
    ]
    assert stats[0]["category_name"] != stats[1]["category_name"]


def test_asset_page_shows_offers_and_trades(indexed: Indexed) -> None:
    sold = asset_id_hex(indexed.assets["sold"])
    html = indexed.client.get(f"/asset/{sold}").text
    assert "Trade history" in html
    assert '<span class="amount" title="5,000 wei">0.000000000000005 ETH</span>' in html
    bob = indexed.world.bob.address
    sold_to = re.search(r"Sold to (.*?) for (.*?) \(trade #2\)", html)
    assert sold_to is not None
    assert f'<a href="/participant/{bob}" title="{bob}">' in sold_to[1]
    assert sold_to[2] == '<span class="amount" title="5,000 wei">0.000000000000005 ETH</span>'
    assert "Offer #5 cancelled" in html
    licensed = asset_id_hex(indexed.assets["licensed"])
    html = indexed.client.get(f"/asset/{licensed}").text
    assert "processing use licenses, 90 days each (research)" in html
    assert "license #3" in html


def test_market_page_lists_and_filters_offers(indexed: Indexed) -> None:
    html = indexed.client.get("/market").text
    assert "<td>#3</td>" in html
    assert "<td>#4</td>" in html
    assert "2,000 wei" in html
    assert "300 wei" in html
    assert "5,800 wei" in html  # the volume of category 101, grade 1
    licenses = indexed.client.get("/market", params={"kind": "license"}).text
    assert "<td>#3</td>" in licenses
    assert "<td>#4</td>" not in licenses
    bad = indexed.client.get("/market", params={"min_price": "10"})
    assert bad.status_code == 400
    assert "a price range needs a currency" in bad.text
    checksummed = to_checksum_address(NATIVE)
    ranged = indexed.client.get(
        "/market", params={"currency": checksummed, "min_price": "1000"}
    ).text
    assert "<td>#4</td>" in ranged
    assert "<td>#3</td>" not in ranged

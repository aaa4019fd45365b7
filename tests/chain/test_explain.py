"""A revert in words: each kind of custom error says what is wrong and, where a command
resolves it, which one and who runs it; "you" is the sender of the call the revert answers.

The reverts are decoded from revert data as a node returns it, and the calls from the call
data a transaction carries, so the explanation sees exactly what the CLI sees.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

from provledger.chain.calls import Call, KnownFacts, decode_call
from provledger.chain.explain import explain, explained_errors
from provledger.chain.reverts import ContractRevertError, decode_revert_data

ALICE = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"
BOB = "0x976EA74026E726554dB657fA54763abd0C3a0aa9"
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ASSET = 0x210707E1E08FDD29545BFB8E3B6FB36BC146248DB51D2B474DC794F5AF1B2EC7
ASSET_HEX = f"0x{ASSET:064x}"
INTERFACES = Path(__file__).resolve().parents[2] / "contracts" / "interfaces"
#: 2025-05-01T12:00:00Z, the chain clock the relative times are counted from.
NOW = 1_746_100_800


def revert(signature: str, *values: Any) -> ContractRevertError:
    """The revert a node reports for ``Name(types)`` with ``values``, decoded."""
    types = signature[signature.index("(") + 1 : -1]
    data = keccak(text=signature)[:4] + abi_encode(types.split(",") if types else [], values)
    decoded = decode_revert_data(data)
    assert decoded.name == signature[: signature.index("(")]
    return decoded


def by(sender: str, **args: Any) -> Call:
    return Call(sender=sender, contract="DataAssetRegistry", function=None, args=args)


# ------------------------------------------------------------------ roles
def test_a_missing_authority_role_is_named_with_the_grant_command() -> None:
    missing = revert(
        "AccessControlUnauthorizedAccount(address,bytes32)", ALICE, keccak(text="REGISTRAR_ROLE")
    )
    assert explain(missing, by(ALICE)) == (
        f"you ({ALICE}) lack REGISTRAR_ROLE: an admin (DEFAULT_ADMIN_ROLE) grants it with "
        f"`provledger roles grant registrar {ALICE}` [AccessControlUnauthorizedAccount]"
    )
    assert explain(missing, by(BOB)) == (
        f"{ALICE} lacks REGISTRAR_ROLE: an admin (DEFAULT_ADMIN_ROLE) grants it with "
        f"`provledger roles grant registrar {ALICE}` [AccessControlUnauthorizedAccount]"
    )


def test_the_admin_role_and_the_contracts_roles() -> None:
    admin = revert("AccessControlUnauthorizedAccount(address,bytes32)", ALICE, b"\x00" * 32)
    assert explain(admin, by(ALICE)) == (
        f"you ({ALICE}) lack DEFAULT_ADMIN_ROLE: an admin grants it with "
        f"`provledger roles grant admin {ALICE}` [AccessControlUnauthorizedAccount]"
    )
    office = revert(
        "AccessControlUnauthorizedAccount(address,bytes32)", ALICE, keccak(text="OFFICE_ROLE")
    )
    assert explain(office) == (
        f"{ALICE} lacks OFFICE_ROLE, which only the deployment's own contracts hold "
        "(`provledger deploy` grants it) [AccessControlUnauthorizedAccount]"
    )
    unknown = revert("AccessControlUnauthorizedAccount(address,bytes32)", ALICE, b"\x07" * 32)
    assert explain(unknown) == (
        f"{ALICE} lacks role 0x{'07' * 32} [AccessControlUnauthorizedAccount]"
    )


# ------------------------------------------------------------------ holding
def test_a_former_holder_no_longer_holds_the_asset() -> None:
    refused = revert("ERC721InsufficientApproval(address,uint256)", ALICE, ASSET)
    facts = KnownFacts(
        holders={ASSET: BOB}, former=frozenset({(ALICE, ASSET)}), names={BOB: "Bund Analytics"}
    )
    assert explain(refused, by(ALICE), facts=facts) == (
        f"you ({ALICE}) no longer hold asset {ASSET_HEX}: Bund Analytics ({BOB}) holds it now "
        "and has not approved you [ERC721InsufficientApproval]"
    )
    never = KnownFacts(holders={ASSET: BOB})
    assert explain(refused, by(ALICE), facts=never) == (
        f"you ({ALICE}) do not hold asset {ASSET_HEX}: {BOB} holds it now and has not "
        "approved you [ERC721InsufficientApproval]"
    )
    assert explain(refused, by(ALICE)) == (
        f"you ({ALICE}) do not hold asset {ASSET_HEX}, and its holder has not approved it "
        "[ERC721InsufficientApproval]"
    )


def test_an_operator_that_is_not_the_sender_lost_its_approval() -> None:
    refused = revert("ERC721InsufficientApproval(address,uint256)", REGISTRY, ASSET)
    facts = KnownFacts(holders={ASSET: BOB}, names={REGISTRY: "the DataMarket contract"})
    assert explain(refused, by(ALICE), facts=facts) == (
        f"the DataMarket contract ({REGISTRY}) may not move asset {ASSET_HEX}: its holder "
        f"{BOB} has not approved it (the approval was withdrawn, or the asset changed hands) "
        "[ERC721InsufficientApproval]"
    )


def test_not_the_holder_of_a_module_call() -> None:
    refused = revert("NotAssetHolder(uint256,address,address)", ASSET, ALICE, BOB)
    facts = KnownFacts(former=frozenset({(ALICE, ASSET)}))
    assert explain(refused, by(ALICE), facts=facts) == (
        f"you ({ALICE}) no longer hold asset {ASSET_HEX}: {BOB} holds it now [NotAssetHolder]"
    )
    assert explain(refused, by(BOB)) == (
        f"{ALICE} does not hold asset {ASSET_HEX}: {BOB} holds it now [NotAssetHolder]"
    )


def test_an_approval_by_someone_who_does_not_hold_the_asset() -> None:
    refused = revert("ERC721InvalidApprover(address)", ALICE)
    approve = by(ALICE, to=BOB, tokenId=ASSET)
    assert explain(refused, approve, facts=KnownFacts(holders={ASSET: BOB})) == (
        f"you ({ALICE}) do not hold asset {ASSET_HEX}: {BOB} holds it now, so only its holder "
        "may approve a move [ERC721InvalidApprover]"
    )


def test_an_unknown_asset_says_how_to_find_an_asset_id() -> None:
    for missing in (
        revert("ERC721NonexistentToken(uint256)", ASSET),
        revert("UnknownAsset(uint256)", ASSET),
    ):
        assert explain(missing) == (
            f"asset {ASSET_HEX} is not registered (`provledger hash FILE` prints the asset id "
            f"of a file) [{missing.name}]"
        )


# ------------------------------------------------------------------ participants
def test_not_a_participant_names_the_command_that_adds_it() -> None:
    refused = revert("ParticipantNotActive(address,uint8)", ALICE, 0)
    assert explain(refused, by(ALICE)) == (
        f"you ({ALICE}) are not a participant: a registrar (REGISTRAR_ROLE) adds you with "
        f"`provledger participants add {ALICE} --jurisdiction CC --name NAME` "
        "[ParticipantNotActive]"
    )
    assert explain(refused, by(BOB)) == (
        f"{ALICE} is not a participant: a registrar (REGISTRAR_ROLE) adds it with "
        f"`provledger participants add {ALICE} --jurisdiction CC --name NAME` "
        "[ParticipantNotActive]"
    )


def test_a_suspended_participant_needs_a_registrar() -> None:
    refused = revert("ParticipantNotActive(address,uint8)", ALICE, 2)
    assert explain(refused, by(ALICE)) == (
        f"you ({ALICE}) are suspended as a participant: only a registrar can reinstate the "
        "account (the registry's reinstateParticipant) [ParticipantNotActive]"
    )


# ------------------------------------------------------------------ export permits
def test_a_missing_export_permit_names_the_permit_command() -> None:
    refused = revert("ExportPermitMissing(uint256,address)", ASSET, BOB)
    assert explain(refused, by(ALICE)) == (
        f"asset {ASSET_HEX} crosses the border to {BOB} only under an export permit: an export "
        "approver (EXPORT_APPROVER_ROLE) issues one with "
        f"`provledger export permit {ASSET_HEX} {BOB} --days 30` [ExportPermitMissing]"
    )


def test_an_expired_permit_says_when_by_the_chain_clock() -> None:
    refused = revert("ExportPermitExpired(uint256,address,uint40)", ASSET, BOB, NOW - 7200)
    assert explain(refused, by(ALICE), NOW) == (
        f"the export permit of asset {ASSET_HEX} for {BOB} expired 2025-05-01T10:00:00+00:00 "
        "(2 h ago): an export approver (EXPORT_APPROVER_ROLE) issues one with "
        f"`provledger export permit {ASSET_HEX} {BOB} --days 30` [ExportPermitExpired]"
    )


# ------------------------------------------------------------------ review and notice
def test_a_registration_not_yet_accepted() -> None:
    refused = revert("UnexpectedStatus(uint256,uint8,uint8)", ASSET, 1, 2)
    assert explain(refused) == (
        f"asset {ASSET_HEX} is applied, but this step needs it noticed: a registrar accepts it "
        f"first with `provledger review accept {ASSET_HEX}` [UnexpectedStatus]"
    )


def test_a_notice_that_still_runs() -> None:
    refused = revert("NoticePeriodNotOver(uint256,uint40)", ASSET, NOW + 120)
    assert explain(refused, now=NOW) == (
        f"the public notice of asset {ASSET_HEX} runs until 2025-05-01T12:02:00+00:00 "
        "(in 2 min): certify it after that [NoticePeriodNotOver]"
    )


def test_an_unlisted_category_points_at_the_list() -> None:
    assert explain(revert("UnknownCategory(uint16)", 999)) == (
        "category 999 is not on the published list (`provledger categories` lists it) "
        "[UnknownCategory]"
    )


def test_content_registered_before_by_you() -> None:
    content = b"\x0d" * 32
    refused = revert("AssetAlreadyRegistered(uint256,bytes32,address)", ASSET, content, ALICE)
    assert explain(refused, by(ALICE)) == (
        f"this content is already registered, as asset {ASSET_HEX} by you "
        f"(`provledger verify 0x{'0d' * 32}` shows it) [AssetAlreadyRegistered]"
    )


def test_a_spent_signature_nonce_names_the_next_one() -> None:
    refused = revert("InvalidAccountNonce(address,uint256)", ALICE, 2)
    assert explain(refused, by(BOB)) == (
        f"the signature's nonce is spent or out of turn: {ALICE} is at nonce 2: the registrant "
        "signs again with `provledger sign FILE --category CODE --nonce 2` [InvalidAccountNonce]"
    )
    altered = revert("InvalidRegistrationSignature(address,address)", ALICE, BOB)
    assert explain(altered) == (
        f"the signature is by {BOB}, not by the registrant {ALICE}: the registration was "
        "changed after it was signed, or signed with another key [InvalidRegistrationSignature]"
    )


# ------------------------------------------------------------------ what is left as it is
def test_an_error_without_words_is_shown_as_decoded() -> None:
    revert_string = ContractRevertError("Error", {"message": "nope"}, b"")
    assert explain(revert_string) == "reverted with Error(message='nope')"
    unknown = decode_revert_data(bytes.fromhex("deadbeef"))
    assert explain(unknown) == "reverted without a known reason (data 0xdeadbeef)"


def test_every_error_of_the_interfaces_has_words() -> None:
    declared = {
        match
        for source in INTERFACES.glob("*.sol")
        for match in re.findall(r"^\s*error\s+(\w+)\s*\(", source.read_text(), re.M)
    }
    assert len(declared) > 90
    assert sorted(declared - explained_errors()) == []


# ------------------------------------------------------------------ the call it answers
def test_decode_call_reads_the_sender_function_and_arguments() -> None:
    data = keccak(text="transferFrom(address,address,uint256)")[:4] + abi_encode(
        ["address", "address", "uint256"], [BOB, ALICE, ASSET]
    )
    call = decode_call(ALICE.lower(), REGISTRY, data, {REGISTRY: "DataAssetRegistry"})
    assert call == Call(
        sender=ALICE,
        contract="DataAssetRegistry",
        function="transferFrom",
        args={"from": BOB, "to": ALICE, "tokenId": ASSET},
    )


@pytest.mark.parametrize("data", [b"", b"\x01\x02\x03\x04"])
def test_decode_call_of_unknown_data_knows_only_the_sender(data: bytes) -> None:
    assert decode_call(ALICE, None, data, {}) == Call(sender=ALICE)

"""A revert in words for people: what is wrong, and which command (by whom) resolves it.

:func:`explain` is the one place that turns a :class:`~provledger.chain.reverts.ContractRevertError`
into a sentence, decided from the error's arguments and the
:class:`~provledger.chain.calls.Call` it answers (who sent it, to which contract, which
function). :data:`EXPLANATIONS` holds one entry per custom error: a template that
:class:`~provledger.chain.wording.Words` fills, or a function where the sentence depends on
more than the arguments (the holder now, a role's grant command, "you").
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeAlias

from provledger.chain.artifacts import abi_items
from provledger.chain.calls import Call, Facts, KnownFacts
from provledger.chain.deploy import AUTHORITY_ROLES
from provledger.chain.enums import AssetStatus, ParticipantStatus
from provledger.chain.ids import role_id
from provledger.chain.reverts import ContractRevertError, render_value
from provledger.chain.wording import Words, code_text, status_name


def explain(
    revert: ContractRevertError,
    call: Call | None = None,
    now: float | None = None,
    facts: Facts | None = None,
) -> str:
    """The revert in words for people: what is wrong and what resolves it (a command, and
    who may run it), followed by the error's name in brackets; the error as
    ``reverted with Name(args)`` when there is nothing better to say.

    ``call`` is the call the revert answers (it tells "you" from others, and the asset of an
    approval); ``now`` the time relative times are counted from (the chain's clock when
    known); ``facts`` what may be looked up: the current holder, a former holding, names.
    """
    words = Words(call or Call(), now, facts or KnownFacts())
    explanation = EXPLANATIONS.get(revert.name)
    if isinstance(explanation, str):
        sentence: str | None = words.sentence(explanation, revert.args_by_name)
    else:
        sentence = explanation(words, revert.args_by_name) if explanation else None
    return f"{sentence} [{revert.name}]" if sentence else str(revert)


def explained_errors() -> frozenset[str]:
    """The names of the errors :func:`explain` puts in words."""
    return frozenset(EXPLANATIONS)


#: The roles an admin grants with `provledger roles grant`: role name -> the command's word.
_ROLE_WORDS: Final = {name: word for word, name in AUTHORITY_ROLES.items()}


@functools.cache
def known_roles() -> dict[bytes, str]:
    """Role id -> name, over every ``*_ROLE`` constant of the packaged artifacts."""
    roles: dict[bytes, str] = {}
    for _, item in abi_items("function"):
        name = str(item.get("name", ""))
        if name.endswith("_ROLE") and not item["inputs"]:
            roles[role_id(name)] = name
    return roles


# ------------------------------------------------------------------ sentences that look further
def _role(w: Words, args: Mapping[str, Any]) -> str:
    account, role = args["account"], known_roles().get(args["neededRole"])
    lack = f"{w.who(account)} {w.verb(account, 'lack', 'lacks')}"
    if role is None:
        return f"{lack} role {render_value(args['neededRole'])}"
    if role == "CHECKPOINTER_ROLE":
        return (
            f"{lack} CHECKPOINTER_ROLE: the Checkpoint contract's admin (DEFAULT_ADMIN_ROLE "
            "there) grants it"
        )
    if role not in _ROLE_WORDS:
        return (
            f"{lack} {role}, which only the deployment's own contracts hold "
            "(`provledger deploy` grants it)"
        )
    # The contracts never set another admin role: DEFAULT_ADMIN_ROLE administers every role.
    granter = "an admin" if role == "DEFAULT_ADMIN_ROLE" else "an admin (DEFAULT_ADMIN_ROLE)"
    command = f"provledger roles grant {_ROLE_WORDS[role]} {account}"
    return f"{lack} {role}: {granter} grants it with `{command}`"


def _not_holder(
    w: Words, asset: Any, account: Any, holder: Any = None, *, unapproved: bool = False
) -> str:
    """``account`` does not hold ``asset``: "no longer" for a former holder, with the holder
    now (looked up when not given); ``unapproved`` adds that the holder has not approved
    ``account`` to move it."""
    holder = holder or w.facts.holder_of(int(asset))
    if holder:
        now = f": {w.party(holder)} holds it now"
        now += f" and has not approved {'you' if w.is_you(account) else 'it'}" if unapproved else ""
    else:
        now = ", and its holder has not approved it" if unapproved else ""
    former = w.facts.held(str(account), int(asset))
    if w.is_you(account):
        hold = "no longer hold" if former else "do not hold"
        return f"{w.who(account)} {hold} asset {w.asset(asset)}{now}"
    hold = "no longer holds" if former else "does not hold"
    return f"{w.party(account)} {hold} asset {w.asset(asset)}{now}"


def _insufficient_approval(w: Words, args: Mapping[str, Any]) -> str:
    operator, asset = args["operator"], args["tokenId"]
    if w.is_you(operator):
        return _not_holder(w, asset, operator, unapproved=True)
    holder = w.facts.holder_of(int(asset))
    by = f"its holder {w.party(holder)}" if holder else "its holder"
    return (
        f"{w.party(operator)} may not move asset {w.asset(asset)}: {by} has not approved it "
        "(the approval was withdrawn, or the asset changed hands)"
    )


def _invalid_approver(w: Words, args: Mapping[str, Any]) -> str:
    asset = w.call_arg("tokenId")
    approver = args["approver"]
    if asset is None:
        return f"{w.who(approver)} {w.verb(approver, 'do', 'does')} not hold the asset to approve"
    return _not_holder(w, asset, approver) + ", so only its holder may approve a move"


def _not_active(w: Words, args: Mapping[str, Any]) -> str:
    account, status = args["account"], args["status"]
    be = w.verb(account, "are", "is")
    if status == ParticipantStatus.SUSPENDED:
        return (
            f"{w.who(account)} {be} suspended as a participant: only a registrar can "
            "reinstate the account (the registry's reinstateParticipant)"
        )
    whom = "you" if w.is_you(account) else "it"
    return (
        f"{w.who(account)} {be} not a participant: a registrar (REGISTRAR_ROLE) adds {whom} "
        f"with `provledger participants add {account} --jurisdiction CC --name NAME`"
    )


def _unexpected_status(w: Words, args: Mapping[str, Any]) -> str:
    asset, status, expected = w.asset(args["assetId"]), args["status"], args["expected"]
    sentence = (
        f"asset {asset} is {status_name(status)}, but this step needs it {status_name(expected)}"
    )
    if expected == AssetStatus.APPLIED and status == AssetStatus.NOTICED:
        sentence += ": it was accepted already, and its public notice runs"
    elif expected == AssetStatus.NOTICED and status == AssetStatus.APPLIED:
        sentence += f": a registrar accepts it first with `provledger review accept {asset}`"
    return sentence


def _unknown_asset(w: Words, args: Mapping[str, Any]) -> str:
    asset = args.get("assetId", args.get("tokenId"))
    return (
        f"asset {w.asset(asset)} is not registered "
        "(`provledger hash FILE` prints the asset id of a file)"
    )


def _invalid_currency(w: Words, args: Mapping[str, Any]) -> str:
    currency = args["currency"]
    if isinstance(currency, bytes):  # an appraisal's ISO 4217 code
        return f"{code_text(currency)!r} is not a three-letter ISO 4217 currency code (e.g. CNY)"
    return f"{currency} cannot be a currency of the market (not a token contract)"


def _cannot_receive(w: Words, args: Mapping[str, Any]) -> str:
    receiver = args["receiver"]
    if int(str(receiver), 16) == 0:
        return "an asset cannot go to the zero address: give the new holder's address"
    return f"{receiver} is a contract that does not accept ERC-721 assets"


def _permit_not_applicable(w: Words, args: Mapping[str, Any]) -> str:
    if args["grade"] == 1:
        why = "it crosses borders without a permit"
    else:
        why = "core data never crosses a border, so no permit can allow it"
    return w.sentence("asset {assetId:asset} is grade {grade}: ", args) + why


def _nothing_to_withdraw(w: Words, args: Mapping[str, Any]) -> str:
    currency = args["currency"]
    owed = "ETH" if int(currency, 16) == 0 else f"token {currency}"
    return w.sentence("the market owes {account:you} nothing in ", args) + owed


def _neither_held_nor_licensed(w: Words, args: Mapping[str, Any]) -> str:
    registrant = args["registrant"]
    lacks = f"{w.who(registrant)} {w.verb(registrant, 'neither hold', 'neither holds')}"
    return lacks + w.sentence(
        " parent {parentId:asset} nor a valid licence to it: its holder {holder:party} grants "
        "one with `provledger license grant {parentId:asset} {registrant}`",
        args,
    )


def _insufficient_balance(w: Words, args: Mapping[str, Any]) -> str:
    sender = args["sender"]
    lacks = f"{w.who(sender)} {w.verb(sender, 'hold', 'holds')}"
    return lacks + w.sentence(" {balance} of the token, and {needed} are needed", args)


def _zero_root(w: Words, args: Mapping[str, Any]) -> str:
    # Checkpoint.submit and BatchAnchor.anchor share the error.
    return f"the {'checkpoint' if w.call.function == 'submit' else 'batch'} root is zero"


def _already_checkpointed(w: Words, args: Mapping[str, Any]) -> str:
    chain, checkpointed = args["sourceChainId"], args["checkpointedTo"]
    return (
        f"block {args['fromBlock']} of chain {chain} is in a checkpoint already (they reach "
        f"block {checkpointed}): the next checkpoint starts at block {int(checkpointed) + 1}"
    )


Explanation: TypeAlias = str | Callable[[Words, Mapping[str, Any]], str]

#: How to issue the export permit an asset needs to reach a recipient.
_PERMIT: Final = (
    "an export approver (EXPORT_APPROVER_ROLE) issues one with "
    "`provledger export permit {assetId:asset} {recipient} --days 30`"
)
_PAST_EXPIRY: Final = "the expiry {expiresAt:time} is already past by the chain's clock"

#: Custom error name -> its explanation: a template of the error's arguments (see
#: :class:`~provledger.chain.wording.Words`) or a function of the words and the arguments.
EXPLANATIONS: Final[dict[str, Explanation]] = {
    # -- roles, pause
    "AccessControlUnauthorizedAccount": _role,
    "AccessControlBadConfirmation": (
        "an account renounces a role only for itself: `provledger roles revoke` (by an admin) "
        "takes one from another account"
    ),
    "EnforcedPause": "the registry is paused by its admin: nothing changes until it is unpaused",
    "ExpectedPause": "the registry is not paused",
    # -- holding and approvals (ERC-721)
    "ERC721InsufficientApproval": _insufficient_approval,
    "ERC721InvalidApprover": _invalid_approver,
    "ERC721IncorrectOwner": lambda w, a: _not_holder(w, a["tokenId"], a["sender"], a["owner"]),
    "ERC721NonexistentToken": _unknown_asset,
    "ERC721InvalidReceiver": _cannot_receive,
    "ERC721InvalidSender": "{sender} cannot send an asset",
    "ERC721InvalidOwner": "{owner} cannot hold assets",
    "ERC721InvalidOperator": "{operator} cannot be approved to move assets",
    "NotAssetHolder": lambda w, a: _not_holder(w, a["assetId"], a["caller"], a["holder"]),
    "UnknownAsset": _unknown_asset,
    # -- participants
    "ParticipantNotActive": _not_active,
    "ParticipantNotSuspended": "{account:party} is not suspended (it is {status:status})",
    "ParticipantAlreadyRegistered": (
        "{account:party} is already a participant (`provledger participants list`)"
    ),
    "InvalidJurisdiction": (
        "{jurisdiction:quoted} is not a two-letter jurisdiction code (e.g. CN)"
    ),
    "InvalidParticipant": "{account} cannot be a participant",
    # -- registration
    "UnknownCategory": (
        "category {category} is not on the published list (`provledger categories` lists it)"
    ),
    "InvalidCategory": "{category} is not a category code",
    "InvalidGrade": "grade {grade} is not 1 (general), 2 (important) or 3 (core)",
    "ZeroContentHash": "the content hash is zero: hash the data itself",
    "EmptyMetadataURI": "the metadata URI is empty",
    "ZeroMetadataHash": "the metadata hash is zero",
    "EmptyRegistrationList": "the list of registrations is empty",
    "AssetAlreadyRegistered": (
        "this content is already registered, as asset {assetId:asset} by {registrant:you} "
        "(`provledger verify {contentHash:raw}` shows it)"
    ),
    "UnknownParent": "parent {parentId:asset} is not registered",
    "InvalidRelation": (
        "relation {relation} to parent {parentId:asset} is not one of the relations "
        "(`provledger register --help` lists them)"
    ),
    "DuplicateParent": "parent {parentId:asset} is named twice",
    "TooManyParents": "{count} parents, more than the {max} allowed",
    "ParentNotUsable": "parent {parentId:asset} is {status:status} and cannot be derived from",
    "ParentNeitherHeldNorLicensed": _neither_held_nor_licensed,
    "SignatureExpired": (
        "the signature expired {deadline:time}: the registrant signs the registration again "
        "with `provledger sign`"
    ),
    "InvalidRegistrationSignature": (
        "the signature is by {recovered}, not by the registrant {registrant}: the registration "
        "was changed after it was signed, or signed with another key"
    ),
    "InvalidAccountNonce": (
        "the signature's nonce is spent or out of turn: {account:party} is at nonce "
        "{currentNonce}: the registrant signs again with `provledger sign FILE --category CODE "
        "--nonce {currentNonce}`"
    ),
    "InvalidModule": "{module} is not a contract that can be a module",
    "CallerNotRegistry": "only the registry calls this, not {caller}: go through the registry",
    # -- status, restrictions, transfers
    "AssetFrozen": (
        "asset {assetId:asset} is frozen by an arbiter during a dispute: it moves again once "
        "the arbiter rules (`provledger dispute rule`)"
    ),
    "AssetUnderObjection": (
        "an objection against asset {assetId:asset} is open: nothing moves until a registrar "
        "resolves it"
    ),
    "AssetNotTransferable": "asset {assetId:asset} is {status:status} and can no longer move",
    "AssetNotModifiable": "asset {assetId:asset} is {status:status} and can no longer change",
    "CrossBorderTransferProhibited": (
        "asset {assetId:asset} is core data (grade {grade}): it never goes from "
        "{fromJurisdiction:code} to {toJurisdiction:code}, under any permit"
    ),
    # -- export permits
    "ExportPermitMissing": (
        "asset {assetId:asset} crosses the border to {recipient:party} only under an export "
        "permit: " + _PERMIT
    ),
    "ExportPermitExpired": (
        "the export permit of asset {assetId:asset} for {recipient:party} expired "
        "{expiresAt:time}: " + _PERMIT
    ),
    "ExportPermitDestinationMismatch": (
        "the export permit of asset {assetId:asset} names {permitted:code}, but "
        "{recipient:party} is in {actual:code} now: " + _PERMIT
    ),
    "ExportPermitNotApplicable": _permit_not_applicable,
    "PermitExpiryInPast": _PAST_EXPIRY,
    # -- review, notice, objections, certificates
    "InvalidNoticePeriod": "a public notice of {period} s is not between 1 s and {max} s",
    "UnexpectedStatus": _unexpected_status,
    "NoticePeriodNotOver": (
        "the public notice of asset {assetId:asset} runs until {noticeEndsAt:time}: certify "
        "it after that"
    ),
    "NoticePeriodOver": (
        "the public notice of asset {assetId:asset} ended {noticeEndsAt:time}: objections are "
        "closed"
    ),
    "OpenObjections": (
        "asset {assetId:asset} has {count} open objection(s): a registrar resolves them before "
        "it is certified"
    ),
    "ZeroDocumentHash": "the document hash is zero: give the document",
    "UnknownObjection": "there is no objection #{objectionId}",
    "ObjectionAlreadyResolved": "objection #{objectionId} is already resolved",
    "InvalidRegistrationType": (
        "certificate type {registrationType} is not one of initial, license, transfer, change, "
        "cancellation or objection"
    ),
    "AlreadyCertified": (
        "asset {assetId:asset} is already certified (registration no. {registrationNumber})"
    ),
    "NotInitiallyCertified": (
        "asset {assetId:asset} has no initial certificate yet: a registrar issues it with "
        "`provledger certify {assetId:asset} --type initial`"
    ),
    # -- appraisals
    "ZeroValuation": "a valuation must be more than zero",
    "InvalidCurrency": _invalid_currency,
    "InvalidValuationMethod": (
        "valuation method {method} is not one of the methods (`provledger appraise --help` "
        "lists them)"
    ),
    "ZeroReportHash": "the appraisal report's hash is zero: give the report",
    # -- licenses
    "InvalidLicenseKind": "license kind {kind} is not processing-use or product-operation",
    "InvalidLicensee": "{licensee} cannot be a licensee",
    "ZeroTermsHash": "the license terms' hash is zero: give the terms",
    "LicenseExpiryInPast": _PAST_EXPIRY,
    "UnknownLicense": "there is no license #{licenseId}",
    "LicenseAlreadyRevoked": "license #{licenseId} was revoked {revokedAt:time}",
    "LicenseAlreadyExpired": "license #{licenseId} expired {expiresAt:time}",
    "SoldLicenseNotRevocable": (
        "license #{licenseId} was sold through the market: it lasts until it expires and "
        "cannot be revoked"
    ),
    # -- disputes
    "UnknownDispute": "there is no dispute #{disputeId}",
    "DisputeClosed": "dispute #{disputeId} is closed: it was ruled on",
    "DisputeAlreadyFrozen": "the asset of dispute #{disputeId} is already frozen",
    "DisputeNotFrozen": (
        "dispute #{disputeId} is not frozen: an arbiter freezes it first with "
        "`provledger dispute freeze {disputeId}`"
    ),
    "InvalidRuling": "ruling {ruling} is not dismiss, transfer-to-claimant or cancel-asset",
    # -- batches
    "ZeroRoot": _zero_root,
    "EmptyBatch": "the batch holds no content hash",
    "BatchAlreadyAnchored": (
        "batch {root:raw} was already anchored by {submitter:you} {anchoredAt:time}"
    ),
    "UnknownBatch": "no batch {root:raw} is anchored",
    "NotBatchSubmitter": (
        "batch {root:raw} was anchored by {submitter:party}: only it registers the batch's content"
    ),
    "InvalidMerkleProof": (
        "content {contentHash:raw} is not a leaf of batch {root:raw} (`provledger verify FILE` "
        "finds the batch that holds it)"
    ),
    # -- checkpoints of a source chain (the Checkpoint contract, on the target chain)
    "EmptyCheckpoint": (
        "a checkpoint covers at least one block: block {toBlock} is before block {fromBlock}"
    ),
    "BlocksAlreadyCheckpointed": _already_checkpointed,
    "CheckpointOutOfOrder": (
        "the next checkpoint of chain {sourceChainId} starts at block {expectedFrom}, not at "
        "block {fromBlock}"
    ),
    "HistoryMismatch": (
        "the parent hash {parentHash:raw} is not {expectedParent:raw}, the hash of the last "
        "checkpointed block of chain {sourceChainId}: the source chain's history is not the one "
        "checkpointed"
    ),
    "UnknownCheckpoint": "chain {sourceChainId} has no checkpoint #{sequence}",
    "CommitmentMismatch": (
        "checkpoint #{sequence} of chain {sourceChainId} commits to {expected:raw}, not "
        "{commitment:raw}: the blocks witnessed are not the blocks checkpointed"
    ),
    # -- market
    "ZeroPrice": "a price must be more than zero",
    "UnknownCurrency": (
        "the market does not take {currency}: it takes the tokens its admin listed, or ETH "
        "(`--currency native`)"
    ),
    "ExpiryInPast": _PAST_EXPIRY,
    "MinBidAbovePrice": "the minimum bid {minBid} is above the price {price}",
    "ZeroLicenseDuration": "a license on offer must last at least a day (--days)",
    "LicenseDurationTooLong": (
        "a license of {licenseDuration} s is longer than the {maximum} s allowed"
    ),
    "MarketNotApproved": (
        "the market is not approved to move asset {assetId:asset}: its holder {holder:party} "
        "lists it again with `provledger market list`, which approves it"
    ),
    "UnknownOffer": "there is no offer #{offerId} (`provledger market offers` lists them)",
    "OfferNotOpen": "offer #{offerId} is {status:status}",
    "OfferExpired": "offer #{offerId} expired {expiresAt:time}",
    "NotOfferSeller": "offer #{offerId} is {seller:party}'s, not {caller:yours}",
    "AssetMovedSinceListing": (
        "the asset of offer #{offerId} changed hands since it was listed: {holder:party} holds "
        "it, not the seller {seller:party}"
    ),
    "BuyerIsSeller": "offer #{offerId} is your own",
    "WrongPayment": "the offer costs {expected:native}, not {sent:native}",
    "PaymentShortfall": (
        "the market received {received} of the {expected} due in token {currency} (a token "
        "that takes a fee on transfers cannot pay)"
    ),
    "BidsNotAccepted": (
        "offer #{offerId} takes no bids (its minimum bid is 0): buy it at its price with "
        "`provledger market buy {offerId}`"
    ),
    "BidBelowMinimum": "a bid of {amount} is below offer #{offerId}'s minimum of {minimum}",
    "UnknownBid": "there is no bid #{bidId}",
    "BidNotOpen": "bid #{bidId} is {status:status}",
    "BidExpired": "bid #{bidId} expired {expiresAt:time}",
    "NotBidder": "bid #{bidId} is {bidder:party}'s, not {caller:yours}",
    "NothingToWithdraw": _nothing_to_withdraw,
    "NativeTransferFailed": (
        "{account} refused a payment of {amount:native}: it is a contract that takes no ETH"
    ),
    "FeeAboveCap": "a fee of {feeBps} basis points is above the cap of {cap}",
    "InvalidFeeRecipient": "{feeRecipient} cannot receive the market's fees",
    # -- tokens the market is paid in (ERC-20)
    "ERC20InsufficientBalance": _insufficient_balance,
    "ERC20InsufficientAllowance": (
        "{spender:party} may spend {allowance} of the token, and {needed} are needed: the payer "
        "approves more"
    ),
    "SafeERC20FailedOperation": "token {token} refused the transfer",
    "ReentrancyGuardReentrantCall": "a call re-entered the contract and was refused",
}

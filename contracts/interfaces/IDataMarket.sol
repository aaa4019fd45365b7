// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

import {ILicenseRegistry} from "./ILicenseRegistry.sol";

/**
 * @title IDataMarket
 * @notice Trading and settlement of data assets and of licenses to them, on the same record as
 * their registration.
 *
 * A holder lists an asset for sale or offers a license (kind, scope, duration) for sale, at a
 * price in the chain's native currency (`currency == address(0)`) or in an ERC-20 token the
 * admin has listed. An offer expires and can be cancelled. A buyer either pays the price, or
 * makes a counter-bid (escrowed in the market) that the holder may accept.
 *
 * A purchase is delivery versus payment: in one transaction the payment is taken and the asset
 * is transferred (through the registry's ERC-721 approval, so every transfer rule of the
 * registry applies: status, freezes, objections, participants, the cross-border grade rule and
 * export permits) or the license is granted (through the LicenseRegistry, with its rules);
 * if either fails, nothing happens. An asset offer is filled once; a license offer sells a new
 * license to every buyer until it expires or is cancelled.
 *
 * Money leaves the market only through {withdraw}: the seller's proceeds, the platform fee and
 * refunded bids are credited to their owners, who pull them. The platform fee is set by the
 * admin, capped at {MAX_FEE_BPS}, and fixed into each offer when it is made.
 *
 * Every offer, bid, cancellation, trade and withdrawal emits an event carrying all amounts.
 * The errors of ERC-6093 tokens ({IERC20Errors}) are declared here so that a failed payment
 * (an insufficient allowance or balance) is decoded from the market's ABI. A payment in a token
 * that delivers less than the amount sent (a fee on transfer) is refused; the admin lists only
 * standard tokens: one whose balances change by themselves (rebasing) would unbalance the
 * market's accounts.
 */
interface IDataMarket is IERC20Errors {
    /// @notice What an offer sells.
    enum OfferKind {
        None,
        Asset, // the asset itself (the ERC-721 token)
        License // a new license on the asset, for each buyer
    }

    /// @notice Where an offer stands. Expiry is read from `expiresAt`, not stored here.
    enum OfferStatus {
        None,
        Open,
        Cancelled,
        Filled // an asset offer that was bought or whose bid was accepted
    }

    /// @notice Where a bid stands.
    enum BidStatus {
        None,
        Open, // the amount is escrowed
        Cancelled, // the bidder took it back; the amount was credited to the bidder
        Accepted // the amount paid the seller
    }

    /// @notice A stored offer.
    struct Offer {
        address seller; // the holder when the offer was made
        uint40 expiresAt;
        OfferKind kind;
        OfferStatus status;
        uint8 licenseKind; // license offers: an {ILicenseRegistry-LicenseKind}
        uint16 feeBps; // the platform fee when the offer was made
        uint256 assetId;
        address currency; // address(0) for the native currency
        uint40 licenseDuration; // license offers: seconds from purchase to expiry
        uint128 price;
        uint128 minBid; // 0: no counter-bids
        bytes32 termsHash; // license offers: SHA-256 of the terms document
        string scope; // license offers: what the license covers
    }

    /// @notice A stored bid; its currency is its offer's.
    struct Bid {
        uint256 offerId;
        address bidder;
        uint40 expiresAt;
        BidStatus status;
        uint128 amount;
    }

    /// @notice `seller` offered `assetId` (kind Asset) or a license to it (kind License).
    /// License offers carry the license's kind, duration, terms hash and scope; asset offers zeros.
    event OfferCreated(
        uint256 indexed offerId,
        uint256 indexed assetId,
        address indexed seller,
        OfferKind kind,
        address currency,
        uint128 price,
        uint128 minBid,
        uint40 expiresAt,
        uint16 feeBps,
        ILicenseRegistry.LicenseKind licenseKind,
        uint40 licenseDuration,
        bytes32 termsHash,
        string scope
    );

    /// @notice The seller cancelled an offer.
    event OfferCancelled(uint256 indexed offerId, uint256 indexed assetId, address indexed seller);

    /// @notice `bidder` escrowed `amount` (in the offer's currency) as a counter-bid on `offerId`.
    event BidPlaced(
        uint256 indexed bidId,
        uint256 indexed offerId,
        address indexed bidder,
        uint256 assetId,
        address currency,
        uint128 amount,
        uint40 expiresAt
    );

    /// @notice The bidder withdrew a bid; `refund` was credited to the bidder.
    event BidCancelled(
        uint256 indexed bidId, uint256 indexed offerId, address indexed bidder, address currency, uint128 refund
    );

    /**
     * @notice A trade was settled: `buyer` paid `price` and received the asset (kind Asset) or
     * license `licenseId` (kind License). `bidId` is the accepted bid, 0 for a purchase at the
     * offer's price. Of the price, `fee` was credited to `feeRecipient` and the rest to `seller`.
     */
    event TradeSettled(
        uint256 indexed tradeId,
        uint256 indexed assetId,
        address indexed buyer,
        uint256 offerId,
        uint256 bidId,
        address seller,
        OfferKind kind,
        address currency,
        uint128 price,
        uint128 fee,
        address feeRecipient,
        uint256 licenseId
    );

    /// @notice `account` pulled `amount` of `currency` it was owed.
    event ProceedsWithdrawn(address indexed account, address indexed currency, uint256 amount);

    /// @notice The admin set the platform fee for offers made from now on.
    event FeeUpdated(address feeRecipient, uint16 feeBps, address indexed admin);

    /// @notice The admin listed or delisted an ERC-20 currency for new offers.
    event CurrencyListingChanged(address indexed currency, bool listed, address indexed admin);

    /// @dev A price of zero was given.
    error ZeroPrice();
    /// @dev The currency is neither the native currency nor a listed ERC-20 token.
    error UnknownCurrency(address currency);
    /// @dev The offer's or the bid's expiry is not after the current time.
    error ExpiryInPast(uint40 expiresAt, uint256 timestamp);
    /// @dev The minimum bid is above the price.
    error MinBidAbovePrice(uint128 minBid, uint128 price);
    /// @dev A license offer with a duration of zero.
    error ZeroLicenseDuration();
    /// @dev A license offer lasting longer than {MAX_LICENSE_DURATION}.
    error LicenseDurationTooLong(uint40 licenseDuration, uint40 maximum);
    /// @dev The market may not move the asset: its holder approved neither the token nor all tokens.
    error MarketNotApproved(uint256 assetId, address holder);
    /// @dev No offer has this id.
    error UnknownOffer(uint256 offerId);
    /// @dev The offer is cancelled or filled.
    error OfferNotOpen(uint256 offerId, OfferStatus status);
    /// @dev The offer expired.
    error OfferExpired(uint256 offerId, uint40 expiresAt);
    /// @dev Only the seller may cancel an offer or accept bids on it.
    error NotOfferSeller(uint256 offerId, address caller, address seller);
    /// @dev The asset changed holder since the offer was made; the offer can no longer fill.
    error AssetMovedSinceListing(uint256 offerId, address seller, address holder);
    /// @dev The seller tried to buy from, or bid on, its own offer.
    error BuyerIsSeller(uint256 offerId, address buyer);
    /// @dev The native value sent is not the amount due (for ERC-20 payments, nothing is due).
    error WrongPayment(uint256 expected, uint256 sent);
    /// @dev The market received less of the token than was paid (a fee-on-transfer token).
    error PaymentShortfall(address currency, uint256 expected, uint256 received);
    /// @dev The offer takes no counter-bids (its minimum bid is 0).
    error BidsNotAccepted(uint256 offerId);
    /// @dev The bid is below the offer's minimum.
    error BidBelowMinimum(uint256 offerId, uint128 amount, uint128 minimum);
    /// @dev No bid has this id.
    error UnknownBid(uint256 bidId);
    /// @dev The bid was cancelled or accepted.
    error BidNotOpen(uint256 bidId, BidStatus status);
    /// @dev The bid expired.
    error BidExpired(uint256 bidId, uint40 expiresAt);
    /// @dev Only the bidder may cancel a bid.
    error NotBidder(uint256 bidId, address caller, address bidder);
    /// @dev The account is owed nothing in this currency.
    error NothingToWithdraw(address account, address currency);
    /// @dev Sending the native currency to `account` failed.
    error NativeTransferFailed(address account, uint256 amount);
    /// @dev The fee is above {MAX_FEE_BPS}.
    error FeeAboveCap(uint16 feeBps, uint16 cap);
    /// @dev A non-zero fee needs a fee recipient.
    error InvalidFeeRecipient(address feeRecipient);
    /// @dev The zero address cannot be listed: it stands for the native currency.
    error InvalidCurrency(address currency);

    /**
     * @notice Lists `assetId` for sale.
     * @return offerId sequential, from 1.
     *
     * Requirements: registry not paused; the caller holds the asset, is an active participant
     * and has approved the market for the token (or for all tokens); the asset is neither
     * rejected, cancelled nor frozen; `currency` native or listed; `price` non-zero;
     * `minBid` at most `price`; `expiresAt` in the future.
     *
     * Emits {OfferCreated}.
     */
    function listAsset(uint256 assetId, address currency, uint128 price, uint128 minBid, uint40 expiresAt)
        external
        returns (uint256 offerId);

    /**
     * @notice Offers licenses of `licenseKind` on `assetId`, each lasting `licenseDuration`
     * seconds from its purchase.
     * @return offerId sequential, from 1 (one sequence with asset offers).
     *
     * Requirements: those of {listAsset} but the approval; `licenseKind` a valid
     * {ILicenseRegistry-LicenseKind}; `licenseDuration` non-zero and at most
     * {MAX_LICENSE_DURATION}; `termsHash` non-zero.
     *
     * Emits {OfferCreated}.
     */
    function offerLicense(
        uint256 assetId,
        uint8 licenseKind,
        uint40 licenseDuration,
        bytes32 termsHash,
        string calldata scope,
        address currency,
        uint128 price,
        uint128 minBid,
        uint40 expiresAt
    ) external returns (uint256 offerId);

    /**
     * @notice Cancels an open offer. Bids on it stay escrowed until their bidders cancel them.
     *
     * Requirements: the caller made the offer; the offer is open. Allowed while paused, so that
     * no seller has to race buyers when trading resumes.
     *
     * Emits {OfferCancelled}.
     */
    function cancelOffer(uint256 offerId) external;

    /**
     * @notice Buys from an offer at its price: native currency as `msg.value`, or an ERC-20
     * amount the caller has approved the market to take.
     * @return tradeId sequential, from 1.
     *
     * Requirements: registry not paused; the offer is open and unexpired; the seller still holds
     * the asset; the caller is not the seller; the payment is exact and arrives whole; the
     * registry's transfer rules (asset offers) or the license sale rules of
     * {ILicenseRegistry-grantFor} (license offers) allow the delivery.
     *
     * Emits {TradeSettled}, and the registry's or LicenseRegistry's events of the delivery.
     */
    function buy(uint256 offerId) external payable returns (uint256 tradeId);

    /**
     * @notice Makes a counter-bid of `amount` on an offer, escrowing it in the market.
     * @return bidId sequential, from 1.
     *
     * Requirements: registry not paused; the offer is open, unexpired and takes bids; the caller
     * is not the seller; `amount` at least the offer's minimum; `expiresAt` in the future; the
     * payment is exact (as in {buy}).
     *
     * Emits {BidPlaced}.
     */
    function bid(uint256 offerId, uint128 amount, uint40 expiresAt) external payable returns (uint256 bidId);

    /**
     * @notice Takes back an open bid: its amount is credited to the bidder, to withdraw.
     *
     * Requirements: the caller made the bid; the bid is open. Allowed while paused and after
     * the bid or its offer expired.
     *
     * Emits {BidCancelled}.
     */
    function cancelBid(uint256 bidId) external;

    /**
     * @notice The seller accepts a bid: the escrowed amount pays for the asset or license.
     * @return tradeId sequential, from 1.
     *
     * Requirements: registry not paused; the caller made the bid's offer; the offer and the
     * bid are open and unexpired; the seller still holds the asset; the delivery is allowed.
     *
     * Emits {TradeSettled}.
     */
    function acceptBid(uint256 bidId) external returns (uint256 tradeId);

    /**
     * @notice Sends the caller everything it is owed in `currency`.
     * @return amount what was sent.
     *
     * Requirements: something is owed. Allowed while paused.
     *
     * Emits {ProceedsWithdrawn}.
     */
    function withdraw(address currency) external returns (uint256 amount);

    /**
     * @notice Sets the platform fee for offers made from now on.
     *
     * Requirements: the caller is a registry admin; `feeBps` at most {MAX_FEE_BPS}; a non-zero
     * fee has a non-zero recipient.
     *
     * Emits {FeeUpdated}.
     */
    function setFee(address feeRecipient, uint16 feeBps) external;

    /**
     * @notice Lists or delists an ERC-20 token as a currency of new offers.
     *
     * Requirements: the caller is a registry admin; `currency` is not the zero address.
     *
     * Emits {CurrencyListingChanged}.
     */
    function setCurrencyListed(address currency, bool listed) external;

    /// @notice The stored offer (status None if unknown).
    function offerOf(uint256 offerId) external view returns (Offer memory);

    /// @notice The stored bid (status None if unknown).
    function bidOf(uint256 bidId) external view returns (Bid memory);

    /// @notice What `account` is owed in `currency` and may withdraw.
    function owedTo(address account, address currency) external view returns (uint256);

    /// @notice The fee recipient and the fee of new offers, in basis points.
    function fee() external view returns (address feeRecipient, uint16 feeBps);

    /// @notice Whether `currency` may be named in new offers.
    function isCurrencyListed(address currency) external view returns (bool);

    /// @notice Offers, bids and trades so far (the ids of the latest of each).
    function counts() external view returns (uint256 offers, uint256 bids, uint256 trades);
}

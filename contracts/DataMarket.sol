// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {IDataAssetRegistry} from "./interfaces/IDataAssetRegistry.sol";
import {IDataMarket} from "./interfaces/IDataMarket.sol";
import {ILicenseRegistry} from "./interfaces/ILicenseRegistry.sol";
import {Roles} from "./libraries/Roles.sol";
import {RegistryModule} from "./RegistryModule.sol";

/**
 * @title DataMarket
 * @notice Offers, counter-bids and atomic settlement of assets and licenses. See {IDataMarket}.
 */
contract DataMarket is IDataMarket, RegistryModule, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice The highest platform fee: 10%.
    uint16 public constant MAX_FEE_BPS = 1000;

    /// @notice The longest license an offer may sell: 100 years (a purchase's expiry then fits
    /// the 40-bit clock for thousands of years).
    uint40 public constant MAX_LICENSE_DURATION = 100 * 365 days;

    uint16 private constant _BPS = 10_000;
    uint8 private constant _MAX_LICENSE_KIND = uint8(ILicenseRegistry.LicenseKind.ProductOperation);

    /// @dev Grants the licenses sold; it trusts this market through the registry's MARKET_ROLE.
    ILicenseRegistry private immutable _licenses;

    /// @dev Offers by id, from 1. Slots: seller/expiry/kind/status/licenseKind/fee, asset,
    /// currency/duration, price/minBid, then the license terms.
    mapping(uint256 offerId => Offer) private _offers;
    /// @dev Bids by id, from 1. Slots: offer, bidder/expiry/status, amount.
    mapping(uint256 bidId => Bid) private _bids;
    /// @dev What each account may withdraw, per currency.
    mapping(address account => mapping(address currency => uint256 amount)) private _owed;
    /// @dev ERC-20 tokens that new offers may name.
    mapping(address currency => bool listed) private _listedCurrencies;
    /// @dev The platform fee's recipient and rate (one slot).
    address private _feeRecipient;
    uint16 private _feeBps;
    /// @dev The ids of the latest offer, bid and trade.
    uint256 private _offerCount;
    uint256 private _bidCount;
    uint256 private _tradeCount;

    /// @param registry_ the DataAssetRegistry.
    /// @param licenses_ the LicenseRegistry that grants the licenses sold here.
    constructor(address registry_, address licenses_) RegistryModule(registry_) {
        _licenses = ILicenseRegistry(licenses_);
    }

    // ------------------------------------------------------------------------------ offers

    /// @inheritdoc IDataMarket
    function listAsset(uint256 assetId, address currency, uint128 price, uint128 minBid, uint40 expiresAt)
        external
        whenRegistryNotPaused
        returns (uint256 offerId)
    {
        _checkSeller(assetId);
        IERC721 token = IERC721(address(_registry));
        if (token.getApproved(assetId) != address(this) && !token.isApprovedForAll(msg.sender, address(this))) {
            revert MarketNotApproved(assetId, msg.sender);
        }
        offerId = _createOffer(assetId, OfferKind.Asset, currency, price, minBid, expiresAt);
        _emitOfferCreated(offerId, _offers[offerId]);
    }

    /// @inheritdoc IDataMarket
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
    ) external whenRegistryNotPaused returns (uint256 offerId) {
        _checkSeller(assetId);
        if (licenseKind == uint8(ILicenseRegistry.LicenseKind.None) || licenseKind > _MAX_LICENSE_KIND) {
            revert ILicenseRegistry.InvalidLicenseKind(licenseKind);
        }
        if (licenseDuration == 0) revert ZeroLicenseDuration();
        if (licenseDuration > MAX_LICENSE_DURATION) {
            revert LicenseDurationTooLong(licenseDuration, MAX_LICENSE_DURATION);
        }
        if (termsHash == bytes32(0)) revert ILicenseRegistry.ZeroTermsHash();
        offerId = _createOffer(assetId, OfferKind.License, currency, price, minBid, expiresAt);
        Offer storage offer = _offers[offerId];
        offer.licenseKind = licenseKind;
        offer.licenseDuration = licenseDuration;
        offer.termsHash = termsHash;
        offer.scope = scope;
        _emitOfferCreated(offerId, offer);
    }

    /// @inheritdoc IDataMarket
    function cancelOffer(uint256 offerId) external {
        Offer storage offer = _offers[offerId];
        OfferStatus status = offer.status;
        if (status == OfferStatus.None) revert UnknownOffer(offerId);
        address seller = offer.seller;
        if (msg.sender != seller) revert NotOfferSeller(offerId, msg.sender, seller);
        if (status != OfferStatus.Open) revert OfferNotOpen(offerId, status);
        offer.status = OfferStatus.Cancelled;
        emit OfferCancelled(offerId, offer.assetId, seller);
    }

    // ------------------------------------------------------------------------------ trading

    /// @inheritdoc IDataMarket
    function buy(uint256 offerId) external payable nonReentrant whenRegistryNotPaused returns (uint256 tradeId) {
        Offer storage offer = _offerToTake(offerId);
        uint128 price = offer.price;
        _collect(offer.currency, price);
        tradeId = _settle(offerId, offer, 0, msg.sender, price);
    }

    /// @inheritdoc IDataMarket
    function bid(uint256 offerId, uint128 amount, uint40 expiresAt)
        external
        payable
        nonReentrant
        whenRegistryNotPaused
        returns (uint256 bidId)
    {
        Offer storage offer = _offerToTake(offerId);
        uint128 minimum = offer.minBid;
        if (minimum == 0) revert BidsNotAccepted(offerId);
        if (amount < minimum) revert BidBelowMinimum(offerId, amount, minimum);
        uint40 now_ = _now();
        if (expiresAt <= now_) revert ExpiryInPast(expiresAt, now_);
        bidId = ++_bidCount;
        _bids[bidId] =
            Bid({offerId: offerId, bidder: msg.sender, expiresAt: expiresAt, status: BidStatus.Open, amount: amount});
        address currency = offer.currency;
        emit BidPlaced(bidId, offerId, msg.sender, offer.assetId, currency, amount, expiresAt);
        _collect(currency, amount);
    }

    /// @inheritdoc IDataMarket
    function cancelBid(uint256 bidId) external {
        Bid storage stored = _bids[bidId];
        BidStatus status = stored.status;
        if (status == BidStatus.None) revert UnknownBid(bidId);
        address bidder = stored.bidder;
        if (msg.sender != bidder) revert NotBidder(bidId, msg.sender, bidder);
        if (status != BidStatus.Open) revert BidNotOpen(bidId, status);
        stored.status = BidStatus.Cancelled;
        uint256 offerId = stored.offerId;
        address currency = _offers[offerId].currency;
        uint128 amount = stored.amount;
        _owed[bidder][currency] += amount;
        emit BidCancelled(bidId, offerId, bidder, currency, amount);
    }

    /// @inheritdoc IDataMarket
    function acceptBid(uint256 bidId) external nonReentrant whenRegistryNotPaused returns (uint256 tradeId) {
        Bid storage stored = _bids[bidId];
        BidStatus status = stored.status;
        if (status == BidStatus.None) revert UnknownBid(bidId);
        uint256 offerId = stored.offerId;
        Offer storage offer = _liveOffer(offerId);
        if (msg.sender != offer.seller) revert NotOfferSeller(offerId, msg.sender, offer.seller);
        if (status != BidStatus.Open) revert BidNotOpen(bidId, status);
        uint40 expiresAt = stored.expiresAt;
        if (expiresAt <= _now()) revert BidExpired(bidId, expiresAt);
        stored.status = BidStatus.Accepted;
        tradeId = _settle(offerId, offer, bidId, stored.bidder, stored.amount);
    }

    /// @inheritdoc IDataMarket
    function withdraw(address currency) external nonReentrant returns (uint256 amount) {
        amount = _owed[msg.sender][currency];
        if (amount == 0) revert NothingToWithdraw(msg.sender, currency);
        _owed[msg.sender][currency] = 0;
        emit ProceedsWithdrawn(msg.sender, currency, amount);
        if (currency == address(0)) {
            (bool sent,) = msg.sender.call{value: amount}("");
            if (!sent) revert NativeTransferFailed(msg.sender, amount);
        } else {
            IERC20(currency).safeTransfer(msg.sender, amount);
        }
    }

    // ------------------------------------------------------------------------------ admin

    /// @inheritdoc IDataMarket
    function setFee(address feeRecipient, uint16 feeBps) external onlyRegistryRole(Roles.ADMIN) {
        if (feeBps > MAX_FEE_BPS) revert FeeAboveCap(feeBps, MAX_FEE_BPS);
        if (feeBps != 0 && feeRecipient == address(0)) revert InvalidFeeRecipient(feeRecipient);
        _feeRecipient = feeRecipient;
        _feeBps = feeBps;
        emit FeeUpdated(feeRecipient, feeBps, msg.sender);
    }

    /// @inheritdoc IDataMarket
    function setCurrencyListed(address currency, bool listed) external onlyRegistryRole(Roles.ADMIN) {
        if (currency == address(0)) revert InvalidCurrency(currency);
        _listedCurrencies[currency] = listed;
        emit CurrencyListingChanged(currency, listed, msg.sender);
    }

    // ------------------------------------------------------------------------------ views

    /// @inheritdoc IDataMarket
    function offerOf(uint256 offerId) external view returns (Offer memory) {
        return _offers[offerId];
    }

    /// @inheritdoc IDataMarket
    function bidOf(uint256 bidId) external view returns (Bid memory) {
        return _bids[bidId];
    }

    /// @inheritdoc IDataMarket
    function owedTo(address account, address currency) external view returns (uint256) {
        return _owed[account][currency];
    }

    /// @inheritdoc IDataMarket
    function fee() external view returns (address feeRecipient, uint16 feeBps) {
        return (_feeRecipient, _feeBps);
    }

    /// @inheritdoc IDataMarket
    function isCurrencyListed(address currency) external view returns (bool) {
        return currency == address(0) || _listedCurrencies[currency];
    }

    /// @inheritdoc IDataMarket
    function counts() external view returns (uint256 offers, uint256 bids, uint256 trades) {
        return (_offerCount, _bidCount, _tradeCount);
    }

    // ------------------------------------------------------------------------------ internals

    /// @dev The caller holds `assetId`, is active, and the asset may still be dealt in.
    function _checkSeller(uint256 assetId) private view {
        IDataAssetRegistry.Asset memory asset = _knownAsset(assetId);
        address holder = _holderOf(assetId);
        if (holder != msg.sender) revert IDataAssetRegistry.NotAssetHolder(assetId, msg.sender, holder);
        _requireModifiable(assetId, asset);
        if (asset.frozen) revert IDataAssetRegistry.AssetFrozen(assetId);
        _requireActive(msg.sender);
    }

    /// @dev Checks the terms every offer shares and stores them; the offer choke point.
    function _createOffer(
        uint256 assetId,
        OfferKind kind,
        address currency,
        uint128 price,
        uint128 minBid,
        uint40 expiresAt
    ) private returns (uint256 offerId) {
        if (currency != address(0) && !_listedCurrencies[currency]) revert UnknownCurrency(currency);
        if (price == 0) revert ZeroPrice();
        if (minBid > price) revert MinBidAbovePrice(minBid, price);
        uint40 now_ = _now();
        if (expiresAt <= now_) revert ExpiryInPast(expiresAt, now_);
        offerId = ++_offerCount;
        Offer storage offer = _offers[offerId];
        offer.seller = msg.sender;
        offer.expiresAt = expiresAt;
        offer.kind = kind;
        offer.status = OfferStatus.Open;
        offer.feeBps = _feeBps;
        offer.assetId = assetId;
        offer.currency = currency;
        offer.price = price;
        offer.minBid = minBid;
    }

    /// @dev Emits {OfferCreated} from the stored record.
    function _emitOfferCreated(uint256 offerId, Offer storage offer) private {
        emit OfferCreated(
            offerId,
            offer.assetId,
            offer.seller,
            offer.kind,
            offer.currency,
            offer.price,
            offer.minBid,
            offer.expiresAt,
            offer.feeBps,
            ILicenseRegistry.LicenseKind(offer.licenseKind),
            offer.licenseDuration,
            offer.termsHash,
            offer.scope
        );
    }

    /// @dev An open, unexpired offer whose seller still holds the asset.
    function _liveOffer(uint256 offerId) private view returns (Offer storage offer) {
        offer = _offers[offerId];
        OfferStatus status = offer.status;
        if (status == OfferStatus.None) revert UnknownOffer(offerId);
        if (status != OfferStatus.Open) revert OfferNotOpen(offerId, status);
        uint40 expiresAt = offer.expiresAt;
        if (expiresAt <= _now()) revert OfferExpired(offerId, expiresAt);
        address seller = offer.seller;
        address holder = _holderOf(offer.assetId);
        if (holder != seller) revert AssetMovedSinceListing(offerId, seller, holder);
    }

    /// @dev A live offer the caller may buy from or bid on: not its own.
    function _offerToTake(uint256 offerId) private view returns (Offer storage offer) {
        offer = _liveOffer(offerId);
        if (msg.sender == offer.seller) revert BuyerIsSeller(offerId, msg.sender);
    }

    /// @dev Takes `amount` from the caller: exactly `msg.value` in the native currency, or the
    /// ERC-20 amount through the caller's allowance (then no value may be sent), all of which
    /// must arrive.
    function _collect(address currency, uint256 amount) private {
        if (currency == address(0)) {
            if (msg.value != amount) revert WrongPayment(amount, msg.value);
        } else {
            if (msg.value != 0) revert WrongPayment(0, msg.value);
            IERC20 token = IERC20(currency);
            uint256 before = token.balanceOf(address(this));
            token.safeTransferFrom(msg.sender, address(this), amount);
            uint256 received = token.balanceOf(address(this)) - before;
            if (received != amount) revert PaymentShortfall(currency, amount, received);
        }
    }

    /// @dev One trade while it is settled: kept in memory so that the event reads one pointer.
    struct Trade {
        uint256 tradeId;
        uint256 offerId;
        uint256 bidId;
        uint256 assetId;
        address buyer;
        address seller;
        address currency;
        uint128 price;
        uint128 fee;
        address feeRecipient;
        uint256 licenseId;
        OfferKind kind;
    }

    /**
     * @dev The trade choke point: credits the seller and the fee recipient, delivers the asset or
     * the license to `buyer`, emits {TradeSettled}. The payment is already held by the market.
     */
    function _settle(uint256 offerId, Offer storage offer, uint256 bidId, address buyer, uint128 price)
        private
        returns (uint256 tradeId)
    {
        tradeId = ++_tradeCount;
        Trade memory trade = Trade({
            tradeId: tradeId,
            offerId: offerId,
            bidId: bidId,
            assetId: offer.assetId,
            buyer: buyer,
            seller: offer.seller,
            currency: offer.currency,
            price: price,
            fee: 0,
            feeRecipient: _feeRecipient,
            licenseId: 0,
            kind: offer.kind
        });
        // The rate is the offer's; with no recipient set now (fees switched off), nothing is taken.
        if (trade.feeRecipient != address(0)) trade.fee = uint128((uint256(price) * offer.feeBps) / _BPS);
        if (trade.fee == 0) trade.feeRecipient = address(0);
        else _owed[trade.feeRecipient][trade.currency] += trade.fee;
        _owed[trade.seller][trade.currency] += price - trade.fee;
        if (trade.kind == OfferKind.Asset) {
            offer.status = OfferStatus.Filled;
            IERC721(address(_registry)).transferFrom(trade.seller, buyer, trade.assetId);
        } else {
            trade.licenseId = _licenses.grantFor(
                trade.assetId,
                trade.seller,
                buyer,
                offer.licenseKind,
                _now() + offer.licenseDuration,
                offer.termsHash,
                offer.scope
            );
        }
        emit TradeSettled(
            tradeId,
            trade.assetId,
            buyer,
            offerId,
            bidId,
            trade.seller,
            trade.kind,
            trade.currency,
            price,
            trade.fee,
            trade.feeRecipient,
            trade.licenseId
        );
    }
}

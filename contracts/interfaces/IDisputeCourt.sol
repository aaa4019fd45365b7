// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IDisputeCourt
 * @notice Disputes over data assets. Anyone opens a dispute with an evidence hash; an arbiter
 * freezes the asset, then rules: dismiss (the freeze lifts), transfer the asset to the claimant,
 * or cancel the asset. While any dispute holds it frozen, the asset cannot move, change or be
 * licensed.
 */
interface IDisputeCourt {
    /// @notice Where a dispute stands.
    enum DisputeStatus {
        None,
        Open, // lodged, asset not frozen by it
        Frozen, // an arbiter froze the asset
        Ruled // closed by a ruling
    }

    /// @notice The rulings an arbiter can give.
    enum Ruling {
        None,
        Dismiss,
        TransferToClaimant,
        CancelAsset
    }

    /// @notice A stored dispute.
    struct Dispute {
        uint256 assetId;
        address claimant;
        uint40 openedAt;
        DisputeStatus status;
        Ruling ruling;
        bytes32 evidenceHash; // SHA-256 of the claimant's evidence
        bytes32 rulingHash; // SHA-256 of the written ruling, 0 until ruled
    }

    /// @notice `claimant` opened a dispute over `assetId`.
    event DisputeOpened(
        uint256 indexed disputeId, uint256 indexed assetId, address indexed claimant, bytes32 evidenceHash
    );

    /// @notice An arbiter froze the asset of a dispute.
    event DisputeFrozen(uint256 indexed disputeId, uint256 indexed assetId, address indexed arbiter);

    /// @notice An arbiter ruled on a dispute, closing it.
    event DisputeRuled(
        uint256 indexed disputeId,
        uint256 indexed assetId,
        Ruling ruling,
        bytes32 rulingHash,
        address indexed arbiter
    );

    /// @dev An evidence or ruling hash of zero was given.
    error ZeroDocumentHash();
    /// @dev No dispute has this id.
    error UnknownDispute(uint256 disputeId);
    /// @dev The dispute was already ruled on.
    error DisputeClosed(uint256 disputeId);
    /// @dev The dispute's asset is already frozen by it.
    error DisputeAlreadyFrozen(uint256 disputeId);
    /// @dev An arbiter must freeze the asset before ruling.
    error DisputeNotFrozen(uint256 disputeId);
    /// @dev The ruling is not Dismiss, TransferToClaimant or CancelAsset.
    error InvalidRuling(uint8 ruling);

    /**
     * @notice Opens a dispute over an asset. Anyone may.
     * @return disputeId sequential, from 1.
     *
     * Requirements: not paused; the asset exists and is not cancelled; `evidenceHash` non-zero.
     *
     * Emits {DisputeOpened}.
     */
    function open(uint256 assetId, bytes32 evidenceHash) external returns (uint256 disputeId);

    /**
     * @notice Freezes the asset of an open dispute.
     *
     * Requirements: caller has ARBITER_ROLE in the registry; not paused; the dispute is Open.
     *
     * Emits {DisputeFrozen}; the first freeze of the asset emits the registry's
     * {AssetRestrictionsChanged}.
     */
    function freeze(uint256 disputeId) external;

    /**
     * @notice Rules on a frozen dispute and closes it.
     *
     * Requirements: caller has ARBITER_ROLE; not paused; the dispute is Frozen; `ruling` valid;
     * `rulingHash` non-zero; for TransferToClaimant the registry's transfer rules for the
     * claimant hold.
     *
     * Emits {DisputeRuled}, and through the registry: {AssetRestrictionsChanged} when the last
     * freeze lifts, {IERC721-Transfer} for TransferToClaimant, {AssetStatusChanged} for
     * CancelAsset.
     */
    function rule(uint256 disputeId, uint8 ruling, bytes32 rulingHash) external;

    /// @notice The stored dispute (assetId 0 if unknown).
    function disputeOf(uint256 disputeId) external view returns (Dispute memory);

    /// @notice How many disputes hold `assetId` frozen now.
    function freezeCount(uint256 assetId) external view returns (uint256);

    /// @notice The number of disputes opened so far (the latest id).
    function disputeCount() external view returns (uint256);
}

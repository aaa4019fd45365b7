// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IAppraisalRegistry
 * @notice Valuations of data assets recorded by appraisers. The latest appraisal of an asset
 * supersedes the earlier ones; all are kept.
 */
interface IAppraisalRegistry {
    /// @notice The valuation methods of asset appraisal practice.
    enum ValuationMethod {
        None,
        Cost,
        Income,
        Market
    }

    /// @notice A stored appraisal.
    struct Appraisal {
        uint256 assetId;
        uint256 amount; // in the currency's minor unit (e.g. fen for CNY)
        bytes3 currency; // ISO 4217 alphabetic code, e.g. "CNY"
        ValuationMethod method;
        uint40 appraisedAt;
        address appraiser;
        uint256 supersedes; // the appraisal this one replaces, 0 for the first
        bytes32 reportHash; // SHA-256 of the appraisal report
    }

    /// @notice An appraiser recorded a valuation; it supersedes appraisal `supersedes` (0: none).
    event AppraisalRecorded(
        uint256 indexed appraisalId,
        uint256 indexed assetId,
        address indexed appraiser,
        uint256 amount,
        bytes3 currency,
        ValuationMethod method,
        bytes32 reportHash,
        uint256 supersedes
    );

    /// @dev The amount is zero.
    error ZeroValuation();
    /// @dev The currency is not three upper-case letters.
    error InvalidCurrency(bytes3 currency);
    /// @dev The method is not Cost, Income or Market.
    error InvalidValuationMethod(uint8 method);
    /// @dev A report hash of zero was given.
    error ZeroReportHash();

    /**
     * @notice Records a valuation of an asset.
     * @return appraisalId sequential, from 1.
     *
     * Requirements: caller has APPRAISER_ROLE in the registry; not paused; the asset exists
     * and is neither rejected nor cancelled; amount non-zero; currency valid; method valid;
     * report hash non-zero.
     *
     * Emits {AppraisalRecorded}.
     */
    function appraise(
        uint256 assetId,
        uint256 amount,
        bytes3 currency,
        uint8 method,
        bytes32 reportHash
    ) external returns (uint256 appraisalId);

    /// @notice The stored appraisal (assetId 0 if unknown).
    function appraisalOf(uint256 appraisalId) external view returns (Appraisal memory);

    /// @notice The id of the current (latest) appraisal of `assetId`, 0 if none.
    function currentAppraisalOf(uint256 assetId) external view returns (uint256);

    /// @notice The number of appraisals recorded so far (the latest id).
    function appraisalCount() external view returns (uint256);
}

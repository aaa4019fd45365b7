// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title ILicenseRegistry
 * @notice Usage rights granted by the holder of an asset: a processing/use license (the right to
 * process the data and to derive new assets from it) or a product-operation license (the right
 * to operate a data product built on it). The holding right itself is the ERC-721 holder.
 *
 * A license is valid at time `t` when it was granted at or before `t`, expires after `t` and
 * was not revoked at or before `t`. It stays valid when the asset changes holder; the current
 * holder may revoke it.
 */
interface ILicenseRegistry {
    /// @notice The kinds of license.
    enum LicenseKind {
        None,
        ProcessingUse,
        ProductOperation
    }

    /// @notice A stored license. `revokedAt` is 0 while not revoked.
    struct License {
        uint256 assetId;
        address licensor; // the holder who granted it
        uint40 grantedAt;
        uint40 expiresAt;
        uint40 revokedAt;
        LicenseKind kind;
        address licensee;
        bytes32 termsHash; // SHA-256 of the license terms document
    }

    /// @notice The holder of `assetId` granted license `licenseId`. `scope` says what it covers.
    event LicenseGranted(
        uint256 indexed licenseId,
        uint256 indexed assetId,
        address indexed licensee,
        address licensor,
        LicenseKind kind,
        uint40 expiresAt,
        bytes32 termsHash,
        string scope
    );

    /// @notice A license was revoked by the holder of its asset.
    event LicenseRevoked(
        uint256 indexed licenseId, uint256 indexed assetId, address indexed holder, bytes32 reasonHash
    );

    /// @dev The kind is not ProcessingUse or ProductOperation.
    error InvalidLicenseKind(uint8 kind);
    /// @dev The licensee is the zero address or the holder itself.
    error InvalidLicensee(address licensee);
    /// @dev The expiry is not after the current time.
    error LicenseExpiryInPast(uint40 expiresAt, uint256 timestamp);
    /// @dev A terms hash of zero was given.
    error ZeroTermsHash();
    /// @dev No license has this id.
    error UnknownLicense(uint256 licenseId);
    /// @dev The license is already revoked.
    error LicenseAlreadyRevoked(uint256 licenseId, uint40 revokedAt);
    /// @dev The license has already expired.
    error LicenseAlreadyExpired(uint256 licenseId, uint40 expiresAt);
    /// @dev The license was sold through the market: paid for, it lasts until it expires.
    error SoldLicenseNotRevocable(uint256 licenseId);

    /**
     * @notice Grants a license on an asset the caller holds.
     * @return licenseId sequential, from 1.
     *
     * Requirements: not paused; caller holds the asset and is an active participant; the asset
     * is neither rejected, cancelled nor frozen; `licensee` is an active participant other
     * than the caller; `kind` valid; `expiresAt` in the future; `termsHash` non-zero.
     *
     * Emits {LicenseGranted}.
     */
    function grant(
        uint256 assetId,
        address licensee,
        uint8 kind,
        uint40 expiresAt,
        bytes32 termsHash,
        string calldata scope
    ) external returns (uint256 licenseId);

    /**
     * @notice Grants a license on behalf of `licensor`, the asset's holder: how the DataMarket
     * delivers a license it sold. A sale follows the rules of {grant} and those of a transfer:
     * the asset may not be under objection, and to a licensee in another jurisdiction grade 3
     * data is refused and grade 2 data needs an export permit for the licensee, which the sale
     * consumes. A sold license cannot be revoked by the holder: it lasts until it expires.
     * @return licenseId sequential, from 1.
     *
     * Requirements: the caller has the registry's MARKET_ROLE; those of {grant}, with
     * `licensor` in place of the caller; the asset not under objection; the cross-border rule.
     *
     * Emits {LicenseGranted}, and {IExportControl-ExportPermitUsed} when a permit is used.
     */
    function grantFor(
        uint256 assetId,
        address licensor,
        address licensee,
        uint8 kind,
        uint40 expiresAt,
        bytes32 termsHash,
        string calldata scope
    ) external returns (uint256 licenseId);

    /**
     * @notice Revokes a license.
     *
     * Requirements: not paused; caller holds the asset now; the license was not sold through
     * the market; it is neither revoked nor expired.
     *
     * Emits {LicenseRevoked}.
     */
    function revoke(uint256 licenseId, bytes32 reasonHash) external;

    /// @notice The stored license (assetId 0 if unknown).
    function licenseOf(uint256 licenseId) external view returns (License memory);

    /// @notice Whether license `licenseId` is valid at unix time `timestamp`.
    function isValidAt(uint256 licenseId, uint256 timestamp) external view returns (bool);

    /**
     * @notice A license of `kind` on `assetId` held by `licensee` and valid at `timestamp`,
     * or 0 if there is none. When several are valid, the earliest granted is returned.
     */
    function validLicenseOf(uint256 assetId, address licensee, uint8 kind, uint256 timestamp)
        external
        view
        returns (uint256 licenseId);

    /// @notice Every license ever granted on `assetId` to `licensee`, in grant order.
    function licensesOf(uint256 assetId, address licensee) external view returns (uint256[] memory);

    /// @notice Whether license `licenseId` was sold through the market (and so is not revocable).
    function isSold(uint256 licenseId) external view returns (bool);

    /// @notice The number of licenses granted so far (the id of the latest).
    function licenseCount() external view returns (uint256);
}

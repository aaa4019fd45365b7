// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IExportControl
 * @notice Export permits for cross-border transfers of important data (grade 2).
 *
 * A transfer between participants of different jurisdictions is free for grade 1, refused for
 * grade 3, and for grade 2 needs an unexpired, unused, unrevoked permit issued by an export
 * approver for that asset and that recipient. A permit is consumed by the transfer it allows.
 */
interface IExportControl {
    /// @notice A stored permit.
    struct ExportPermit {
        bytes2 destination; // the recipient's jurisdiction when the permit was issued
        uint40 issuedAt;
        uint40 expiresAt;
        bool used;
        bool revoked;
        address approver;
    }

    /// @notice An export approver allowed `assetId` to be transferred to `recipient` abroad.
    event ExportPermitIssued(
        uint256 indexed assetId,
        address indexed recipient,
        bytes2 destination,
        uint40 expiresAt,
        address indexed approver
    );

    /// @notice An export approver withdrew a permit before it was used.
    event ExportPermitRevoked(uint256 indexed assetId, address indexed recipient, address indexed approver);

    /// @notice A permit was consumed by the transfer of `assetId` from `from` to `recipient`.
    event ExportPermitUsed(uint256 indexed assetId, address indexed recipient, address indexed from);

    /// @dev Export permits exist for grade 2 only: grade 1 needs none, grade 3 may not leave.
    error ExportPermitNotApplicable(uint256 assetId, uint8 grade);
    /// @dev The expiry is not after the current time.
    error PermitExpiryInPast(uint40 expiresAt, uint256 timestamp);
    /// @dev No usable permit exists for this asset and recipient.
    error ExportPermitMissing(uint256 assetId, address recipient);
    /// @dev The permit expired.
    error ExportPermitExpired(uint256 assetId, address recipient, uint40 expiresAt);
    /// @dev The recipient's jurisdiction is not the one the permit was issued for.
    error ExportPermitDestinationMismatch(
        uint256 assetId, address recipient, bytes2 permitted, bytes2 actual
    );
    /// @dev Only the registry (transfers) and its LicenseRegistry (license sales) consume permits.
    error CallerNotRegistry(address caller);

    /**
     * @notice Issues (or replaces) the permit for `assetId` to `recipient`.
     *
     * Requirements: caller has EXPORT_APPROVER_ROLE in the registry; not paused; the asset
     * exists and is grade 2; `recipient` is an active participant; `expiresAt` in the future.
     *
     * Emits {ExportPermitIssued}.
     */
    function issuePermit(uint256 assetId, address recipient, uint40 expiresAt) external;

    /**
     * @notice Withdraws an unused permit.
     *
     * Requirements: caller has EXPORT_APPROVER_ROLE; not paused; a permit exists and is
     * neither used nor revoked.
     *
     * Emits {ExportPermitRevoked}.
     */
    function revokePermit(uint256 assetId, address recipient) external;

    /**
     * @notice Checks and consumes the permit for a cross-border transfer, or for a license sold
     * through the market to a licensee abroad.
     *
     * Requirements: caller is the registry or the LicenseRegistry the registry names; a permit
     * exists for `assetId` and `recipient`,
     * unused, unrevoked, unexpired, issued for `destination`.
     *
     * Emits {ExportPermitUsed}.
     */
    function consumePermit(uint256 assetId, address from, address recipient, bytes2 destination)
        external;

    /// @notice The stored permit for `assetId` and `recipient` (issuedAt 0 if none).
    function permitOf(uint256 assetId, address recipient) external view returns (ExportPermit memory);
}

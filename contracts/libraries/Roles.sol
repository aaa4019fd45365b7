// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title Roles
 * @notice The role identifiers of provledger. Roles are held in the DataAssetRegistry's
 * AccessControl; every module asks the registry, so an authority is granted once.
 */
library Roles {
    /// @dev AccessControl's DEFAULT_ADMIN_ROLE: categories, modules, pause, notice period, roles.
    bytes32 internal constant ADMIN = 0x00;
    /// @dev Registration centre: participants, review, objections, certificates.
    bytes32 internal constant REGISTRAR = keccak256("REGISTRAR_ROLE");
    /// @dev Appraisers record valuations.
    bytes32 internal constant APPRAISER = keccak256("APPRAISER_ROLE");
    /// @dev Arbiters freeze disputed assets and rule on disputes.
    bytes32 internal constant ARBITER = keccak256("ARBITER_ROLE");
    /// @dev Export approvers issue and revoke export permits.
    bytes32 internal constant EXPORT_APPROVER = keccak256("EXPORT_APPROVER_ROLE");
    /// @dev Held by the RegistrationOffice contract: sets status and the objection flag.
    bytes32 internal constant OFFICE = keccak256("OFFICE_ROLE");
    /// @dev Held by the DisputeCourt contract: freezes, transfers and cancels by ruling.
    bytes32 internal constant COURT = keccak256("COURT_ROLE");
    /// @dev Held by the BatchAnchor contract: registers promoted leaves.
    bytes32 internal constant ANCHOR = keccak256("ANCHOR_ROLE");
    /// @dev Held by the DataMarket contract: grants the licenses it sells, for their holder.
    bytes32 internal constant MARKET = keccak256("MARKET_ROLE");
}

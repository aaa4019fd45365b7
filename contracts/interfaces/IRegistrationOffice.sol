// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IDataAssetRegistry} from "./IDataAssetRegistry.sol";

/**
 * @title IRegistrationOffice
 * @notice The registration centre's procedure: review, public notice, objections and
 * certificates.
 *
 * A registrar accepts an applied asset (a public notice period starts) or rejects it with a
 * reason. During the notice period anyone may lodge an objection; a registrar resolves it,
 * and an upheld objection rejects the registration. After the notice period, with no open
 * objection, a registrar certifies the asset: it receives the next sequential registration
 * number and a certificate hash. Later registrations of the same asset (license, transfer,
 * change, cancellation, objection) receive certificates of their own from the same sequence.
 */
interface IRegistrationOffice {
    /// @notice The registration types of the registration-centre rules.
    enum RegistrationType {
        None,
        Initial,
        License,
        Transfer,
        Change,
        Cancellation,
        Objection
    }

    /// @notice An objection lodged during a notice period.
    struct Objection {
        uint256 assetId;
        address objector;
        uint40 lodgedAt;
        bool open;
        bool upheld;
        bytes32 groundsHash; // SHA-256 of the objection's grounds document
    }

    /// @notice A certificate issued by a registrar.
    struct Certificate {
        uint256 assetId;
        RegistrationType registrationType;
        uint40 issuedAt;
        address registrar;
        bytes32 certificateHash; // SHA-256 of the certificate document
    }

    /// @notice The notice period for future acceptances changed.
    event NoticePeriodChanged(uint40 previousPeriod, uint40 newPeriod, address indexed admin);

    /// @notice A registrar accepted the application; the public notice runs until `noticeEndsAt`.
    event RegistrationAccepted(uint256 indexed assetId, uint40 noticeEndsAt, address indexed registrar);

    /// @notice A registrar rejected the application.
    event RegistrationRejected(uint256 indexed assetId, bytes32 reasonHash, address indexed registrar);

    /// @notice Someone objected to a registration under public notice.
    event ObjectionLodged(
        uint256 indexed objectionId, uint256 indexed assetId, address indexed objector, bytes32 groundsHash
    );

    /// @notice A registrar resolved an objection; an upheld objection rejects the registration.
    event ObjectionResolved(
        uint256 indexed objectionId,
        uint256 indexed assetId,
        bool upheld,
        bytes32 reasonHash,
        address indexed registrar
    );

    /// @notice A registrar issued certificate number `registrationNumber`.
    event CertificateIssued(
        uint256 indexed registrationNumber,
        uint256 indexed assetId,
        RegistrationType registrationType,
        bytes32 certificateHash,
        address indexed registrar
    );

    /// @dev The notice period is zero or longer than the maximum.
    error InvalidNoticePeriod(uint40 period, uint40 max);
    /// @dev The asset is not in the status this step needs.
    error UnexpectedStatus(
        uint256 assetId, IDataAssetRegistry.AssetStatus status, IDataAssetRegistry.AssetStatus expected
    );
    /// @dev The notice period ended at `noticeEndsAt`; objections are closed.
    error NoticePeriodOver(uint256 assetId, uint40 noticeEndsAt);
    /// @dev The notice period runs until `noticeEndsAt`; the asset cannot be certified yet.
    error NoticePeriodNotOver(uint256 assetId, uint40 noticeEndsAt);
    /// @dev Open objections stop the certificate.
    error OpenObjections(uint256 assetId, uint256 count);
    /// @dev A grounds, reason or certificate hash of zero was given.
    error ZeroDocumentHash();
    /// @dev No objection has this id.
    error UnknownObjection(uint256 objectionId);
    /// @dev The objection was already resolved.
    error ObjectionAlreadyResolved(uint256 objectionId);
    /// @dev The registration type is not one of Initial..Objection.
    error InvalidRegistrationType(uint8 registrationType);
    /// @dev A registration of this type needs the initial certificate first.
    error NotInitiallyCertified(uint256 assetId);
    /// @dev The asset already has its initial certificate.
    error AlreadyCertified(uint256 assetId, uint256 registrationNumber);

    /**
     * @notice Sets the notice period for future acceptances.
     *
     * Requirements: caller has DEFAULT_ADMIN_ROLE in the registry; 0 < period <= 365 days.
     *
     * Emits {NoticePeriodChanged}.
     */
    function setNoticePeriod(uint40 period) external;

    /**
     * @notice Accepts an application and starts its public notice.
     *
     * Requirements: caller has REGISTRAR_ROLE; not paused; the asset is Applied.
     *
     * Emits {RegistrationAccepted} and the registry's {AssetStatusChanged}.
     */
    function accept(uint256 assetId) external;

    /**
     * @notice Rejects an application.
     *
     * Requirements: caller has REGISTRAR_ROLE; not paused; the asset is Applied;
     * `reasonHash` non-zero.
     *
     * Emits {RegistrationRejected} and the registry's {AssetStatusChanged}.
     */
    function reject(uint256 assetId, bytes32 reasonHash) external;

    /**
     * @notice Lodges an objection against a registration under public notice. Anyone may.
     * @return objectionId sequential, from 1.
     *
     * Requirements: not paused; the asset is Noticed and its notice period has not ended;
     * `groundsHash` non-zero.
     *
     * Emits {ObjectionLodged}; the first open objection emits the registry's
     * {AssetRestrictionsChanged}.
     */
    function object(uint256 assetId, bytes32 groundsHash) external returns (uint256 objectionId);

    /**
     * @notice Resolves an objection. Upholding it rejects a registration still under notice.
     *
     * Requirements: caller has REGISTRAR_ROLE; not paused; the objection is open;
     * `reasonHash` non-zero.
     *
     * Emits {ObjectionResolved}; the last open objection emits the registry's
     * {AssetRestrictionsChanged}; an upheld one the registry's {AssetStatusChanged}.
     */
    function resolveObjection(uint256 objectionId, bool upheld, bytes32 reasonHash) external;

    /**
     * @notice Issues a certificate with the next registration number.
     * @return registrationNumber sequential, from 1.
     *
     * Requirements: caller has REGISTRAR_ROLE; not paused; `certificateHash` non-zero; for
     * Initial: the asset is Noticed, its notice period is over and no objection is open (the
     * asset becomes Certified); for License, Transfer, Change and Objection: the asset is
     * Certified; for Cancellation: the asset was certified and is now Cancelled.
     *
     * Emits {CertificateIssued}; for Initial the registry's {AssetStatusChanged}.
     */
    function certify(uint256 assetId, uint8 registrationType, bytes32 certificateHash)
        external
        returns (uint256 registrationNumber);

    /// @notice The notice period applied by {accept}, in seconds.
    function noticePeriod() external view returns (uint40);

    /// @notice When the public notice of `assetId` ends (0 if never accepted).
    function noticeEndsAt(uint256 assetId) external view returns (uint40);

    /// @notice The number of open objections against `assetId`.
    function openObjectionCount(uint256 assetId) external view returns (uint256);

    /// @notice The stored objection (assetId 0 if unknown).
    function objectionOf(uint256 objectionId) external view returns (Objection memory);

    /// @notice The stored certificate (assetId 0 if unknown).
    function certificateOf(uint256 registrationNumber) external view returns (Certificate memory);

    /// @notice The registration number of the initial certificate of `assetId` (0 if none).
    function initialRegistrationNumberOf(uint256 assetId) external view returns (uint256);

    /// @notice The number of certificates issued so far (the latest registration number).
    function certificateCount() external view returns (uint256);

    /// @notice The number of objections lodged so far (the latest objection id).
    function objectionCount() external view returns (uint256);
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IDataAssetRegistry
 * @notice The system of record for data assets: participants, categories, registrations,
 * lineage, metadata revisions, status and the rules on transfers.
 *
 * An asset is one piece of content identified by its SHA-256 content hash (a file's bytes, or
 * the Merkle root of a dataset folder). It is an ERC-721 token whose id is
 * `uint256(keccak256(abi.encode(ASSET_ID_DOMAIN, contentHash)))`, so anyone can compute it
 * offline. A content hash is registered once: the first registration is the priority claim.
 *
 * Review, objections and certificates live in the RegistrationOffice, licenses in the
 * LicenseRegistry, disputes in the DisputeCourt, batch anchors in the BatchAnchor and export
 * permits in the ExportControl. This registry trusts them through roles (`OFFICE_ROLE`,
 * `COURT_ROLE`, `ANCHOR_ROLE`) and holds the state those modules change, so that a transfer
 * is checked against one storage slot.
 *
 * Every state change emits an event that carries everything an indexer needs to rebuild it.
 */
interface IDataAssetRegistry {
    /// @notice Where an asset stands in the registration process.
    enum AssetStatus {
        None, // not registered
        Applied, // registered, waiting for review
        Noticed, // accepted by a registrar, public notice period running
        Certified, // certificate issued
        Rejected, // refused by a registrar; the record stays, the asset cannot move
        Cancelled // cancelled by the holder or an arbiter; the record stays, the asset cannot move
    }

    /// @notice How a derived asset relates to one of its parents.
    enum Relation {
        None,
        DerivedFrom, // processed, cleaned or transformed from the parent
        VersionOf, // a new version of the parent
        AggregateOf // the parent is one input of an aggregate
    }

    /// @notice How an asset reached the registry.
    enum Channel {
        Direct, // the registrant sent the transaction
        Signed, // the registrant signed off-chain (EIP-712); anyone relayed it
        Batch // promoted from a leaf of an anchored batch
    }

    /// @notice Whether a participant may act in the registry.
    enum ParticipantStatus {
        None,
        Active,
        Suspended
    }

    /// @notice A parent of an asset being registered.
    struct ParentLink {
        uint256 parentId; // asset id of the parent
        uint8 relation; // a {Relation} other than None
    }

    /// @notice What a registrant registers.
    struct Registration {
        bytes32 contentHash; // SHA-256 of the file, or the folder Merkle root
        string metadataURI; // where the metadata document lives
        bytes32 metadataHash; // SHA-256 of the metadata document
        uint16 category; // a code from the published category list
        uint8 grade; // 1 general, 2 important, 3 core
        ParentLink[] parents; // lineage; may be empty
    }

    /// @notice A registration signed off-chain by its registrant (EIP-712), relayed by anyone.
    struct SignedRegistration {
        Registration registration;
        address registrant; // the signer, who becomes registrant and holder
        uint256 nonce; // must equal {nonces}(registrant)
        uint256 deadline; // unix time after which the signature is void
        bytes signature; // 65-byte ECDSA signature over the EIP-712 digest
    }

    /// @notice The record of an asset as {assetOf} returns it (stored packed in one slot).
    struct Asset {
        address registrant;
        uint40 registeredAt;
        uint16 category;
        uint8 grade;
        AssetStatus status;
        bool underObjection; // at least one objection is open (RegistrationOffice)
        bool frozen; // at least one dispute has frozen it (DisputeCourt)
        uint16 metadataVersion; // 1 at registration, +1 per revision
    }

    /// @notice The stored record of a participant.
    struct Participant {
        bytes2 jurisdiction; // ISO 3166-1 alpha-2 code, e.g. "CN", "HK"
        ParticipantStatus status;
        uint40 registeredAt;
        bytes32 nameHash; // SHA-256 of the participant's legal name document
    }

    // ---------------------------------------------------------------- events

    /// @notice A participant was registered by an authority.
    event ParticipantRegistered(
        address indexed account, bytes2 jurisdiction, bytes32 nameHash, address indexed registrar
    );

    /// @notice A participant was suspended; it can no longer register, send or receive assets.
    event ParticipantSuspended(address indexed account, bytes32 reasonHash, address indexed registrar);

    /// @notice A suspended participant was reinstated.
    event ParticipantReinstated(address indexed account, address indexed registrar);

    /// @notice A category code was added to or removed from the published list.
    event CategoryListingChanged(uint16 indexed category, bool listed, address indexed admin);

    /// @notice The module contracts the registry calls were set.
    event ModulesUpdated(address licenseRegistry, address exportControl, address indexed admin);

    /// @notice The base of every token URI was set.
    event BaseURIUpdated(string baseURI, address indexed admin);

    /**
     * @notice An asset was registered. Its status is Applied, its metadata version 1 and its
     * holder the registrant (the ERC-721 {Transfer} from the zero address follows).
     * @param submitter the account that sent the transaction: the registrant, a relayer, or
     * the BatchAnchor for a promoted leaf.
     */
    event AssetRegistered(
        uint256 indexed assetId,
        address indexed registrant,
        bytes32 indexed contentHash,
        uint16 category,
        uint8 grade,
        bytes32 metadataHash,
        string metadataURI,
        Channel channel,
        address submitter
    );

    /**
     * @notice A registered asset names `parentId` as a parent.
     * @param licenseId the processing license the registrant relied on, 0 if it held the parent.
     */
    event LineageLinked(
        uint256 indexed assetId, uint256 indexed parentId, Relation relation, uint256 licenseId
    );

    /// @notice The holder revised the metadata; `version` counts from 1 at registration.
    event MetadataUpdated(
        uint256 indexed assetId,
        uint16 version,
        bytes32 metadataHash,
        string metadataURI,
        address indexed holder
    );

    /// @notice The status of an asset changed; `actor` is the account that caused it.
    event AssetStatusChanged(
        uint256 indexed assetId,
        AssetStatus previousStatus,
        AssetStatus newStatus,
        bytes32 reasonHash,
        address indexed actor
    );

    /// @notice The objection or freeze flags of an asset changed; both current values are given.
    event AssetRestrictionsChanged(uint256 indexed assetId, bool underObjection, bool frozen);

    // ---------------------------------------------------------------- errors

    /// @dev A content hash of zero was given.
    error ZeroContentHash();
    /// @dev An empty metadata URI was given.
    error EmptyMetadataURI();
    /// @dev A metadata hash of zero was given.
    error ZeroMetadataHash();
    /// @dev The grade is not 1, 2 or 3.
    error InvalidGrade(uint8 grade);
    /// @dev The category is not on the published list.
    error UnknownCategory(uint16 category);
    /// @dev The content hash is already registered, by `registrant`.
    error AssetAlreadyRegistered(uint256 assetId, bytes32 contentHash, address registrant);
    /// @dev No asset has this id.
    error UnknownAsset(uint256 assetId);
    /// @dev The list of registrations is empty.
    error EmptyRegistrationList();
    /// @dev No asset has the id given as a parent.
    error UnknownParent(uint256 parentId);
    /// @dev The relation given for a parent is not DerivedFrom, VersionOf or AggregateOf.
    error InvalidRelation(uint256 parentId, uint8 relation);
    /// @dev The same parent appears twice.
    error DuplicateParent(uint256 parentId);
    /// @dev More parents than the registry accepts in one registration.
    error TooManyParents(uint256 count, uint256 max);
    /// @dev The parent is rejected or cancelled and cannot be built upon.
    error ParentNotUsable(uint256 parentId, AssetStatus status);
    /// @dev The registrant neither holds the parent nor holds a valid processing license for it.
    error ParentNeitherHeldNorLicensed(uint256 parentId, address registrant, address holder);
    /// @dev The account is not an active participant.
    error ParticipantNotActive(address account, ParticipantStatus status);
    /// @dev Only a suspended participant can be reinstated.
    error ParticipantNotSuspended(address account, ParticipantStatus status);
    /// @dev The account is already a participant.
    error ParticipantAlreadyRegistered(address account);
    /// @dev The jurisdiction code is zero.
    error InvalidJurisdiction(bytes2 jurisdiction);
    /// @dev The zero address cannot be a participant.
    error InvalidParticipant(address account);
    /// @dev Category code zero is reserved.
    error InvalidCategory(uint16 category);
    /// @dev Only the holder may do this.
    error NotAssetHolder(uint256 assetId, address caller, address holder);
    /// @dev The asset is rejected or cancelled; it cannot change.
    error AssetNotModifiable(uint256 assetId, AssetStatus status);
    /// @dev The asset is rejected or cancelled; it cannot move.
    error AssetNotTransferable(uint256 assetId, AssetStatus status);
    /// @dev A dispute has frozen the asset.
    error AssetFrozen(uint256 assetId);
    /// @dev An objection against the registration is open.
    error AssetUnderObjection(uint256 assetId);
    /// @dev Core data (grade 3) may not leave its jurisdiction.
    error CrossBorderTransferProhibited(
        uint256 assetId, uint8 grade, bytes2 fromJurisdiction, bytes2 toJurisdiction
    );
    /// @dev The signature's deadline has passed.
    error SignatureExpired(uint256 deadline, uint256 timestamp);
    /// @dev The signature was not made by the registrant it names.
    error InvalidRegistrationSignature(address registrant, address recovered);
    /// @dev A module address is the zero address.
    error InvalidModule(address module);

    // ---------------------------------------------------------------- participants and categories

    /**
     * @notice Registers `account` as an active participant in `jurisdiction`.
     *
     * Requirements: caller has REGISTRAR_ROLE; not paused; `account` non-zero and not yet a
     * participant; `jurisdiction` non-zero.
     *
     * Emits {ParticipantRegistered}.
     */
    function registerParticipant(address account, bytes2 jurisdiction, bytes32 nameHash) external;

    /**
     * @notice Suspends an active participant.
     *
     * Requirements: caller has REGISTRAR_ROLE; not paused; `account` is active.
     *
     * Emits {ParticipantSuspended}.
     */
    function suspendParticipant(address account, bytes32 reasonHash) external;

    /**
     * @notice Reinstates a suspended participant.
     *
     * Requirements: caller has REGISTRAR_ROLE; not paused; `account` is suspended.
     *
     * Emits {ParticipantReinstated}.
     */
    function reinstateParticipant(address account) external;

    /// @notice The participant record of `account` (status None if unknown).
    function participant(address account) external view returns (Participant memory);

    /**
     * @notice Adds `category` to, or removes it from, the published list.
     *
     * Requirements: caller has DEFAULT_ADMIN_ROLE; `category` non-zero.
     *
     * Emits {CategoryListingChanged}.
     */
    function setCategoryListed(uint16 category, bool listed) external;

    /// @notice Whether `category` is on the published list.
    function isCategoryListed(uint16 category) external view returns (bool);

    // ---------------------------------------------------------------- registration

    /**
     * @notice Registers one asset held by the caller.
     * @return assetId the id derived from the content hash.
     *
     * Requirements: not paused; caller is an active participant; content hash and metadata
     * hash non-zero; URI non-empty; grade 1..3; category listed; content hash not registered;
     * every parent exists, is neither rejected nor cancelled, appears once, has a valid
     * relation and is held by the caller or licensed to it for processing.
     *
     * Emits {AssetRegistered}, {IERC721-Transfer} and one {LineageLinked} per parent.
     */
    function register(Registration calldata registration) external returns (uint256 assetId);

    /**
     * @notice Registers several assets held by the caller in one transaction; all or none.
     *
     * Requirements: as {register} for each; the list is not empty.
     *
     * Emits, per asset, the events of {register}.
     */
    function registerMany(Registration[] calldata registrations)
        external
        returns (uint256[] memory assetIds);

    /**
     * @notice Registers an asset signed off-chain by its registrant; anyone may relay it. The
     * registrant becomes registrant and holder; the relayer gains nothing.
     *
     * Requirements: as {register} for the registrant; `deadline` not passed; `nonce` equals
     * the registrant's current nonce; the signature recovers to the registrant.
     *
     * Emits the events of {register} with channel Signed.
     */
    function registerWithSignature(SignedRegistration calldata signed)
        external
        returns (uint256 assetId);

    /**
     * @notice Relays several signed registrations in one transaction; all or none.
     *
     * Emits, per asset, the events of {registerWithSignature}.
     */
    function registerManyWithSignatures(SignedRegistration[] calldata signed)
        external
        returns (uint256[] memory assetIds);

    /**
     * @notice Registers a leaf of an anchored batch as a full asset of `registrant`.
     *
     * Requirements: caller has ANCHOR_ROLE (the BatchAnchor, which checks the Merkle proof);
     * otherwise as {register} for `registrant`.
     *
     * Emits the events of {register} with channel Batch.
     */
    function registerFromBatch(address registrant, Registration calldata registration)
        external
        returns (uint256 assetId);

    // ---------------------------------------------------------------- holder actions

    /**
     * @notice Revises the metadata of an asset.
     *
     * Requirements: not paused; caller holds the asset; asset neither rejected, cancelled nor
     * frozen; URI non-empty; hash non-zero.
     *
     * Emits {MetadataUpdated}.
     */
    function updateMetadata(uint256 assetId, string calldata metadataURI, bytes32 metadataHash)
        external;

    /**
     * @notice Cancels an asset. The record stays; the asset can no longer move.
     *
     * Requirements: not paused; caller holds the asset; asset neither rejected, cancelled nor
     * frozen.
     *
     * Emits {AssetStatusChanged}.
     */
    function cancel(uint256 assetId, bytes32 reasonHash) external;

    // ---------------------------------------------------------------- module hooks

    /**
     * @notice Records a status decided by the RegistrationOffice on behalf of `actor`.
     *
     * Requirements: caller has OFFICE_ROLE; not paused; the asset exists.
     *
     * Emits {AssetStatusChanged}.
     */
    function setStatus(uint256 assetId, AssetStatus status, bytes32 reasonHash, address actor)
        external;

    /**
     * @notice Records whether an objection is open against the asset.
     *
     * Requirements: caller has OFFICE_ROLE; not paused; the asset exists.
     *
     * Emits {AssetRestrictionsChanged}.
     */
    function setUnderObjection(uint256 assetId, bool underObjection) external;

    /**
     * @notice Freezes or unfreezes an asset on behalf of the DisputeCourt.
     *
     * Requirements: caller has COURT_ROLE; not paused; the asset exists.
     *
     * Emits {AssetRestrictionsChanged}.
     */
    function setFrozen(uint256 assetId, bool frozen) external;

    /**
     * @notice Transfers an asset to `to` by a ruling. The freeze and an open objection do not
     * stop it; the status, the recipient and the cross-border rules still apply.
     *
     * Requirements: caller has COURT_ROLE; not paused.
     *
     * Emits {IERC721-Transfer}.
     */
    function transferByRuling(uint256 assetId, address to) external;

    /**
     * @notice Cancels an asset by a ruling on behalf of `arbiter`.
     *
     * Requirements: caller has COURT_ROLE; not paused; the asset is not cancelled.
     *
     * Emits {AssetStatusChanged}.
     */
    function cancelByRuling(uint256 assetId, bytes32 rulingHash, address arbiter) external;

    // ---------------------------------------------------------------- administration

    /**
     * @notice Sets the LicenseRegistry consulted for lineage and the ExportControl consulted
     * for cross-border transfers.
     *
     * Requirements: caller has DEFAULT_ADMIN_ROLE; both addresses non-zero.
     *
     * Emits {ModulesUpdated}.
     */
    function setModules(address licenseRegistry, address exportControl) external;

    /**
     * @notice Sets the prefix of every {IERC721Metadata-tokenURI} (the asset id follows it).
     *
     * Requirements: caller has DEFAULT_ADMIN_ROLE.
     *
     * Emits {BaseURIUpdated}.
     */
    function setBaseURI(string calldata baseURI) external;

    /**
     * @notice Stops, in this registry and every module, all changes to the record: registrations,
     * transfers, participants, review, licenses, appraisals, disputes, anchors and permits, until
     * {unpause}. ERC-721 approvals and the admin's settings stay available.
     *
     * Requirements: caller has DEFAULT_ADMIN_ROLE; not paused.
     *
     * Emits {Pausable-Paused}.
     */
    function pause() external;

    /**
     * @notice Lifts {pause}.
     *
     * Requirements: caller has DEFAULT_ADMIN_ROLE; paused.
     *
     * Emits {Pausable-Unpaused}.
     */
    function unpause() external;

    // ---------------------------------------------------------------- views

    /// @notice The asset id of `contentHash`: `uint256(keccak256(abi.encode(ASSET_ID_DOMAIN, contentHash)))`.
    function assetIdOf(bytes32 contentHash) external pure returns (uint256);

    /// @notice The stored record of an asset (status None if unknown).
    function assetOf(uint256 assetId) external view returns (Asset memory);

    /// @notice The current metadata hash of an asset.
    function metadataHashOf(uint256 assetId) external view returns (bytes32);

    /// @notice The parents of an asset, in registration order.
    function parentsOf(uint256 assetId) external view returns (ParentLink[] memory);

    /// @notice The EIP-712 digest a registrant signs for `signed` (its signature is ignored).
    function registrationDigest(SignedRegistration calldata signed) external view returns (bytes32);

    /// @notice The LicenseRegistry and the ExportControl in use.
    function modules() external view returns (address licenseRegistry, address exportControl);
}

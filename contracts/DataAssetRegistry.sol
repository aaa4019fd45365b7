// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {IDataAssetRegistry} from "./interfaces/IDataAssetRegistry.sol";
import {IExportControl} from "./interfaces/IExportControl.sol";
import {ILicenseRegistry} from "./interfaces/ILicenseRegistry.sol";
import {Roles} from "./libraries/Roles.sol";

/**
 * @title DataAssetRegistry
 * @notice The ERC-721 registry of data assets. See {IDataAssetRegistry}.
 */
contract DataAssetRegistry is IDataAssetRegistry, ERC721, AccessControl, Pausable, EIP712, Nonces {
    /// @notice Registration centre authority.
    bytes32 public constant REGISTRAR_ROLE = Roles.REGISTRAR;
    /// @notice Appraisal authority.
    bytes32 public constant APPRAISER_ROLE = Roles.APPRAISER;
    /// @notice Arbitration authority.
    bytes32 public constant ARBITER_ROLE = Roles.ARBITER;
    /// @notice Export approval authority.
    bytes32 public constant EXPORT_APPROVER_ROLE = Roles.EXPORT_APPROVER;
    /// @notice Held by the RegistrationOffice contract.
    bytes32 public constant OFFICE_ROLE = Roles.OFFICE;
    /// @notice Held by the DisputeCourt contract.
    bytes32 public constant COURT_ROLE = Roles.COURT;
    /// @notice Held by the BatchAnchor contract.
    bytes32 public constant ANCHOR_ROLE = Roles.ANCHOR;
    /// @notice Held by the DataMarket contract.
    bytes32 public constant MARKET_ROLE = Roles.MARKET;

    /// @notice Domain tag of asset ids: `assetId = uint256(keccak256(abi.encode(ASSET_ID_DOMAIN, contentHash)))`.
    bytes32 public constant ASSET_ID_DOMAIN = keccak256("provledger.asset.v1");

    /// @notice The most parents one registration may name.
    uint256 public constant MAX_PARENTS = 16;

    /// @notice EIP-712 type of a signed registration.
    bytes32 public constant REGISTRATION_TYPEHASH = keccak256(
        "Registration(address registrant,bytes32 contentHash,string metadataURI,bytes32 metadataHash,"
        "uint16 category,uint8 grade,ParentLink[] parents,uint256 nonce,uint256 deadline)"
        "ParentLink(uint256 parentId,uint8 relation)"
    );

    /// @notice EIP-712 type of one parent in a signed registration.
    bytes32 public constant PARENT_LINK_TYPEHASH = keccak256("ParentLink(uint256 parentId,uint8 relation)");

    uint8 private constant _UNDER_OBJECTION = 1;
    uint8 private constant _FROZEN = 2;
    uint8 private constant _MAX_GRADE = 3;
    uint8 private constant _CORE_GRADE = 3;
    uint8 private constant _IMPORTANT_GRADE = 2;

    /// @dev The stored form of {Asset}: 20 + 5 + 2 + 1 + 1 + 1 + 2 bytes, one slot.
    struct AssetRecord {
        address registrant;
        uint40 registeredAt;
        uint16 category;
        uint8 grade;
        AssetStatus status;
        uint8 flags; // _UNDER_OBJECTION | _FROZEN
        uint16 metadataVersion;
    }

    /// @dev Asset records; a transfer reads this one slot.
    mapping(uint256 assetId => AssetRecord) private _assets;
    /// @dev Current metadata hash of each asset (the URI lives in the events only).
    mapping(uint256 assetId => bytes32 metadataHash) private _metadataHashes;
    /// @dev Parents of each derived asset, in registration order.
    mapping(uint256 assetId => ParentLink[]) private _parents;
    /// @dev Participants; the first slot (jurisdiction, status, registeredAt) is what transfers read.
    mapping(address account => Participant) private _participants;
    /// @dev The published category list.
    mapping(uint16 category => bool listed) private _listedCategories;
    /// @dev Consulted when a registrant does not hold a parent.
    ILicenseRegistry private _licenseRegistry;
    /// @dev Consulted when important data crosses a border.
    IExportControl private _exportControl;
    /// @dev Prefix of every token URI.
    string private _baseTokenURI;

    /// @param admin receives DEFAULT_ADMIN_ROLE.
    constructor(address admin) ERC721("provledger data asset", "PDA") EIP712("provledger", "1") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ------------------------------------------------------------ participants and categories

    /// @inheritdoc IDataAssetRegistry
    function registerParticipant(address account, bytes2 jurisdiction, bytes32 nameHash)
        external
        onlyRole(REGISTRAR_ROLE)
        whenNotPaused
    {
        if (account == address(0)) revert InvalidParticipant(account);
        if (jurisdiction == bytes2(0)) revert InvalidJurisdiction(jurisdiction);
        if (_participants[account].status != ParticipantStatus.None) {
            revert ParticipantAlreadyRegistered(account);
        }
        _participants[account] = Participant({
            jurisdiction: jurisdiction,
            status: ParticipantStatus.Active,
            registeredAt: _now(),
            nameHash: nameHash
        });
        emit ParticipantRegistered(account, jurisdiction, nameHash, _msgSender());
    }

    /// @inheritdoc IDataAssetRegistry
    function suspendParticipant(address account, bytes32 reasonHash)
        external
        onlyRole(REGISTRAR_ROLE)
        whenNotPaused
    {
        _requireActive(account);
        _participants[account].status = ParticipantStatus.Suspended;
        emit ParticipantSuspended(account, reasonHash, _msgSender());
    }

    /// @inheritdoc IDataAssetRegistry
    function reinstateParticipant(address account) external onlyRole(REGISTRAR_ROLE) whenNotPaused {
        ParticipantStatus status = _participants[account].status;
        if (status != ParticipantStatus.Suspended) revert ParticipantNotSuspended(account, status);
        _participants[account].status = ParticipantStatus.Active;
        emit ParticipantReinstated(account, _msgSender());
    }

    /// @inheritdoc IDataAssetRegistry
    function participant(address account) external view returns (Participant memory) {
        return _participants[account];
    }

    /// @inheritdoc IDataAssetRegistry
    function setCategoryListed(uint16 category, bool listed) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (category == 0) revert InvalidCategory(category);
        _listedCategories[category] = listed;
        emit CategoryListingChanged(category, listed, _msgSender());
    }

    /// @inheritdoc IDataAssetRegistry
    function isCategoryListed(uint16 category) external view returns (bool) {
        return _listedCategories[category];
    }

    // ------------------------------------------------------------ registration

    /// @inheritdoc IDataAssetRegistry
    function register(Registration calldata registration) external whenNotPaused returns (uint256) {
        return _register(_msgSender(), registration, Channel.Direct);
    }

    /// @inheritdoc IDataAssetRegistry
    function registerMany(Registration[] calldata registrations)
        external
        whenNotPaused
        returns (uint256[] memory assetIds)
    {
        uint256 count = registrations.length;
        if (count == 0) revert EmptyRegistrationList();
        address registrant = _msgSender();
        assetIds = new uint256[](count);
        for (uint256 i = 0; i < count; ++i) {
            assetIds[i] = _register(registrant, registrations[i], Channel.Direct);
        }
    }

    /// @inheritdoc IDataAssetRegistry
    function registerWithSignature(SignedRegistration calldata signed)
        external
        whenNotPaused
        returns (uint256)
    {
        _useSignature(signed);
        return _register(signed.registrant, signed.registration, Channel.Signed);
    }

    /// @inheritdoc IDataAssetRegistry
    function registerManyWithSignatures(SignedRegistration[] calldata signed)
        external
        whenNotPaused
        returns (uint256[] memory assetIds)
    {
        uint256 count = signed.length;
        if (count == 0) revert EmptyRegistrationList();
        assetIds = new uint256[](count);
        for (uint256 i = 0; i < count; ++i) {
            _useSignature(signed[i]);
            assetIds[i] = _register(signed[i].registrant, signed[i].registration, Channel.Signed);
        }
    }

    /// @inheritdoc IDataAssetRegistry
    function registerFromBatch(address registrant, Registration calldata registration)
        external
        onlyRole(ANCHOR_ROLE)
        whenNotPaused
        returns (uint256)
    {
        return _register(registrant, registration, Channel.Batch);
    }

    // ------------------------------------------------------------ holder actions

    /// @inheritdoc IDataAssetRegistry
    function updateMetadata(uint256 assetId, string calldata metadataURI, bytes32 metadataHash)
        external
        whenNotPaused
    {
        AssetRecord storage asset = _holderAsset(assetId);
        _requireModifiable(assetId, asset);
        if (bytes(metadataURI).length == 0) revert EmptyMetadataURI();
        if (metadataHash == bytes32(0)) revert ZeroMetadataHash();
        uint16 version = asset.metadataVersion + 1;
        asset.metadataVersion = version;
        _metadataHashes[assetId] = metadataHash;
        emit MetadataUpdated(assetId, version, metadataHash, metadataURI, _msgSender());
    }

    /// @inheritdoc IDataAssetRegistry
    function cancel(uint256 assetId, bytes32 reasonHash) external whenNotPaused {
        AssetRecord storage asset = _holderAsset(assetId);
        _requireModifiable(assetId, asset);
        _setStatus(assetId, asset, AssetStatus.Cancelled, reasonHash, _msgSender());
    }

    // ------------------------------------------------------------ module hooks

    /// @inheritdoc IDataAssetRegistry
    function setStatus(uint256 assetId, AssetStatus status, bytes32 reasonHash, address actor)
        external
        onlyRole(OFFICE_ROLE)
        whenNotPaused
    {
        _setStatus(assetId, _knownAsset(assetId), status, reasonHash, actor);
    }

    /// @inheritdoc IDataAssetRegistry
    function setUnderObjection(uint256 assetId, bool underObjection)
        external
        onlyRole(OFFICE_ROLE)
        whenNotPaused
    {
        _setFlag(assetId, _knownAsset(assetId), _UNDER_OBJECTION, underObjection);
    }

    /// @inheritdoc IDataAssetRegistry
    function setFrozen(uint256 assetId, bool frozen) external onlyRole(COURT_ROLE) whenNotPaused {
        _setFlag(assetId, _knownAsset(assetId), _FROZEN, frozen);
    }

    /// @inheritdoc IDataAssetRegistry
    function transferByRuling(uint256 assetId, address to) external onlyRole(COURT_ROLE) whenNotPaused {
        AssetRecord storage asset = _knownAsset(assetId);
        address from = _ownerOf(assetId);
        _checkTransfer(assetId, asset, from, to, true);
        ERC721._update(to, assetId, address(0));
    }

    /// @inheritdoc IDataAssetRegistry
    function cancelByRuling(uint256 assetId, bytes32 rulingHash, address arbiter)
        external
        onlyRole(COURT_ROLE)
        whenNotPaused
    {
        AssetRecord storage asset = _knownAsset(assetId);
        if (asset.status == AssetStatus.Cancelled) revert AssetNotModifiable(assetId, asset.status);
        _setStatus(assetId, asset, AssetStatus.Cancelled, rulingHash, arbiter);
    }

    // ------------------------------------------------------------ administration

    /// @inheritdoc IDataAssetRegistry
    function setModules(address licenseRegistry, address exportControl)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (licenseRegistry == address(0)) revert InvalidModule(licenseRegistry);
        if (exportControl == address(0)) revert InvalidModule(exportControl);
        _licenseRegistry = ILicenseRegistry(licenseRegistry);
        _exportControl = IExportControl(exportControl);
        emit ModulesUpdated(licenseRegistry, exportControl, _msgSender());
    }

    /// @inheritdoc IDataAssetRegistry
    function setBaseURI(string calldata baseURI) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _baseTokenURI = baseURI;
        emit BaseURIUpdated(baseURI, _msgSender());
    }

    /// @inheritdoc IDataAssetRegistry
    function pause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _pause();
    }

    /// @inheritdoc IDataAssetRegistry
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    // ------------------------------------------------------------ views

    /// @inheritdoc IDataAssetRegistry
    function assetIdOf(bytes32 contentHash) external pure returns (uint256) {
        return _assetIdOf(contentHash);
    }

    /// @inheritdoc IDataAssetRegistry
    function assetOf(uint256 assetId) external view returns (Asset memory) {
        AssetRecord memory record = _assets[assetId];
        return Asset({
            registrant: record.registrant,
            registeredAt: record.registeredAt,
            category: record.category,
            grade: record.grade,
            status: record.status,
            underObjection: record.flags & _UNDER_OBJECTION != 0,
            frozen: record.flags & _FROZEN != 0,
            metadataVersion: record.metadataVersion
        });
    }

    /// @inheritdoc IDataAssetRegistry
    function metadataHashOf(uint256 assetId) external view returns (bytes32) {
        return _metadataHashes[assetId];
    }

    /// @inheritdoc IDataAssetRegistry
    function parentsOf(uint256 assetId) external view returns (ParentLink[] memory) {
        return _parents[assetId];
    }

    /// @inheritdoc IDataAssetRegistry
    function registrationDigest(SignedRegistration calldata signed) external view returns (bytes32) {
        return _registrationDigest(signed);
    }

    /// @inheritdoc IDataAssetRegistry
    function modules() external view returns (address licenseRegistry, address exportControl) {
        return (address(_licenseRegistry), address(_exportControl));
    }

    /// @inheritdoc ERC721
    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(ERC721, AccessControl)
        returns (bool)
    {
        return interfaceId == type(IDataAssetRegistry).interfaceId || super.supportsInterface(interfaceId);
    }

    // ------------------------------------------------------------ internals

    /// @dev Current time; the one place contracts read the clock, overridable by test harnesses.
    function _now() internal view virtual returns (uint40) {
        return uint40(block.timestamp);
    }

    /// @dev The registration choke point: validates, records, mints, links parents.
    function _register(address registrant, Registration calldata registration, Channel channel)
        private
        returns (uint256 assetId)
    {
        _requireActive(registrant);
        bytes32 contentHash = registration.contentHash;
        if (contentHash == bytes32(0)) revert ZeroContentHash();
        if (bytes(registration.metadataURI).length == 0) revert EmptyMetadataURI();
        if (registration.metadataHash == bytes32(0)) revert ZeroMetadataHash();
        uint8 grade = registration.grade;
        if (grade == 0 || grade > _MAX_GRADE) revert InvalidGrade(grade);
        uint16 category = registration.category;
        if (!_listedCategories[category]) revert UnknownCategory(category);

        assetId = _assetIdOf(contentHash);
        AssetRecord storage asset = _assets[assetId];
        address existing = asset.registrant;
        if (existing != address(0)) revert AssetAlreadyRegistered(assetId, contentHash, existing);

        _assets[assetId] = AssetRecord({
            registrant: registrant,
            registeredAt: _now(),
            category: category,
            grade: grade,
            status: AssetStatus.Applied,
            flags: 0,
            metadataVersion: 1
        });
        _metadataHashes[assetId] = registration.metadataHash;
        emit AssetRegistered(
            assetId,
            registrant,
            contentHash,
            category,
            grade,
            registration.metadataHash,
            registration.metadataURI,
            channel,
            _msgSender()
        );
        _mint(registrant, assetId);
        if (registration.parents.length != 0) _linkParents(assetId, registrant, registration.parents);
    }

    /// @dev Checks and records the parents of a new asset, one {LineageLinked} each.
    function _linkParents(uint256 assetId, address registrant, ParentLink[] calldata parents) private {
        uint256 count = parents.length;
        if (count > MAX_PARENTS) revert TooManyParents(count, MAX_PARENTS);
        ParentLink[] storage stored = _parents[assetId];
        for (uint256 i = 0; i < count; ++i) {
            uint256 parentId = parents[i].parentId;
            uint8 relation = parents[i].relation;
            if (relation == uint8(Relation.None) || relation > uint8(Relation.AggregateOf)) {
                revert InvalidRelation(parentId, relation);
            }
            for (uint256 j = 0; j < i; ++j) {
                if (parents[j].parentId == parentId) revert DuplicateParent(parentId);
            }
            AssetStatus status = _assets[parentId].status;
            if (status == AssetStatus.None || parentId == assetId) revert UnknownParent(parentId);
            if (status == AssetStatus.Rejected || status == AssetStatus.Cancelled) {
                revert ParentNotUsable(parentId, status);
            }
            uint256 licenseId = 0;
            address holder = _ownerOf(parentId);
            if (holder != registrant) {
                ILicenseRegistry licenses = _licenseRegistry;
                if (address(licenses) != address(0)) {
                    licenseId = licenses.validLicenseOf(
                        parentId, registrant, uint8(ILicenseRegistry.LicenseKind.ProcessingUse), block.timestamp
                    );
                }
                if (licenseId == 0) revert ParentNeitherHeldNorLicensed(parentId, registrant, holder);
            }
            stored.push(ParentLink({parentId: parentId, relation: relation}));
            emit LineageLinked(assetId, parentId, Relation(relation), licenseId);
        }
    }

    /// @dev Checks the deadline, the signer and the nonce of a signed registration, using the nonce.
    function _useSignature(SignedRegistration calldata signed) private {
        if (block.timestamp > signed.deadline) revert SignatureExpired(signed.deadline, block.timestamp);
        (address recovered, ECDSA.RecoverError recoverError,) =
            ECDSA.tryRecoverCalldata(_registrationDigest(signed), signed.signature);
        if (recoverError != ECDSA.RecoverError.NoError || recovered != signed.registrant) {
            revert InvalidRegistrationSignature(signed.registrant, recovered);
        }
        _useCheckedNonce(signed.registrant, signed.nonce);
    }

    /// @dev The EIP-712 digest of a signed registration.
    function _registrationDigest(SignedRegistration calldata signed) private view returns (bytes32) {
        Registration calldata registration = signed.registration;
        uint256 count = registration.parents.length;
        bytes32[] memory parentHashes = new bytes32[](count);
        for (uint256 i = 0; i < count; ++i) {
            parentHashes[i] = keccak256(
                abi.encode(
                    PARENT_LINK_TYPEHASH, registration.parents[i].parentId, registration.parents[i].relation
                )
            );
        }
        bytes32 structHash = keccak256(
            abi.encode(
                REGISTRATION_TYPEHASH,
                signed.registrant,
                registration.contentHash,
                keccak256(bytes(registration.metadataURI)),
                registration.metadataHash,
                registration.category,
                registration.grade,
                keccak256(abi.encodePacked(parentHashes)),
                signed.nonce,
                signed.deadline
            )
        );
        return _hashTypedDataV4(structHash);
    }

    /**
     * @dev Every mint and transfer passes here. A caller-initiated move (`auth` set) is first
     * checked for authorisation, which also refuses ids that are not assets
     * ({IERC721Errors-ERC721NonexistentToken}): only {_register} mints. A transfer then meets the
     * registry's rules before the token moves.
     */
    function _update(address to, uint256 tokenId, address auth)
        internal
        override
        whenNotPaused
        returns (address from)
    {
        from = _ownerOf(tokenId);
        if (auth != address(0)) _checkAuthorized(from, auth, tokenId);
        if (from != address(0)) _checkTransfer(tokenId, _assets[tokenId], from, to, false);
        return super._update(to, tokenId, address(0));
    }

    /// @dev The transfer rules: status, restrictions, participants and the cross-border grade rule.
    function _checkTransfer(uint256 assetId, AssetRecord storage asset, address from, address to, bool byRuling)
        private
    {
        AssetStatus status = asset.status;
        if (status == AssetStatus.Rejected || status == AssetStatus.Cancelled) {
            revert AssetNotTransferable(assetId, status);
        }
        Participant storage sender = _participants[from];
        if (!byRuling) {
            uint8 flags = asset.flags;
            if (flags & _FROZEN != 0) revert AssetFrozen(assetId);
            if (flags & _UNDER_OBJECTION != 0) revert AssetUnderObjection(assetId);
            if (sender.status != ParticipantStatus.Active) revert ParticipantNotActive(from, sender.status);
        }
        Participant storage recipient = _participants[to];
        if (recipient.status != ParticipantStatus.Active) revert ParticipantNotActive(to, recipient.status);
        bytes2 destination = recipient.jurisdiction;
        if (sender.jurisdiction != destination) {
            uint8 grade = asset.grade;
            if (grade == _CORE_GRADE) {
                revert CrossBorderTransferProhibited(assetId, grade, sender.jurisdiction, destination);
            }
            if (grade == _IMPORTANT_GRADE) {
                IExportControl exportControl = _exportControl;
                if (address(exportControl) == address(0)) revert IExportControl.ExportPermitMissing(assetId, to);
                exportControl.consumePermit(assetId, from, to, destination);
            }
        }
    }

    /// @dev The status choke point.
    function _setStatus(
        uint256 assetId,
        AssetRecord storage asset,
        AssetStatus status,
        bytes32 reasonHash,
        address actor
    ) private {
        AssetStatus previous = asset.status;
        asset.status = status;
        emit AssetStatusChanged(assetId, previous, status, reasonHash, actor);
    }

    /// @dev The restrictions choke point.
    function _setFlag(uint256 assetId, AssetRecord storage asset, uint8 flag, bool on) private {
        uint8 flags = on ? asset.flags | flag : asset.flags & ~flag;
        asset.flags = flags;
        emit AssetRestrictionsChanged(assetId, flags & _UNDER_OBJECTION != 0, flags & _FROZEN != 0);
    }

    function _knownAsset(uint256 assetId) private view returns (AssetRecord storage asset) {
        asset = _assets[assetId];
        if (asset.status == AssetStatus.None) revert UnknownAsset(assetId);
    }

    function _holderAsset(uint256 assetId) private view returns (AssetRecord storage asset) {
        asset = _knownAsset(assetId);
        address holder = _ownerOf(assetId);
        if (holder != _msgSender()) revert NotAssetHolder(assetId, _msgSender(), holder);
    }

    function _requireModifiable(uint256 assetId, AssetRecord storage asset) private view {
        AssetStatus status = asset.status;
        if (status == AssetStatus.Rejected || status == AssetStatus.Cancelled) {
            revert AssetNotModifiable(assetId, status);
        }
        if (asset.flags & _FROZEN != 0) revert AssetFrozen(assetId);
    }

    function _requireActive(address account) private view {
        ParticipantStatus status = _participants[account].status;
        if (status != ParticipantStatus.Active) revert ParticipantNotActive(account, status);
    }

    function _assetIdOf(bytes32 contentHash) private pure returns (uint256) {
        return uint256(keccak256(abi.encode(ASSET_ID_DOMAIN, contentHash)));
    }

    function _baseURI() internal view override returns (string memory) {
        return _baseTokenURI;
    }
}

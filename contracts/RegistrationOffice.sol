// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IDataAssetRegistry} from "./interfaces/IDataAssetRegistry.sol";
import {IRegistrationOffice} from "./interfaces/IRegistrationOffice.sol";
import {Roles} from "./libraries/Roles.sol";
import {RegistryModule} from "./RegistryModule.sol";

/**
 * @title RegistrationOffice
 * @notice Review, public notice, objections and certificates. See {IRegistrationOffice}.
 */
contract RegistrationOffice is IRegistrationOffice, RegistryModule {
    /// @notice The longest notice period an admin may set.
    uint40 public constant MAX_NOTICE_PERIOD = 365 days;

    /// @dev Notice period applied by {accept}.
    uint40 private _noticePeriod;
    /// @dev When each asset's public notice ends.
    mapping(uint256 assetId => uint40 noticeEndsAt) private _noticeEnds;
    /// @dev Open objections per asset.
    mapping(uint256 assetId => uint256 count) private _openObjections;
    /// @dev Objections by id, from 1.
    mapping(uint256 objectionId => Objection) private _objections;
    /// @dev Certificates by registration number, from 1.
    mapping(uint256 registrationNumber => Certificate) private _certificates;
    /// @dev The initial certificate of each asset.
    mapping(uint256 assetId => uint256 registrationNumber) private _initialCertificates;
    /// @dev The latest objection id.
    uint256 private _objectionCount;
    /// @dev The latest registration number.
    uint256 private _certificateCount;

    /// @param registry_ the DataAssetRegistry.
    /// @param noticePeriod_ the initial notice period in seconds.
    constructor(address registry_, uint40 noticePeriod_) RegistryModule(registry_) {
        _setNoticePeriod(noticePeriod_, msg.sender);
    }

    /// @inheritdoc IRegistrationOffice
    function setNoticePeriod(uint40 period) external onlyRegistryRole(Roles.ADMIN) {
        _setNoticePeriod(period, msg.sender);
    }

    /// @inheritdoc IRegistrationOffice
    function accept(uint256 assetId) external onlyRegistryRole(Roles.REGISTRAR) whenRegistryNotPaused {
        _requireStatus(assetId, IDataAssetRegistry.AssetStatus.Applied);
        uint40 endsAt = _now() + _noticePeriod;
        _noticeEnds[assetId] = endsAt;
        emit RegistrationAccepted(assetId, endsAt, msg.sender);
        _registry.setStatus(assetId, IDataAssetRegistry.AssetStatus.Noticed, bytes32(0), msg.sender);
    }

    /// @inheritdoc IRegistrationOffice
    function reject(uint256 assetId, bytes32 reasonHash)
        external
        onlyRegistryRole(Roles.REGISTRAR)
        whenRegistryNotPaused
    {
        if (reasonHash == bytes32(0)) revert ZeroDocumentHash();
        _requireStatus(assetId, IDataAssetRegistry.AssetStatus.Applied);
        emit RegistrationRejected(assetId, reasonHash, msg.sender);
        _registry.setStatus(assetId, IDataAssetRegistry.AssetStatus.Rejected, reasonHash, msg.sender);
    }

    /// @inheritdoc IRegistrationOffice
    function object(uint256 assetId, bytes32 groundsHash)
        external
        whenRegistryNotPaused
        returns (uint256 objectionId)
    {
        if (groundsHash == bytes32(0)) revert ZeroDocumentHash();
        _requireStatus(assetId, IDataAssetRegistry.AssetStatus.Noticed);
        uint40 now_ = _now();
        uint40 endsAt = _noticeEnds[assetId];
        if (now_ >= endsAt) revert NoticePeriodOver(assetId, endsAt);

        objectionId = ++_objectionCount;
        _objections[objectionId] = Objection({
            assetId: assetId,
            objector: msg.sender,
            lodgedAt: now_,
            open: true,
            upheld: false,
            groundsHash: groundsHash
        });
        emit ObjectionLodged(objectionId, assetId, msg.sender, groundsHash);
        if (++_openObjections[assetId] == 1) _registry.setUnderObjection(assetId, true);
    }

    /// @inheritdoc IRegistrationOffice
    function resolveObjection(uint256 objectionId, bool upheld, bytes32 reasonHash)
        external
        onlyRegistryRole(Roles.REGISTRAR)
        whenRegistryNotPaused
    {
        if (reasonHash == bytes32(0)) revert ZeroDocumentHash();
        Objection storage objection = _objections[objectionId];
        uint256 assetId = objection.assetId;
        if (assetId == 0) revert UnknownObjection(objectionId);
        if (!objection.open) revert ObjectionAlreadyResolved(objectionId);
        objection.open = false;
        objection.upheld = upheld;
        emit ObjectionResolved(objectionId, assetId, upheld, reasonHash, msg.sender);
        if (--_openObjections[assetId] == 0) _registry.setUnderObjection(assetId, false);
        if (upheld && _registry.assetOf(assetId).status == IDataAssetRegistry.AssetStatus.Noticed) {
            _registry.setStatus(assetId, IDataAssetRegistry.AssetStatus.Rejected, reasonHash, msg.sender);
        }
    }

    /// @inheritdoc IRegistrationOffice
    function certify(uint256 assetId, uint8 registrationType, bytes32 certificateHash)
        external
        onlyRegistryRole(Roles.REGISTRAR)
        whenRegistryNotPaused
        returns (uint256 registrationNumber)
    {
        if (certificateHash == bytes32(0)) revert ZeroDocumentHash();
        if (registrationType == uint8(RegistrationType.None) || registrationType > uint8(RegistrationType.Objection))
        {
            revert InvalidRegistrationType(registrationType);
        }
        RegistrationType kind = RegistrationType(registrationType);
        IDataAssetRegistry.AssetStatus status = _knownAsset(assetId).status;
        uint256 initial = _initialCertificates[assetId];
        if (kind == RegistrationType.Initial) {
            if (initial != 0) revert AlreadyCertified(assetId, initial);
            if (status != IDataAssetRegistry.AssetStatus.Noticed) {
                revert UnexpectedStatus(assetId, status, IDataAssetRegistry.AssetStatus.Noticed);
            }
            uint40 endsAt = _noticeEnds[assetId];
            if (_now() < endsAt) revert NoticePeriodNotOver(assetId, endsAt);
            uint256 open = _openObjections[assetId];
            if (open != 0) revert OpenObjections(assetId, open);
        } else {
            if (initial == 0) revert NotInitiallyCertified(assetId);
            IDataAssetRegistry.AssetStatus expected = kind == RegistrationType.Cancellation
                ? IDataAssetRegistry.AssetStatus.Cancelled
                : IDataAssetRegistry.AssetStatus.Certified;
            if (status != expected) revert UnexpectedStatus(assetId, status, expected);
        }

        registrationNumber = ++_certificateCount;
        _certificates[registrationNumber] = Certificate({
            assetId: assetId,
            registrationType: kind,
            issuedAt: _now(),
            registrar: msg.sender,
            certificateHash: certificateHash
        });
        emit CertificateIssued(registrationNumber, assetId, kind, certificateHash, msg.sender);
        if (kind == RegistrationType.Initial) {
            _initialCertificates[assetId] = registrationNumber;
            _registry.setStatus(assetId, IDataAssetRegistry.AssetStatus.Certified, certificateHash, msg.sender);
        }
    }

    /// @inheritdoc IRegistrationOffice
    function noticePeriod() external view returns (uint40) {
        return _noticePeriod;
    }

    /// @inheritdoc IRegistrationOffice
    function noticeEndsAt(uint256 assetId) external view returns (uint40) {
        return _noticeEnds[assetId];
    }

    /// @inheritdoc IRegistrationOffice
    function openObjectionCount(uint256 assetId) external view returns (uint256) {
        return _openObjections[assetId];
    }

    /// @inheritdoc IRegistrationOffice
    function objectionOf(uint256 objectionId) external view returns (Objection memory) {
        return _objections[objectionId];
    }

    /// @inheritdoc IRegistrationOffice
    function certificateOf(uint256 registrationNumber) external view returns (Certificate memory) {
        return _certificates[registrationNumber];
    }

    /// @inheritdoc IRegistrationOffice
    function initialRegistrationNumberOf(uint256 assetId) external view returns (uint256) {
        return _initialCertificates[assetId];
    }

    /// @inheritdoc IRegistrationOffice
    function certificateCount() external view returns (uint256) {
        return _certificateCount;
    }

    /// @inheritdoc IRegistrationOffice
    function objectionCount() external view returns (uint256) {
        return _objectionCount;
    }

    function _setNoticePeriod(uint40 period, address admin) private {
        if (period == 0 || period > MAX_NOTICE_PERIOD) revert InvalidNoticePeriod(period, MAX_NOTICE_PERIOD);
        uint40 previous = _noticePeriod;
        _noticePeriod = period;
        emit NoticePeriodChanged(previous, period, admin);
    }

    function _requireStatus(uint256 assetId, IDataAssetRegistry.AssetStatus expected) private view {
        IDataAssetRegistry.AssetStatus status = _knownAsset(assetId).status;
        if (status != expected) revert UnexpectedStatus(assetId, status, expected);
    }
}

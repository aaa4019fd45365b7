// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IDataAssetRegistry} from "./interfaces/IDataAssetRegistry.sol";
import {IExportControl} from "./interfaces/IExportControl.sol";
import {ILicenseRegistry} from "./interfaces/ILicenseRegistry.sol";
import {Roles} from "./libraries/Roles.sol";
import {RegistryModule} from "./RegistryModule.sol";

/**
 * @title LicenseRegistry
 * @notice Typed, expiring, revocable usage licenses on data assets. See {ILicenseRegistry}.
 */
contract LicenseRegistry is ILicenseRegistry, RegistryModule {
    /// @dev Licenses by id, from 1.
    mapping(uint256 licenseId => License) private _licenses;
    /// @dev Every license granted on an asset to a licensee, in grant order.
    mapping(uint256 assetId => mapping(address licensee => uint256[] licenseIds)) private _licenseIds;
    /// @dev The id of the latest license.
    uint256 private _licenseCount;
    /// @dev Licenses sold through the market: the holder cannot revoke them.
    mapping(uint256 licenseId => bool sold) private _sold;

    uint8 private constant _IMPORTANT_GRADE = 2;
    uint8 private constant _CORE_GRADE = 3;

    /// @param registry_ the DataAssetRegistry.
    constructor(address registry_) RegistryModule(registry_) {}

    /// @inheritdoc ILicenseRegistry
    function grant(
        uint256 assetId,
        address licensee,
        uint8 kind,
        uint40 expiresAt,
        bytes32 termsHash,
        string calldata scope
    ) external whenRegistryNotPaused returns (uint256 licenseId) {
        return _grant(assetId, msg.sender, licensee, kind, expiresAt, termsHash, scope, false);
    }

    /// @inheritdoc ILicenseRegistry
    function grantFor(
        uint256 assetId,
        address licensor,
        address licensee,
        uint8 kind,
        uint40 expiresAt,
        bytes32 termsHash,
        string calldata scope
    ) external onlyRegistryRole(Roles.MARKET) whenRegistryNotPaused returns (uint256 licenseId) {
        return _grant(assetId, licensor, licensee, kind, expiresAt, termsHash, scope, true);
    }

    /// @dev The grant choke point: `licensor` must hold the asset; a `sale` also meets the rules
    /// of a transfer (objection, cross-border) and is marked not revocable.
    function _grant(
        uint256 assetId,
        address licensor,
        address licensee,
        uint8 kind,
        uint40 expiresAt,
        bytes32 termsHash,
        string calldata scope,
        bool sale
    ) private returns (uint256 licenseId) {
        IDataAssetRegistry.Asset memory asset = _knownAsset(assetId);
        address holder = _holderOf(assetId);
        if (holder != licensor) revert IDataAssetRegistry.NotAssetHolder(assetId, licensor, holder);
        _requireModifiable(assetId, asset);
        if (asset.frozen) revert IDataAssetRegistry.AssetFrozen(assetId);
        _requireActive(holder);
        if (licensee == address(0) || licensee == holder) revert InvalidLicensee(licensee);
        _requireActive(licensee);
        if (kind == uint8(LicenseKind.None) || kind > uint8(LicenseKind.ProductOperation)) {
            revert InvalidLicenseKind(kind);
        }
        uint40 now_ = _now();
        if (expiresAt <= now_) revert LicenseExpiryInPast(expiresAt, now_);
        if (termsHash == bytes32(0)) revert ZeroTermsHash();
        if (sale) _checkSale(assetId, asset, holder, licensee);

        licenseId = ++_licenseCount;
        _licenses[licenseId] = License({
            assetId: assetId,
            licensor: holder,
            grantedAt: now_,
            expiresAt: expiresAt,
            revokedAt: 0,
            kind: LicenseKind(kind),
            licensee: licensee,
            termsHash: termsHash
        });
        _licenseIds[assetId][licensee].push(licenseId);
        if (sale) _sold[licenseId] = true;
        emit LicenseGranted(licenseId, assetId, licensee, holder, LicenseKind(kind), expiresAt, termsHash, scope);
    }

    /// @inheritdoc ILicenseRegistry
    function revoke(uint256 licenseId, bytes32 reasonHash) external whenRegistryNotPaused {
        License storage license = _licenses[licenseId];
        uint256 assetId = license.assetId;
        if (assetId == 0) revert UnknownLicense(licenseId);
        address holder = _holderOf(assetId);
        if (holder != msg.sender) revert IDataAssetRegistry.NotAssetHolder(assetId, msg.sender, holder);
        if (_sold[licenseId]) revert SoldLicenseNotRevocable(licenseId);
        if (license.revokedAt != 0) revert LicenseAlreadyRevoked(licenseId, license.revokedAt);
        uint40 now_ = _now();
        if (license.expiresAt <= now_) revert LicenseAlreadyExpired(licenseId, license.expiresAt);
        license.revokedAt = now_;
        emit LicenseRevoked(licenseId, assetId, holder, reasonHash);
    }

    /// @inheritdoc ILicenseRegistry
    function licenseOf(uint256 licenseId) external view returns (License memory) {
        return _licenses[licenseId];
    }

    /// @inheritdoc ILicenseRegistry
    function isValidAt(uint256 licenseId, uint256 timestamp) external view returns (bool) {
        return _isValidAt(_licenses[licenseId], timestamp);
    }

    /// @inheritdoc ILicenseRegistry
    function validLicenseOf(uint256 assetId, address licensee, uint8 kind, uint256 timestamp)
        external
        view
        returns (uint256)
    {
        uint256[] storage ids = _licenseIds[assetId][licensee];
        uint256 count = ids.length;
        for (uint256 i = 0; i < count; ++i) {
            License storage license = _licenses[ids[i]];
            if (uint8(license.kind) == kind && _isValidAt(license, timestamp)) return ids[i];
        }
        return 0;
    }

    /// @inheritdoc ILicenseRegistry
    function licensesOf(uint256 assetId, address licensee) external view returns (uint256[] memory) {
        return _licenseIds[assetId][licensee];
    }

    /// @inheritdoc ILicenseRegistry
    function isSold(uint256 licenseId) external view returns (bool) {
        return _sold[licenseId];
    }

    /// @inheritdoc ILicenseRegistry
    function licenseCount() external view returns (uint256) {
        return _licenseCount;
    }

    /// @dev The rules a license sale shares with a transfer: no open objection, and to another
    /// jurisdiction no core data, and important data only under an export permit, consumed here.
    function _checkSale(
        uint256 assetId,
        IDataAssetRegistry.Asset memory asset,
        address holder,
        address licensee
    ) private {
        if (asset.underObjection) revert IDataAssetRegistry.AssetUnderObjection(assetId);
        bytes2 from = _registry.participant(holder).jurisdiction;
        bytes2 to = _registry.participant(licensee).jurisdiction;
        if (from == to) return;
        uint8 grade = asset.grade;
        if (grade == _CORE_GRADE) {
            revert IDataAssetRegistry.CrossBorderTransferProhibited(assetId, grade, from, to);
        }
        if (grade == _IMPORTANT_GRADE) {
            (, address exportControl) = _registry.modules();
            if (exportControl == address(0)) revert IExportControl.ExportPermitMissing(assetId, licensee);
            IExportControl(exportControl).consumePermit(assetId, holder, licensee, to);
        }
    }

    /// @dev Granted at or before `timestamp`, expiring after it, not revoked at or before it.
    function _isValidAt(License storage license, uint256 timestamp) private view returns (bool) {
        uint40 grantedAt = license.grantedAt;
        uint40 revokedAt = license.revokedAt;
        return grantedAt != 0 && grantedAt <= timestamp && timestamp < license.expiresAt
            && (revokedAt == 0 || timestamp < revokedAt);
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {IDataAssetRegistry} from "./interfaces/IDataAssetRegistry.sol";

/// @dev The registry's role and pause views, which modules read.
interface IRegistryAuthority {
    function hasRole(bytes32 role, address account) external view returns (bool);
    function paused() external view returns (bool);
    function ownerOf(uint256 tokenId) external view returns (address);
}

/**
 * @title RegistryModule
 * @notice Base of the contracts the DataAssetRegistry trusts. Roles and the pause switch live in
 * the registry, so an authority is granted once and one pause stops everything.
 */
abstract contract RegistryModule {
    /// @dev The registry this module serves; fixed at deployment.
    IDataAssetRegistry internal immutable _registry;

    /// @dev The registry's AccessControl and Pausable views.
    IRegistryAuthority private immutable _authority;

    /// @param registry_ the DataAssetRegistry.
    constructor(address registry_) {
        _registry = IDataAssetRegistry(registry_);
        _authority = IRegistryAuthority(registry_);
    }

    /// @dev Reverts with {IAccessControl-AccessControlUnauthorizedAccount} unless the caller has `role` in the registry.
    modifier onlyRegistryRole(bytes32 role) {
        if (!_authority.hasRole(role, msg.sender)) {
            revert IAccessControl.AccessControlUnauthorizedAccount(msg.sender, role);
        }
        _;
    }

    /// @dev Reverts with {Pausable-EnforcedPause} while the registry is paused.
    modifier whenRegistryNotPaused() {
        if (_authority.paused()) revert Pausable.EnforcedPause();
        _;
    }

    /// @notice The DataAssetRegistry this module serves.
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @dev Current time; the one place modules read the clock, overridable by test harnesses.
    function _now() internal view virtual returns (uint40) {
        return uint40(block.timestamp);
    }

    /// @dev The registry's record of `assetId`; reverts with {IDataAssetRegistry-UnknownAsset} if none.
    function _knownAsset(uint256 assetId) internal view returns (IDataAssetRegistry.Asset memory asset) {
        asset = _registry.assetOf(assetId);
        if (asset.status == IDataAssetRegistry.AssetStatus.None) {
            revert IDataAssetRegistry.UnknownAsset(assetId);
        }
    }

    /// @dev Reverts with {IDataAssetRegistry-AssetNotModifiable} for rejected and cancelled assets.
    function _requireModifiable(uint256 assetId, IDataAssetRegistry.Asset memory asset) internal pure {
        IDataAssetRegistry.AssetStatus status = asset.status;
        if (status == IDataAssetRegistry.AssetStatus.Rejected || status == IDataAssetRegistry.AssetStatus.Cancelled) {
            revert IDataAssetRegistry.AssetNotModifiable(assetId, status);
        }
    }

    /// @dev The current holder of `assetId`.
    function _holderOf(uint256 assetId) internal view returns (address) {
        return _authority.ownerOf(assetId);
    }

    /// @dev Reverts with {IDataAssetRegistry-ParticipantNotActive} unless `account` is active.
    function _requireActive(address account) internal view {
        IDataAssetRegistry.ParticipantStatus status = _registry.participant(account).status;
        if (status != IDataAssetRegistry.ParticipantStatus.Active) {
            revert IDataAssetRegistry.ParticipantNotActive(account, status);
        }
    }
}

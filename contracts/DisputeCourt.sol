// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IDataAssetRegistry} from "./interfaces/IDataAssetRegistry.sol";
import {IDisputeCourt} from "./interfaces/IDisputeCourt.sol";
import {Roles} from "./libraries/Roles.sol";
import {RegistryModule} from "./RegistryModule.sol";

/**
 * @title DisputeCourt
 * @notice Disputes, freezes and rulings. See {IDisputeCourt}.
 */
contract DisputeCourt is IDisputeCourt, RegistryModule {
    /// @dev Disputes by id, from 1.
    mapping(uint256 disputeId => Dispute) private _disputes;
    /// @dev How many disputes hold each asset frozen; the registry's flag is set while > 0.
    mapping(uint256 assetId => uint256 count) private _freezeCounts;
    /// @dev The latest dispute id.
    uint256 private _disputeCount;

    /// @param registry_ the DataAssetRegistry.
    constructor(address registry_) RegistryModule(registry_) {}

    /// @inheritdoc IDisputeCourt
    function open(uint256 assetId, bytes32 evidenceHash)
        external
        whenRegistryNotPaused
        returns (uint256 disputeId)
    {
        if (evidenceHash == bytes32(0)) revert ZeroDocumentHash();
        IDataAssetRegistry.Asset memory asset = _knownAsset(assetId);
        if (asset.status == IDataAssetRegistry.AssetStatus.Cancelled) {
            revert IDataAssetRegistry.AssetNotModifiable(assetId, asset.status);
        }
        disputeId = ++_disputeCount;
        _disputes[disputeId] = Dispute({
            assetId: assetId,
            claimant: msg.sender,
            openedAt: _now(),
            status: DisputeStatus.Open,
            ruling: Ruling.None,
            evidenceHash: evidenceHash,
            rulingHash: bytes32(0)
        });
        emit DisputeOpened(disputeId, assetId, msg.sender, evidenceHash);
    }

    /// @inheritdoc IDisputeCourt
    function freeze(uint256 disputeId) external onlyRegistryRole(Roles.ARBITER) whenRegistryNotPaused {
        Dispute storage dispute = _existing(disputeId);
        DisputeStatus status = dispute.status;
        if (status == DisputeStatus.Ruled) revert DisputeClosed(disputeId);
        if (status == DisputeStatus.Frozen) revert DisputeAlreadyFrozen(disputeId);
        dispute.status = DisputeStatus.Frozen;
        uint256 assetId = dispute.assetId;
        emit DisputeFrozen(disputeId, assetId, msg.sender);
        if (++_freezeCounts[assetId] == 1) _registry.setFrozen(assetId, true);
    }

    /// @inheritdoc IDisputeCourt
    function rule(uint256 disputeId, uint8 ruling, bytes32 rulingHash)
        external
        onlyRegistryRole(Roles.ARBITER)
        whenRegistryNotPaused
    {
        Dispute storage dispute = _existing(disputeId);
        DisputeStatus status = dispute.status;
        if (status == DisputeStatus.Ruled) revert DisputeClosed(disputeId);
        if (status != DisputeStatus.Frozen) revert DisputeNotFrozen(disputeId);
        if (ruling == uint8(Ruling.None) || ruling > uint8(Ruling.CancelAsset)) revert InvalidRuling(ruling);
        if (rulingHash == bytes32(0)) revert ZeroDocumentHash();

        dispute.status = DisputeStatus.Ruled;
        dispute.ruling = Ruling(ruling);
        dispute.rulingHash = rulingHash;
        uint256 assetId = dispute.assetId;
        emit DisputeRuled(disputeId, assetId, Ruling(ruling), rulingHash, msg.sender);

        if (--_freezeCounts[assetId] == 0) _registry.setFrozen(assetId, false);
        if (Ruling(ruling) == Ruling.TransferToClaimant) {
            _registry.transferByRuling(assetId, dispute.claimant);
        } else if (Ruling(ruling) == Ruling.CancelAsset) {
            _registry.cancelByRuling(assetId, rulingHash, msg.sender);
        }
    }

    /// @inheritdoc IDisputeCourt
    function disputeOf(uint256 disputeId) external view returns (Dispute memory) {
        return _disputes[disputeId];
    }

    /// @inheritdoc IDisputeCourt
    function freezeCount(uint256 assetId) external view returns (uint256) {
        return _freezeCounts[assetId];
    }

    /// @inheritdoc IDisputeCourt
    function disputeCount() external view returns (uint256) {
        return _disputeCount;
    }

    function _existing(uint256 disputeId) private view returns (Dispute storage dispute) {
        dispute = _disputes[disputeId];
        if (dispute.assetId == 0) revert UnknownDispute(disputeId);
    }
}

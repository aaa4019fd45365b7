// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IExportControl} from "./interfaces/IExportControl.sol";
import {IDataAssetRegistry} from "./interfaces/IDataAssetRegistry.sol";
import {Roles} from "./libraries/Roles.sol";
import {RegistryModule} from "./RegistryModule.sol";

/**
 * @title ExportControl
 * @notice Export permits for cross-border transfers of grade 2 data. See {IExportControl}.
 */
contract ExportControl is IExportControl, RegistryModule {
    uint8 private constant _IMPORTANT_GRADE = 2;

    /// @dev The permit for each asset and recipient; issuing again replaces it. 2 slots.
    mapping(uint256 assetId => mapping(address recipient => ExportPermit)) private _permits;

    /// @param registry_ the DataAssetRegistry.
    constructor(address registry_) RegistryModule(registry_) {}

    /// @inheritdoc IExportControl
    function issuePermit(uint256 assetId, address recipient, uint40 expiresAt)
        external
        onlyRegistryRole(Roles.EXPORT_APPROVER)
        whenRegistryNotPaused
    {
        IDataAssetRegistry.Asset memory asset = _knownAsset(assetId);
        if (asset.grade != _IMPORTANT_GRADE) revert ExportPermitNotApplicable(assetId, asset.grade);
        IDataAssetRegistry.Participant memory participant = _registry.participant(recipient);
        if (participant.status != IDataAssetRegistry.ParticipantStatus.Active) {
            revert IDataAssetRegistry.ParticipantNotActive(recipient, participant.status);
        }
        uint40 now_ = _now();
        if (expiresAt <= now_) revert PermitExpiryInPast(expiresAt, now_);
        _permits[assetId][recipient] = ExportPermit({
            destination: participant.jurisdiction,
            issuedAt: now_,
            expiresAt: expiresAt,
            used: false,
            revoked: false,
            approver: msg.sender
        });
        emit ExportPermitIssued(assetId, recipient, participant.jurisdiction, expiresAt, msg.sender);
    }

    /// @inheritdoc IExportControl
    function revokePermit(uint256 assetId, address recipient)
        external
        onlyRegistryRole(Roles.EXPORT_APPROVER)
        whenRegistryNotPaused
    {
        ExportPermit storage permit = _permits[assetId][recipient];
        if (permit.issuedAt == 0 || permit.used || permit.revoked) revert ExportPermitMissing(assetId, recipient);
        permit.revoked = true;
        emit ExportPermitRevoked(assetId, recipient, msg.sender);
    }

    /// @inheritdoc IExportControl
    function consumePermit(uint256 assetId, address from, address recipient, bytes2 destination) external {
        if (msg.sender != address(_registry)) {
            (address licenses,) = _registry.modules();
            if (msg.sender != licenses) revert CallerNotRegistry(msg.sender);
        }
        ExportPermit storage permit = _permits[assetId][recipient];
        if (permit.issuedAt == 0 || permit.used || permit.revoked) revert ExportPermitMissing(assetId, recipient);
        if (permit.expiresAt <= _now()) revert ExportPermitExpired(assetId, recipient, permit.expiresAt);
        if (permit.destination != destination) {
            revert ExportPermitDestinationMismatch(assetId, recipient, permit.destination, destination);
        }
        permit.used = true;
        emit ExportPermitUsed(assetId, recipient, from);
    }

    /// @inheritdoc IExportControl
    function permitOf(uint256 assetId, address recipient) external view returns (ExportPermit memory) {
        return _permits[assetId][recipient];
    }
}

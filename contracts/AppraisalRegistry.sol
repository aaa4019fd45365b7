// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IAppraisalRegistry} from "./interfaces/IAppraisalRegistry.sol";
import {IDataAssetRegistry} from "./interfaces/IDataAssetRegistry.sol";
import {Roles} from "./libraries/Roles.sol";
import {RegistryModule} from "./RegistryModule.sol";

/**
 * @title AppraisalRegistry
 * @notice Valuations of data assets with supersession. See {IAppraisalRegistry}.
 */
contract AppraisalRegistry is IAppraisalRegistry, RegistryModule {
    /// @dev Appraisals by id, from 1.
    mapping(uint256 appraisalId => Appraisal) private _appraisals;
    /// @dev The current appraisal of each asset.
    mapping(uint256 assetId => uint256 appraisalId) private _current;
    /// @dev The latest appraisal id.
    uint256 private _appraisalCount;

    /// @param registry_ the DataAssetRegistry.
    constructor(address registry_) RegistryModule(registry_) {}

    /// @inheritdoc IAppraisalRegistry
    function appraise(
        uint256 assetId,
        uint256 amount,
        bytes3 currency,
        uint8 method,
        bytes32 reportHash
    ) external onlyRegistryRole(Roles.APPRAISER) whenRegistryNotPaused returns (uint256 appraisalId) {
        _requireModifiable(assetId, _knownAsset(assetId));
        if (amount == 0) revert ZeroValuation();
        if (!_isCurrencyCode(currency)) revert InvalidCurrency(currency);
        if (method == uint8(ValuationMethod.None) || method > uint8(ValuationMethod.Market)) {
            revert InvalidValuationMethod(method);
        }
        if (reportHash == bytes32(0)) revert ZeroReportHash();

        uint256 supersedes = _current[assetId];
        appraisalId = ++_appraisalCount;
        _appraisals[appraisalId] = Appraisal({
            assetId: assetId,
            amount: amount,
            currency: currency,
            method: ValuationMethod(method),
            appraisedAt: _now(),
            appraiser: msg.sender,
            supersedes: supersedes,
            reportHash: reportHash
        });
        _current[assetId] = appraisalId;
        emit AppraisalRecorded(
            appraisalId, assetId, msg.sender, amount, currency, ValuationMethod(method), reportHash, supersedes
        );
    }

    /// @inheritdoc IAppraisalRegistry
    function appraisalOf(uint256 appraisalId) external view returns (Appraisal memory) {
        return _appraisals[appraisalId];
    }

    /// @inheritdoc IAppraisalRegistry
    function currentAppraisalOf(uint256 assetId) external view returns (uint256) {
        return _current[assetId];
    }

    /// @inheritdoc IAppraisalRegistry
    function appraisalCount() external view returns (uint256) {
        return _appraisalCount;
    }

    /// @dev Three ASCII upper-case letters, as ISO 4217 alphabetic codes are.
    function _isCurrencyCode(bytes3 currency) private pure returns (bool) {
        for (uint256 i = 0; i < 3; ++i) {
            bytes1 letter = currency[i];
            if (letter < "A" || letter > "Z") return false;
        }
        return true;
    }
}

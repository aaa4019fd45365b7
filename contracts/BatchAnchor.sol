// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {IBatchAnchor} from "./interfaces/IBatchAnchor.sol";
import {IDataAssetRegistry} from "./interfaces/IDataAssetRegistry.sol";
import {RegistryModule} from "./RegistryModule.sol";

/**
 * @title BatchAnchor
 * @notice Merkle batch anchors, leaf proofs and promotion of leaves to assets. See {IBatchAnchor}.
 */
contract BatchAnchor is IBatchAnchor, RegistryModule {
    /// @dev Batches by root; one slot each.
    mapping(bytes32 root => Batch) private _batches;

    /// @param registry_ the DataAssetRegistry.
    constructor(address registry_) RegistryModule(registry_) {}

    /// @inheritdoc IBatchAnchor
    function anchor(bytes32 root, uint32 leafCount, string calldata manifestURI) external whenRegistryNotPaused {
        _requireActive(msg.sender);
        if (root == bytes32(0)) revert ZeroRoot();
        if (leafCount == 0) revert EmptyBatch();
        Batch storage batch = _batches[root];
        if (batch.anchoredAt != 0) revert BatchAlreadyAnchored(root, batch.submitter, batch.anchoredAt);
        _batches[root] = Batch({submitter: msg.sender, leafCount: leafCount, anchoredAt: _now()});
        emit BatchAnchored(root, msg.sender, leafCount, manifestURI);
    }

    /// @inheritdoc IBatchAnchor
    function promote(
        bytes32 root,
        bytes32[] calldata proof,
        IDataAssetRegistry.Registration calldata registration
    ) external whenRegistryNotPaused returns (uint256 assetId) {
        Batch storage batch = _batches[root];
        if (batch.anchoredAt == 0) revert UnknownBatch(root);
        address submitter = batch.submitter;
        if (submitter != msg.sender) revert NotBatchSubmitter(root, msg.sender, submitter);
        bytes32 contentHash = registration.contentHash;
        if (!MerkleProof.verifyCalldata(proof, root, _batchLeaf(contentHash))) {
            revert InvalidMerkleProof(root, contentHash);
        }
        assetId = _registry.registerFromBatch(msg.sender, registration);
        emit LeafPromoted(root, assetId, contentHash);
    }

    /// @inheritdoc IBatchAnchor
    function batchOf(bytes32 root) external view returns (Batch memory) {
        return _batches[root];
    }

    /// @inheritdoc IBatchAnchor
    function isAnchoredLeaf(bytes32 root, bytes32 contentHash, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        return _batches[root].anchoredAt != 0 && MerkleProof.verifyCalldata(proof, root, _batchLeaf(contentHash));
    }

    /// @inheritdoc IBatchAnchor
    function isDatasetFile(
        bytes32 datasetRoot,
        string calldata path,
        bytes32 fileHash,
        bytes32[] calldata proof
    ) external view returns (bool) {
        uint256 assetId = _registry.assetIdOf(datasetRoot);
        if (_registry.assetOf(assetId).status == IDataAssetRegistry.AssetStatus.None) return false;
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(path, fileHash))));
        return MerkleProof.verifyCalldata(proof, datasetRoot, leaf);
    }

    /// @dev StandardMerkleTree leaf of a `bytes32` value.
    function _batchLeaf(bytes32 contentHash) private pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(contentHash))));
    }
}

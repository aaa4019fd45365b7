// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IDataAssetRegistry} from "./IDataAssetRegistry.sol";

/**
 * @title IBatchAnchor
 * @notice Anchors many content hashes in one transaction as the root of a Merkle tree, using
 * OpenZeppelin's StandardMerkleTree conventions: a leaf is
 * `keccak256(bytes.concat(keccak256(abi.encode(contentHash))))` and pairs are hashed sorted.
 * A leaf can be proven on-chain and promoted to a full asset later by the account that
 * anchored the batch. The same conventions, with `(string path, bytes32 sha256)` leaves,
 * prove one file of a registered dataset folder.
 */
interface IBatchAnchor {
    /// @notice A stored batch. Packed into one slot.
    struct Batch {
        address submitter;
        uint32 leafCount;
        uint40 anchoredAt;
    }

    /// @notice `submitter` anchored `leafCount` content hashes under `root`.
    event BatchAnchored(
        bytes32 indexed root, address indexed submitter, uint32 leafCount, string manifestURI
    );

    /// @notice A leaf of batch `root` became asset `assetId`.
    event LeafPromoted(bytes32 indexed root, uint256 indexed assetId, bytes32 indexed contentHash);

    /// @dev A root of zero was given.
    error ZeroRoot();
    /// @dev A batch must have at least one leaf.
    error EmptyBatch();
    /// @dev This root is already anchored.
    error BatchAlreadyAnchored(bytes32 root, address submitter, uint40 anchoredAt);
    /// @dev No batch has this root.
    error UnknownBatch(bytes32 root);
    /// @dev Only the account that anchored the batch may promote its leaves.
    error NotBatchSubmitter(bytes32 root, address caller, address submitter);
    /// @dev The proof does not lead from the leaf to the root.
    error InvalidMerkleProof(bytes32 root, bytes32 contentHash);

    /**
     * @notice Anchors a batch root.
     *
     * Requirements: not paused; caller is an active participant; root non-zero and not yet
     * anchored; leafCount > 0.
     *
     * Emits {BatchAnchored}.
     */
    function anchor(bytes32 root, uint32 leafCount, string calldata manifestURI) external;

    /**
     * @notice Registers a proven leaf of an anchored batch as a full asset of the caller.
     * `registration.contentHash` is the leaf.
     *
     * Requirements: not paused; the batch exists; caller anchored it; the proof is valid;
     * the registry's rules for {IDataAssetRegistry-register} hold.
     *
     * Emits {LeafPromoted} and the registry's registration events with channel Batch.
     */
    function promote(
        bytes32 root,
        bytes32[] calldata proof,
        IDataAssetRegistry.Registration calldata registration
    ) external returns (uint256 assetId);

    /// @notice The stored batch (anchoredAt 0 if unknown).
    function batchOf(bytes32 root) external view returns (Batch memory);

    /// @notice Whether `contentHash` is a leaf of the anchored batch `root`.
    function isAnchoredLeaf(bytes32 root, bytes32 contentHash, bytes32[] calldata proof)
        external
        view
        returns (bool);

    /**
     * @notice Whether the file (`path`, `fileHash`) belongs to the dataset folder whose content
     * hash is `datasetRoot`, and that content hash is registered as an asset. The asset's status
     * (rejected, cancelled …) is not considered here; read it with {IDataAssetRegistry-assetOf}.
     */
    function isDatasetFile(
        bytes32 datasetRoot,
        string calldata path,
        bytes32 fileHash,
        bytes32[] calldata proof
    ) external view returns (bool);
}

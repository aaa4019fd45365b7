// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

import {ICheckpoint} from "./interfaces/ICheckpoint.sol";

/**
 * @title Checkpoint
 * @notice Checkpoints of source chains' block hashes, deployed on a target chain. See
 * {ICheckpoint}.
 */
contract Checkpoint is ICheckpoint, AccessControl {
    /// @notice Submits checkpoints.
    bytes32 public constant CHECKPOINTER_ROLE = keccak256("CHECKPOINTER_ROLE");

    /// @dev The latest checkpoint per source chain: sequence and toBlock share one slot,
    /// toBlockHash has the next.
    mapping(uint256 sourceChainId => Head) private _heads;

    /// @dev The commitment of every checkpoint, per source chain and sequence.
    mapping(uint256 sourceChainId => mapping(uint64 sequence => bytes32 commitment)) private _commitments;

    /// @notice The deployer receives DEFAULT_ADMIN_ROLE and CHECKPOINTER_ROLE.
    constructor() {
        _grantRole(DEFAULT_ADMIN_ROLE, msg.sender);
        _grantRole(CHECKPOINTER_ROLE, msg.sender);
    }

    /// @inheritdoc ICheckpoint
    function submit(
        uint256 sourceChainId,
        uint64 fromBlock,
        uint64 toBlock,
        bytes32 parentHash,
        bytes32 toBlockHash,
        bytes32 root
    ) external onlyRole(CHECKPOINTER_ROLE) returns (uint64 sequence) {
        if (toBlock < fromBlock) revert EmptyCheckpoint(fromBlock, toBlock);
        if (root == bytes32(0)) revert ZeroRoot();
        Head storage head = _heads[sourceChainId];
        uint64 previous = head.sequence;
        if (previous != 0) {
            uint64 checkpointedTo = head.toBlock;
            if (fromBlock <= checkpointedTo) {
                revert BlocksAlreadyCheckpointed(sourceChainId, fromBlock, checkpointedTo);
            }
            // checkpointedTo < fromBlock <= type(uint64).max, so the sum cannot overflow.
            uint64 expectedFrom;
            unchecked {
                expectedFrom = checkpointedTo + 1;
            }
            if (fromBlock != expectedFrom) revert CheckpointOutOfOrder(sourceChainId, expectedFrom, fromBlock);
            bytes32 expectedParent = head.toBlockHash;
            if (parentHash != expectedParent) revert HistoryMismatch(sourceChainId, expectedParent, parentHash);
        }
        sequence = previous + 1;
        _record(sourceChainId, sequence, fromBlock, toBlock, toBlockHash, root);
    }

    /// @inheritdoc ICheckpoint
    function witness(uint256 sourceChainId, uint64 sequence, bytes32 commitment) external {
        bytes32 expected = _commitments[sourceChainId][sequence];
        if (expected == bytes32(0)) revert UnknownCheckpoint(sourceChainId, sequence);
        if (commitment != expected) revert CommitmentMismatch(sourceChainId, sequence, expected, commitment);
        emit CheckpointWitnessed(sourceChainId, sequence, msg.sender);
    }

    /// @inheritdoc ICheckpoint
    function headOf(uint256 sourceChainId) external view returns (Head memory) {
        return _heads[sourceChainId];
    }

    /// @inheritdoc ICheckpoint
    function checkpointOf(uint256 sourceChainId, uint64 sequence) external view returns (bytes32 commitment) {
        return _commitments[sourceChainId][sequence];
    }

    /// @dev The one place a checkpoint is written: the head moves, the commitment is stored,
    /// the event follows.
    function _record(
        uint256 sourceChainId,
        uint64 sequence,
        uint64 fromBlock,
        uint64 toBlock,
        bytes32 toBlockHash,
        bytes32 root
    ) private {
        _heads[sourceChainId] = Head({sequence: sequence, toBlock: toBlock, toBlockHash: toBlockHash});
        _commitments[sourceChainId][sequence] = keccak256(abi.encode(fromBlock, toBlock, toBlockHash, root));
        emit CheckpointSubmitted(sourceChainId, sequence, fromBlock, toBlock, toBlockHash, root, msg.sender);
    }
}

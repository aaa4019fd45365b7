// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title ICheckpoint
 * @notice Checkpoints of another (source) EVM chain's block hashes, kept on this (target) chain
 * so that the source chain's history is evidenced beyond its own validators. Standalone: it
 * knows no registry.
 *
 * A checkpoint of source chain `sourceChainId` covers the source blocks `fromBlock..toBlock`:
 * `root` is the OpenZeppelin StandardMerkleTree root over one leaf per block, of types
 * `(uint256 number, bytes32 blockHash)`, i.e. `keccak256(bytes.concat(keccak256(abi.encode(n,
 * blockHash(n)))))`, pairs hashed sorted. Checkpoints of one source chain are numbered from 1
 * and chained: each starts at the block after the previous one's `toBlock` and names that
 * block's hash as its `parentHash`, so a source history rewritten below a checkpoint cannot be
 * checkpointed again. The stored commitment of a checkpoint is
 * `keccak256(abi.encode(uint64 fromBlock, uint64 toBlock, bytes32 toBlockHash, bytes32 root))`.
 */
interface ICheckpoint {
    /// @notice The latest checkpoint of a source chain. Packed into two slots.
    struct Head {
        /// @dev 0 while the source chain has no checkpoint; the first is 1.
        uint64 sequence;
        /// @dev The last source block the latest checkpoint covers.
        uint64 toBlock;
        /// @dev The hash of that block.
        bytes32 toBlockHash;
    }

    /// @notice Checkpoint `sequence` of source chain `sourceChainId` covers source blocks
    /// `fromBlock..toBlock` under `root`; `toBlockHash` is block `toBlock`'s hash.
    event CheckpointSubmitted(
        uint256 indexed sourceChainId,
        uint64 indexed sequence,
        uint64 fromBlock,
        uint64 toBlock,
        bytes32 toBlockHash,
        bytes32 root,
        address submitter
    );

    /// @notice `witness` co-signed checkpoint `sequence` of source chain `sourceChainId`: it
    /// named the checkpoint's commitment.
    event CheckpointWitnessed(
        uint256 indexed sourceChainId, uint64 indexed sequence, address indexed witness
    );

    /// @dev A checkpoint must cover at least one block: `toBlock` is below `fromBlock`.
    error EmptyCheckpoint(uint64 fromBlock, uint64 toBlock);
    /// @dev A root of zero was given.
    error ZeroRoot();
    /// @dev Block `fromBlock` of the source chain is already covered: its checkpoints reach
    /// `checkpointedTo`.
    error BlocksAlreadyCheckpointed(uint256 sourceChainId, uint64 fromBlock, uint64 checkpointedTo);
    /// @dev The next checkpoint of the source chain starts at `expectedFrom`, not `fromBlock`.
    error CheckpointOutOfOrder(uint256 sourceChainId, uint64 expectedFrom, uint64 fromBlock);
    /// @dev The parent hash given is not the hash of the last checkpointed block: the source
    /// chain's history differs from the one checkpointed.
    error HistoryMismatch(uint256 sourceChainId, bytes32 expectedParent, bytes32 parentHash);
    /// @dev The source chain has no checkpoint `sequence`.
    error UnknownCheckpoint(uint256 sourceChainId, uint64 sequence);
    /// @dev The commitment named is not the stored commitment `expected` of the checkpoint.
    error CommitmentMismatch(uint256 sourceChainId, uint64 sequence, bytes32 expected, bytes32 commitment);

    /**
     * @notice Records the next checkpoint of source chain `sourceChainId`.
     * @param sourceChainId the chain id of the source chain.
     * @param fromBlock the first source block covered.
     * @param toBlock the last source block covered.
     * @param parentHash the hash of source block `fromBlock - 1`; not checked for the first
     * checkpoint of a source chain.
     * @param toBlockHash the hash of source block `toBlock`.
     * @param root the Merkle root over the covered blocks' `(number, hash)` leaves.
     * @return sequence the checkpoint's number among the source chain's checkpoints (1 first).
     *
     * Requirements: caller has CHECKPOINTER_ROLE; `fromBlock <= toBlock`; `root` non-zero;
     * unless this is the source chain's first checkpoint (which may start at any block),
     * `fromBlock` is the block after the latest checkpoint's `toBlock` and `parentHash` is that
     * checkpoint's `toBlockHash`.
     *
     * Emits {CheckpointSubmitted}.
     */
    function submit(
        uint256 sourceChainId,
        uint64 fromBlock,
        uint64 toBlock,
        bytes32 parentHash,
        bytes32 toBlockHash,
        bytes32 root
    ) external returns (uint64 sequence);

    /**
     * @notice Co-signs checkpoint `sequence` of source chain `sourceChainId` on chain, as the
     * caller. Anyone may witness; what a witness is worth is the verifier's policy.
     * @param commitment the checkpoint's commitment as the witness computed it.
     *
     * Requirements: the checkpoint exists; `commitment` equals {checkpointOf}.
     *
     * Emits {CheckpointWitnessed}.
     */
    function witness(uint256 sourceChainId, uint64 sequence, bytes32 commitment) external;

    /// @notice The latest checkpoint of source chain `sourceChainId` (all zero if none).
    function headOf(uint256 sourceChainId) external view returns (Head memory);

    /// @notice The commitment of checkpoint `sequence` of source chain `sourceChainId`, zero if
    /// there is none.
    function checkpointOf(uint256 sourceChainId, uint64 sequence) external view returns (bytes32 commitment);
}

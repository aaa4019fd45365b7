// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/**
 * @title MultiProofCheck
 * @notice OpenZeppelin's on-chain multiproof check, for the committed-metadata tests
 * (tests/services/disclosure/test_multiproof_onchain.py): a presentation's disclosed fields
 * and multiproof must be what {MerkleProof-multiProofVerifyCalldata} accepts against the root an
 * asset anchors as its metadata hash. Compiled with the other harnesses into tests/artifacts;
 * never deployed outside a test chain.
 */
contract MultiProofCheck {
    /**
     * @notice Whether `leaves` are in the tree of `root`, by `proof` and `proofFlags`, as
     * {MerkleProof-multiProofVerifyCalldata} decides.
     * @param proof The sibling hashes the leaves do not give.
     * @param proofFlags For each hash computed, whether it pairs two computed nodes (true) or a
     * computed node with the next of `proof` (false).
     * @param root The root the leaves must lead to.
     * @param leaves The leaf hashes, in the multiproof's order.
     * @return Whether the multiproof leads to `root`; reverts with
     * {MerkleProof-MerkleProofInvalidMultiproof} if its parts do not fit together.
     */
    function multiProofVerify(
        bytes32[] calldata proof,
        bool[] calldata proofFlags,
        bytes32 root,
        bytes32[] calldata leaves
    ) external pure returns (bool) {
        return MerkleProof.multiProofVerifyCalldata(proof, proofFlags, root, leaves);
    }

    /**
     * @notice The root `leaves` lead to by `proof` and `proofFlags`, as
     * {MerkleProof-processMultiProofCalldata} computes it.
     * @param proof The sibling hashes the leaves do not give.
     * @param proofFlags As for {multiProofVerify}.
     * @param leaves The leaf hashes, in the multiproof's order.
     * @return merkleRoot The root; reverts with {MerkleProof-MerkleProofInvalidMultiproof} if
     * the parts do not fit together.
     */
    function processMultiProof(
        bytes32[] calldata proof,
        bool[] calldata proofFlags,
        bytes32[] calldata leaves
    ) external pure returns (bytes32 merkleRoot) {
        return MerkleProof.processMultiProofCalldata(proof, proofFlags, leaves);
    }

    /**
     * @notice The leaf of one committed metadata field: the StandardMerkleTree leaf of
     * `(string name, bytes32 salt, bytes32 valueHash)`, where `valueHash` is keccak-256 of the
     * value's canonical JSON.
     * @param name The field's name.
     * @param salt The field's 32-byte salt.
     * @param valueHash keccak-256 of the field value's canonical JSON.
     * @return The leaf hash,
     * `keccak256(bytes.concat(keccak256(abi.encode(name, salt, valueHash))))`.
     */
    function fieldLeaf(string calldata name, bytes32 salt, bytes32 valueHash)
        external
        pure
        returns (bytes32)
    {
        return keccak256(bytes.concat(keccak256(abi.encode(name, salt, valueHash))));
    }
}

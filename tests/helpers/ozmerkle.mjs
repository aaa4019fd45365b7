// Reference oracle for tests/test_merkle.py: runs @openzeppelin/merkle-tree (the JS library
// provledger.merkle must match byte for byte) on jobs read as JSON from stdin.
//
//   node tests/helpers/ozmerkle.mjs < jobs.json      (from the repository root)
//
// stdin: {"jobs": [job, ...]}; stdout: {"results": [result, ...]}, one result per job.
//   {"op": "build", "types": [...], "values": [[...], ...], "sortLeaves"?: bool}
//   {"op": "load", "dump": {...}}                  a StandardMerkleTree dump to load
//       -> {"root", "length", "proofs": [per value index], "proofsByValue": [getProof(value)],
//           "leafHashes": [per value index], "dump"}
//   {"op": "verify", "root", "types", "value", "proof"}  -> {"valid": bool}
//   {"op": "leafHash", "types", "value"}                  -> {"leafHash": hex}
//   {"op": "multiproof", "types", "values", "indices", "sortLeaves"?: bool}
//       -> {"root", "leaves": [values in proof order], "leafHashes", "proof", "proofFlags"}
//          (getMultiProof(indices) of StandardMerkleTree.of(values, types))
//   {"op": "processMultiProof", "leaves": [hex], "proof": [hex], "proofFlags": [bool]}
//       -> {"root": hex}                  (the library's core processMultiProof, leaf hashes in)
// A job the library rejects gives {"error": message} instead of failing the whole run.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');
const { standardLeafHash } = require('@openzeppelin/merkle-tree/dist/hashes');
const { processMultiProof } = require('@openzeppelin/merkle-tree/dist/core');

function describe(tree) {
  const proofs = [];
  const proofsByValue = [];
  const leafHashes = [];
  for (const [i, value] of tree.entries()) {
    proofs.push(tree.getProof(i));
    proofsByValue.push(tree.getProof(value));
    leafHashes.push(tree.leafHash(value));
  }
  return { root: tree.root, length: tree.length, proofs, proofsByValue, leafHashes, dump: tree.dump() };
}

function run(job) {
  switch (job.op) {
    case 'build':
      return describe(StandardMerkleTree.of(job.values, job.types, { sortLeaves: job.sortLeaves ?? true }));
    case 'load':
      return describe(StandardMerkleTree.load(job.dump));
    case 'verify':
      return { valid: StandardMerkleTree.verify(job.root, job.types, job.value, job.proof) };
    case 'leafHash':
      return { leafHash: standardLeafHash(job.types, job.value) };
    case 'multiproof': {
      const tree = StandardMerkleTree.of(job.values, job.types, { sortLeaves: job.sortLeaves ?? true });
      const { leaves, proof, proofFlags } = tree.getMultiProof(job.indices);
      const leafHashes = leaves.map(value => tree.leafHash(value));
      return { root: tree.root, leaves, leafHashes, proof, proofFlags };
    }
    case 'processMultiProof':
      return { root: processMultiProof({ leaves: job.leaves, proof: job.proof, proofFlags: job.proofFlags }) };
    default:
      throw new Error(`unknown op ${JSON.stringify(job.op)}`);
  }
}

const { jobs } = JSON.parse(readFileSync(0, 'utf8'));
const results = jobs.map(job => {
  try {
    return run(job);
  } catch (error) {
    return { error: String(error && error.message ? error.message : error) };
  }
});
process.stdout.write(JSON.stringify({ results }));

// keccak-256 and OpenZeppelin StandardMerkleTree roots, as provledger.merkle computes them:
// the content hash of a dataset folder (one ("string path", "bytes32 sha256") leaf per file)
// and the root of a batch anchor (one "bytes32" leaf per content hash).
"use strict";

const MASK = (1n << 64n) - 1n;
const ROUNDS = [
  0x0000000000000001n, 0x0000000000008082n, 0x800000000000808an, 0x8000000080008000n,
  0x000000000000808bn, 0x0000000080000001n, 0x8000000080008081n, 0x8000000000008009n,
  0x000000000000008an, 0x0000000000000088n, 0x0000000080008009n, 0x000000008000000an,
  0x000000008000808bn, 0x800000000000008bn, 0x8000000000008089n, 0x8000000000008003n,
  0x8000000000008002n, 0x8000000000000080n, 0x000000000000800an, 0x800000008000000an,
  0x8000000080008081n, 0x8000000000008080n, 0x0000000080000001n, 0x8000000080008008n,
];
// ROTATIONS[x][y]
const ROTATIONS = [
  [0n, 36n, 3n, 41n, 18n], [1n, 44n, 10n, 45n, 2n], [62n, 6n, 43n, 15n, 61n],
  [28n, 55n, 25n, 21n, 56n], [27n, 20n, 39n, 8n, 14n],
];

function rotate(value, shift) {
  return shift === 0n ? value : ((value << shift) | (value >> (64n - shift))) & MASK;
}

function permute(state) {
  const c = new Array(5);
  const b = new Array(25);
  for (const constant of ROUNDS) {
    for (let x = 0; x < 5; x++) c[x] = state[x] ^ state[x + 5] ^ state[x + 10] ^ state[x + 15] ^ state[x + 20];
    for (let x = 0; x < 5; x++) {
      const d = c[(x + 4) % 5] ^ rotate(c[(x + 1) % 5], 1n);
      for (let y = 0; y < 25; y += 5) state[x + y] ^= d;
    }
    for (let x = 0; x < 5; x++) {
      for (let y = 0; y < 5; y++) b[y + 5 * ((2 * x + 3 * y) % 5)] = rotate(state[x + 5 * y], ROTATIONS[x][y]);
    }
    for (let y = 0; y < 25; y += 5) {
      for (let x = 0; x < 5; x++) state[x + y] = b[x + y] ^ (~b[((x + 1) % 5) + y] & MASK & b[((x + 2) % 5) + y]);
    }
    state[0] ^= constant;
  }
}

function keccak256(bytes) {
  const rate = 136;
  const padded = new Uint8Array(Math.floor(bytes.length / rate) * rate + rate);
  padded.set(bytes);
  padded[bytes.length] ^= 0x01;
  padded[padded.length - 1] ^= 0x80;
  const state = new Array(25).fill(0n);
  for (let offset = 0; offset < padded.length; offset += rate) {
    for (let lane = 0; lane < rate / 8; lane++) {
      let value = 0n;
      for (let i = 7; i >= 0; i--) value = (value << 8n) | BigInt(padded[offset + lane * 8 + i]);
      state[lane] ^= value;
    }
    permute(state);
  }
  const out = new Uint8Array(32);
  for (let lane = 0; lane < 4; lane++) {
    let value = state[lane];
    for (let i = 0; i < 8; i++) { out[lane * 8 + i] = Number(value & 0xffn); value >>= 8n; }
  }
  return out;
}

function compare(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) { out.set(part, offset); offset += part.length; }
  return out;
}

function word(number) {
  const out = new Uint8Array(32);
  for (let i = 31, value = number; i >= 0 && value > 0; i--, value = Math.floor(value / 256)) out[i] = value % 256;
  return out;
}

function leaf(encoded) {
  return keccak256(keccak256(encoded));
}

function root(leaves) {
  if (!leaves.length) throw new Error("no leaves");
  const sorted = [...leaves].sort(compare);
  const tree = new Array(sorted.length - 1).fill(null).concat(sorted.reverse());
  for (let i = sorted.length - 2; i >= 0; i--) {
    const left = tree[2 * i + 1], right = tree[2 * i + 2];
    tree[i] = keccak256(compare(left, right) < 0 ? concat(left, right) : concat(right, left));
  }
  return tree[0];
}

// files: [{path, sha256: Uint8Array(32)}] -> the folder's content hash
function folderRoot(files) {
  const encoder = new TextEncoder();
  return root(files.map(({ path, sha256 }) => {
    const text = encoder.encode(path.normalize("NFC"));
    const padded = new Uint8Array(Math.ceil(text.length / 32) * 32);
    padded.set(text);
    return leaf(concat(word(64), sha256, word(text.length), padded));
  }));
}

// contentHashes: [Uint8Array(32)] -> the batch anchor root
function batchRoot(contentHashes) {
  return root(contentHashes.map((hash) => leaf(hash)));
}

const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

if (typeof module !== "undefined") module.exports = { keccak256, folderRoot, batchRoot, toHex };

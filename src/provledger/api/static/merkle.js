// keccak-256 and OpenZeppelin StandardMerkleTree roots, as provledger.merkle computes them:
// the content hash of a dataset folder (one ("string path", "bytes32 sha256") leaf per file),
// the root of a batch anchor (one "bytes32" leaf per content hash), and the fields of committed
// metadata (one ("string name", "bytes32 salt", "bytes32 valueHash") leaf per field, the value
// hash over its canonical JSON as provledger.commitments writes it) checked by a multiproof.
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

function hashPair(a, b) {
  return keccak256(compare(a, b) < 0 ? concat(a, b) : concat(b, a));
}

function root(leaves) {
  if (!leaves.length) throw new Error("no leaves");
  const sorted = [...leaves].sort(compare);
  const tree = new Array(sorted.length - 1).fill(null).concat(sorted.reverse());
  for (let i = sorted.length - 2; i >= 0; i--) tree[i] = hashPair(tree[2 * i + 1], tree[2 * i + 2]);
  return tree[0];
}

// The ABI encoding of a string in a tuple's tail: its length, then its UTF-8 bytes padded to
// whole words.
function tail(text) {
  const bytes = new TextEncoder().encode(text);
  const padded = new Uint8Array(Math.ceil(bytes.length / 32) * 32);
  padded.set(bytes);
  return concat(word(bytes.length), padded);
}

// files: [{path, sha256: Uint8Array(32)}] -> the folder's content hash
function folderRoot(files) {
  return root(files.map(({ path, sha256 }) => leaf(concat(word(64), sha256, tail(path.normalize("NFC"))))));
}

// contentHashes: [Uint8Array(32)] -> the batch anchor root
function batchRoot(contentHashes) {
  return root(contentHashes.map((hash) => leaf(hash)));
}

const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

// ---- committed metadata

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

// Object keys in code point order, as Python sorts them (JavaScript's sort compares UTF-16
// units, which puts an astral character before U+E000..U+FFFF).
function byCodePoint(a, b) {
  for (let i = 0; i < a.length && i < b.length;) {
    const x = a.codePointAt(i), y = b.codePointAt(i);
    if (x !== y) return x - y;
    i += x > 0xffff ? 2 : 1;
  }
  return a.length - b.length;
}

// The canonical JSON of a field value: no white space, keys sorted by code point, text as it
// is (UTF-8 once encoded). Refuses what provledger.commitments refuses: fractions, integers
// past 2^53 - 1, text that is not valid Unicode. `where` names the value in an error.
function canonicalJson(value, where = "value") {
  if (value === null || typeof value === "boolean") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new Error(`${where} holds a fraction; a field value writes fractions as text`);
    if (!Number.isSafeInteger(value)) throw new Error(`${where} holds an integer past 2^53 - 1, which must be written as text`);
    return JSON.stringify(value);
  }
  if (typeof value === "string") {
    if (LONE_SURROGATE.test(value)) throw new Error(`${where} holds text that is not valid Unicode`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((item, i) => canonicalJson(item, `${where}[${i}]`)).join(",")}]`;
  if (typeof value === "object") {
    const keys = Object.keys(value).sort(byCodePoint);
    return `{${keys.map((key) => `${canonicalJson(key, where)}:${canonicalJson(value[key], `${where}.${key}`)}`).join(",")}}`;
  }
  throw new Error(`${where} is no JSON value`);
}

// Characters a field name may not hold, as provledger.commitments refuses them: controls,
// format and invisible marks, surrogates, private and unassigned code points, line and paragraph
// separators. (A character assigned after the Unicode version of the Python that wrote the
// document counts as unassigned there, and may be allowed here.)
const NOT_IN_NAMES = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u;
const MAX_NAME = 64;

// Why `name` is not a field name (1 to 64 characters of NFC text, none of NOT_IN_NAMES, no
// space at either end), or null if it is one. Names starting with "@" are reserved: the caller
// decides where the header's may stand.
function fieldNameFault(name) {
  const length = Array.from(name).length;
  if (length < 1 || length > MAX_NAME) return `is not a field name of 1 to ${MAX_NAME} characters`;
  if (NOT_IN_NAMES.test(name)) return "holds a control or invisible character, which no field name holds";
  if (name.trim() !== name || name.normalize("NFC") !== name) return "is not a field name: NFC text with no space at its ends";
  return null;
}

// keccak-256 of the value's canonical JSON: the third part of a field's leaf.
function valueHash(value, where) {
  return keccak256(new TextEncoder().encode(canonicalJson(value, where)));
}

// The StandardMerkleTree leaf of ("string name", "bytes32 salt", "bytes32 valueHash").
function fieldLeaf(name, salt, hash) {
  return leaf(concat(word(96), salt, hash, tail(name)));
}

// The root a multiproof leads to, as OpenZeppelin's MerkleProof.processMultiProof computes it
// (leaf hashes in proof order; each flag pairs two computed nodes, or one with the next proof
// element); throws where the contract reverts.
function processMultiProof(leaves, proof, flags) {
  if (leaves.length + proof.length !== flags.length + 1) {
    throw new Error(`${leaves.length} leaves and ${proof.length} proof elements need ${leaves.length + proof.length - 1} flags, got ${flags.length}`);
  }
  const queue = [...leaves];
  let next = 0, sibling = 0;
  for (const [i, flag] of flags.entries()) {
    if (queue.length - next < (flag ? 2 : 1) || (!flag && sibling >= proof.length)) {
      throw new Error(`flag ${i} has nothing left to hash`);
    }
    const first = queue[next++];
    queue.push(hashPair(first, flag ? queue[next++] : proof[sibling++]));
  }
  return flags.length ? queue[queue.length - 1] : (leaves[0] || proof[0]);
}

if (typeof module !== "undefined") {
  module.exports = {
    keccak256, folderRoot, batchRoot, toHex, canonicalJson, valueHash, fieldLeaf, processMultiProof,
    fieldNameFault,
  };
}

// A second verifier of provledger proof bundles (provledger-proof/1 and provledger-proof/2),
// written from the format's specification (docs/proof-bundle.md) and sharing no code with
// provledger's Python verifier. It runs in Node.js (20 or later) and in the browser, and asks the
// nodes nothing but JSON-RPC over `fetch`: no npm package, no provledger gateway.
//
//   import { verifyBundle } from "./verify-proof.mjs";
//   const report = await verifyBundle(bundleText, { rpc: "http://127.0.0.1:8545" });
//
//   node verify-proof.mjs BUNDLE.json --rpc URL [--checkpoint-rpc URL] [--witness ADDR ...]
//        [--witnesses-required K] [--json]
//   exit 0: every check passed · 1: a check failed · 2: bad input · 3: a node cannot be reached
//
// Each check of the specification is run and reported in its order, whatever the others found,
// with the same names, titles and verdicts as `provledger verify-proof` (the reasons are worded
// here). A bundle the format's JSON Schema refuses is refused, naming the field, before any node
// is asked.
//
// What it takes from elsewhere: keccak-256 from merkle.js (in Node.js loaded beside this file,
// in the browser the global that merkle.js defines when it is loaded first). The ABI decoding
// of the logs and view calls is the small decoder below, for the types those events and calls
// use. Witness co-signatures are recovered without an implementation of secp256k1 here: the
// EIP-712 digest is computed here (keccak) and the signer is recovered by an `eth_call` to the
// ecrecover precompile (address 0x…01) on the target chain's node (on the source chain's when
// no target node is given) — the same precompile every EVM contract uses, so the verifier adds
// no elliptic-curve code of its own.

const IN_NODE = typeof window === "undefined" && typeof process !== "undefined" && Boolean(process.versions && process.versions.node);
const merkle = IN_NODE ? (await import("node:module")).createRequire(import.meta.url)("./merkle.js") : globalThis;
const keccak256 = merkle.keccak256;
if (typeof keccak256 !== "function") throw new Error("verify-proof.mjs needs merkle.js (its keccak256) loaded first");

// ------------------------------------------------------------------ the format's constants

export const VERSIONS = ["provledger-proof/1", "provledger-proof/2"];

// Check name -> what passing it proves, in the order checks run.
export const CHECKS = {
  chain: "the node serves the bundle's chain",
  receipt: "the receipt contains the log",
  block: "the block hash matches",
  event: "the log decodes to the claimed values",
  contract: "the contract has the expected code hash",
  merkle: "the Merkle path reaches the root",
  anchor: "the root is anchored on chain",
  state: "the on-chain state is as stated",
  checkpoint: "the block is in a checkpoint on the target chain that the source chain still agrees with",
  witnesses: "enough known witnesses co-signed the checkpoint",
};
const BATCH_ONLY = ["merkle", "anchor"];
const CHECKPOINT_ONLY = ["checkpoint", "witnesses"];

const CHANNELS = ["DIRECT", "SIGNED", "BATCH"];
const STATUSES = ["NONE", "APPLIED", "NOTICED", "CERTIFIED", "REJECTED", "CANCELLED"];
const ECRECOVER = "0x0000000000000000000000000000000000000001";
const JSON_MAX_DEPTH = 64;
const JSON_MAX_LENGTH = 16 << 20;
const SAFE = 2n ** 53n;

// ------------------------------------------------------------------ errors

// A bundle that is not JSON or that the format refuses: `path` names the field (a.b[2].c).
export class MalformedBundle extends Error {
  constructor(path, reason) {
    super(`malformed proof bundle: ${path ? `${path} ` : ""}${reason}`);
    this.name = "MalformedBundle";
    this.path = path;
    this.reason = reason;
  }
}

// Options that cannot be used (no node URL, a witness that is no address).
export class BadOptions extends Error {
  constructor(message) { super(message); this.name = "BadOptions"; }
}

// A node that cannot be reached or does not speak JSON-RPC: no verdict can be given.
export class NodeUnreachable extends Error {
  constructor(url, why) { super(`cannot reach the node at ${url}: ${why}`); this.name = "NodeUnreachable"; this.url = url; }
}

// A check found a claim the node (or arithmetic) contradicts.
class Failed extends Error {}

// The node answered a request with an error (an unknown block, a call that reverted): the claim
// that needed the answer is not confirmed.
class Refused extends Error {}

// ------------------------------------------------------------------ JSON, numbers kept as written

// A number written with a fraction or an exponent (1.0, 1e3). The format writes integers as
// integers, so such a number is never equal to a value the chain gives; JSON.parse would lose
// the difference, so bundle text is read here.
export class WrittenNumber {
  constructor(text) { this.text = text; this.value = Number(text); }
  toJSON() { return this.value; }
}

const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
const SPACE = /[ \t\n\r]*/y;

// JSON text -> value: objects without prototype, integers past 2^53 as BigInt, numbers written
// with a fraction or an exponent as WrittenNumber; duplicate keys keep the last value.
export function readJson(text) {
  if (text.length > JSON_MAX_LENGTH) throw new MalformedBundle("", `is larger than ${JSON_MAX_LENGTH >> 20} MiB`);
  let at = 0;
  const notJson = (what) => { throw new MalformedBundle("", `is not JSON: ${what} at character ${at}`); };
  const skip = () => { SPACE.lastIndex = at; SPACE.exec(text); at = SPACE.lastIndex; };
  const token = (pattern) => {
    pattern.lastIndex = at;
    const found = pattern.exec(text);
    if (!found) return null;
    at = pattern.lastIndex;
    return found;
  };
  function value(depth) {
    if (depth > JSON_MAX_DEPTH) notJson(`nested deeper than ${JSON_MAX_DEPTH} levels`);
    skip();
    const c = text[at];
    if (c === "{") {
      at++;
      const object = Object.create(null);
      skip();
      if (text[at] === "}") { at++; return object; }
      for (;;) {
        skip();
        const key = token(STRING);
        if (!key) notJson("expected a key");
        skip();
        if (text[at] !== ":") notJson("expected ':'");
        at++;
        object[JSON.parse(key[0])] = value(depth + 1);
        skip();
        if (text[at] === ",") { at++; continue; }
        if (text[at] === "}") { at++; return object; }
        notJson("expected ',' or '}'");
      }
    }
    if (c === "[") {
      at++;
      const list = [];
      skip();
      if (text[at] === "]") { at++; return list; }
      for (;;) {
        list.push(value(depth + 1));
        skip();
        if (text[at] === ",") { at++; continue; }
        if (text[at] === "]") { at++; return list; }
        notJson("expected ',' or ']'");
      }
    }
    if (c === '"') {
      const found = token(STRING);
      if (!found) notJson("a string that does not end or holds a control character");
      return JSON.parse(found[0]);
    }
    for (const [word, meaning] of [["true", true], ["false", false], ["null", null]]) {
      if (text.startsWith(word, at)) { at += word.length; return meaning; }
    }
    const number = token(NUMBER);
    if (!number) notJson(c === undefined ? "the text ends early" : `unexpected ${JSON.stringify(c)}`);
    if (number[1] !== undefined || number[2] !== undefined) return new WrittenNumber(number[0]);
    const exact = BigInt(number[0]);
    return exact > -SAFE && exact < SAFE ? Number(exact) : exact;
  }
  const result = value(0);
  skip();
  if (at !== text.length) notJson("text after the value");
  return result;
}

// A value back as JSON text (BigInt as its digits, WrittenNumber as written).
export function writeJson(value, indent = 0) {
  const marks = [];
  const text = JSON.stringify(value, function (key, item) {
    const raw = this[key]; // before toJSON
    if (typeof raw === "bigint" || raw instanceof WrittenNumber) {
      marks.push(typeof raw === "bigint" ? raw.toString() : raw.text);
      return `\u0000${marks.length - 1}\u0000`;
    }
    return item;
  }, indent);
  return text.replace(/"\\u0000(\d+)\\u0000"/g, (_, i) => marks[Number(i)]);
}

// ------------------------------------------------------------------ bytes and hex

const hexOf = (bytes) => `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
function bytesOf(hex) {
  const body = hex.slice(2);
  const out = new Uint8Array(body.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(body.substr(2 * i, 2), 16);
  return out;
}
const keccakHex = (bytes) => hexOf(keccak256(bytes));
const utf8 = (text) => new TextEncoder().encode(text);
function join(...parts) {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) { out.set(part, offset); offset += part.length; }
  return out;
}
const uintOf = (bytes) => (bytes.length ? BigInt(hexOf(bytes)) : 0n);
function word(value) {
  return bytesOf(`0x${BigInt(value).toString(16).padStart(64, "0")}`);
}
const quantity = (value) => `0x${BigInt(value).toString(16)}`;

// EIP-55: the address's hex digits upper-cased where keccak-256 of its lowercase hex says so.
function checksummed(address) {
  const lower = address.slice(2).toLowerCase();
  const hash = keccakHex(utf8(lower)).slice(2);
  let out = "0x";
  for (let i = 0; i < 40; i++) out += parseInt(hash[i], 16) >= 8 ? lower[i].toUpperCase() : lower[i];
  return out;
}
const sameAddress = (a, b) => a.toLowerCase() === b.toLowerCase();

// ------------------------------------------------------------------ the format's form

function shown(value) {
  if (value === undefined) return "nothing";
  if (value instanceof WrittenNumber) return value.text;
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return "a list";
  if (value !== null && typeof value === "object") return "an object";
  const text = JSON.stringify(value);
  return text.length <= 80 ? text : `${text.slice(0, 77)}...`;
}
const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value) && !(value instanceof WrittenNumber);
const has = (object, key) => Object.prototype.hasOwnProperty.call(object, key);
const at = (path, key) => (typeof key === "number" ? `${path}[${key}]` : path ? `${path}.${key}` : key);

// Readers of one kind of value each: (value, path) -> the value as the checks use it, or
// MalformedBundle naming the path. They refuse what the JSON Schema refuses.
function object(value, path) {
  if (!isObject(value)) throw new MalformedBundle(path, `must be an object, got ${shown(value)}`);
  return value;
}

// The object's keys are exactly `required` plus any of `optional`.
function keys(value, path, required, optional = []) {
  for (const key of required) if (!has(value, key)) throw new MalformedBundle(at(path, key), "is missing");
  for (const key of Object.keys(value)) {
    if (!required.includes(key) && !optional.includes(key)) throw new MalformedBundle(at(path, key), "is not a field of the format");
  }
}

function text(value, path) {
  if (typeof value !== "string") throw new MalformedBundle(path, `must be a string, got ${shown(value)}`);
  return value;
}

function oneOf(choices) {
  return (value, path) => {
    if (!choices.includes(value)) throw new MalformedBundle(path, `must be one of ${choices.join(", ")}, got ${shown(value)}`);
    return value;
  };
}

const constant = (expected) => oneOf([expected]);

function boolean(value, path) {
  if (typeof value !== "boolean") throw new MalformedBundle(path, `must be true or false, got ${shown(value)}`);
  return value;
}

// An integer the format reads (a chain id, a block number, a log index): written as an integer,
// not negative. Returned as a BigInt.
function count(value, path) {
  if (typeof value === "bigint" && value >= 0n) return value;
  if (typeof value === "number" && Number.isInteger(value) && value >= 0) return BigInt(value);
  if (value instanceof WrittenNumber && Number.isInteger(value.value) && value.value >= 0) {
    throw new MalformedBundle(path, `must be an integer written without a fraction or an exponent, got ${value.text}`);
  }
  throw new MalformedBundle(path, `must be a non-negative integer, got ${shown(value)}`);
}

// A decoded integer value (an event argument, a record field) of at most `max`: any JSON number
// with no fractional part, as JSON Schema counts integers; the checks compare it as written.
function uint(max = null) {
  return (value, path) => {
    const number = value instanceof WrittenNumber ? value.value : value;
    const integral = typeof number === "bigint" || (typeof number === "number" && Number.isInteger(number));
    const amount = integral ? BigInt(number) : null;
    if (amount === null || amount < 0n || (max !== null && amount > max)) {
      throw new MalformedBundle(path, `must be an integer from 0${max === null ? "" : ` to ${max}`}, got ${shown(value)}`);
    }
    return value;
  };
}

function pattern(regex, what) {
  return (value, path) => {
    if (typeof value !== "string" || !regex.test(value)) throw new MalformedBundle(path, `must be ${what}, got ${shown(value)}`);
    return value;
  };
}

const bytes32 = pattern(/^0x[0-9a-f]{64}$/, "0x and 64 lowercase hex digits (32 bytes)");
const address = pattern(/^0x[0-9a-fA-F]{40}$/, "an address: 0x and 40 hex digits");
const hex = pattern(/^0x(?:[0-9a-f]{2})*$/, "0x and lowercase hex digits, two per byte");
const signature = pattern(/^0x[0-9a-f]{130}$/, "0x and 130 lowercase hex digits (65 bytes: r, s, v)");

function list(item, { min = 0, max = Infinity } = {}) {
  return (value, path) => {
    if (!Array.isArray(value)) throw new MalformedBundle(path, `must be a list, got ${shown(value)}`);
    if (value.length < min || value.length > max) {
      throw new MalformedBundle(path, `must hold ${max === Infinity ? `at least ${min}` : `${min} to ${max}`} items, got ${value.length}`);
    }
    return value.map((element, i) => item(element, at(path, i)));
  };
}

// An object of exactly the fields of `shape` (name -> reader), read in that order.
function record(shape) {
  return (value, path) => {
    object(value, path);
    keys(value, path, Object.keys(shape));
    const out = {};
    for (const [key, read] of Object.entries(shape)) out[key] = read(value[key], at(path, key));
    return out;
  };
}

const nullable = (read) => (value, path) => (value === null ? null : read(value, path));

const ARGS = {
  AssetRegistered: record({
    asset_id: bytes32, registrant: address, content_hash: bytes32, category: uint(65535n), grade: uint(255n),
    metadata_hash: bytes32, metadata_uri: text, channel: oneOf(CHANNELS), submitter: address,
  }),
  LeafPromoted: record({ root: bytes32, asset_id: bytes32, content_hash: bytes32 }),
  BatchAnchored: record({ root: bytes32, submitter: address, leaf_count: uint(4294967295n), manifest_uri: text }),
};

const ASSET_RECORD = record({
  registrant: address, registered_at: uint(), category: uint(65535n), grade: uint(255n), status: oneOf(STATUSES),
  under_objection: boolean, frozen: boolean, metadata_version: uint(), holder: address, metadata_hash: bytes32,
});
const BATCH_RECORD = record({ submitter: address, leaf_count: uint(4294967295n), anchored_at: uint() });

const LOG_FIELDS = ["contract", "event", "transaction_hash", "transaction_index", "block_number", "block_hash", "log_index", "topics", "data", "args"];

// One log as the bundle states it; `contract` and `event` are fixed by where it stands.
function logClaim(value, path, contract, event) {
  object(value, path);
  keys(value, path, LOG_FIELDS);
  const claim = {
    where: path,
    contract: constant(contract)(text(value.contract, at(path, "contract")), at(path, "contract")),
    event: constant(event)(text(value.event, at(path, "event")), at(path, "event")),
    txHash: bytes32(value.transaction_hash, at(path, "transaction_hash")),
    txIndex: count(value.transaction_index, at(path, "transaction_index")),
    blockNumber: count(value.block_number, at(path, "block_number")),
    blockHash: bytes32(value.block_hash, at(path, "block_hash")),
    logIndex: count(value.log_index, at(path, "log_index")),
    topics: list(bytes32, { min: 1, max: 4 })(value.topics, at(path, "topics")),
    data: hex(value.data, at(path, "data")),
  };
  claim.args = object(value.args, at(path, "args"));
  ARGS[event](value.args, at(path, "args"));
  return claim;
}

function contractClaims(value) {
  object(value, "contracts");
  const names = Object.keys(value);
  if (!names.length) throw new MalformedBundle("contracts", "must name at least one contract");
  const claims = {};
  for (const name of names) {
    oneOf(["DataAssetRegistry", "BatchAnchor"])(name, at("contracts", name));
    const item = record({ address, code_hash: bytes32 })(value[name], at("contracts", name));
    claims[name] = { address: item.address, codeHash: item.code_hash };
  }
  if (!has(value, "DataAssetRegistry")) throw new MalformedBundle("contracts.DataAssetRegistry", "is missing");
  return claims;
}

function batchClaim(value) {
  object(value, "batch");
  keys(value, "batch", ["root", "leaf", "proof", "promotion", "anchor"]);
  return {
    root: bytes32(value.root, "batch.root"),
    leaf: bytes32(value.leaf, "batch.leaf"),
    proof: list(bytes32)(value.proof, "batch.proof"),
    promotion: logClaim(value.promotion, "batch.promotion", "BatchAnchor", "LeafPromoted"),
    anchor: logClaim(value.anchor, "batch.anchor", "BatchAnchor", "BatchAnchored"),
  };
}

const CO_SIGNATURE = record({ witness: address, signature });

function sequenceOf(value) {
  const sequence = count(value, "checkpoint.sequence");
  if (sequence < 1n) throw new MalformedBundle("checkpoint.sequence", "must be 1 or more, got 0");
  return sequence;
}
const CHECKPOINT_FIELDS = [
  "chain_id", "contract", "transaction_hash", "block_number", "block_hash", "log_index", "sequence",
  "from_block", "to_block", "to_block_hash", "root", "block", "proof", "witnesses",
];

function checkpointClaim(value) {
  if (value === null) return null;
  object(value, "checkpoint");
  keys(value, "checkpoint", CHECKPOINT_FIELDS);
  const contract = record({ address, code_hash: bytes32 })(value.contract, "checkpoint.contract");
  const block = object(value.block, "checkpoint.block");
  keys(block, "checkpoint.block", ["number", "hash"]);
  return {
    chainId: count(value.chain_id, "checkpoint.chain_id"),
    contract: { address: contract.address, codeHash: contract.code_hash },
    txHash: bytes32(value.transaction_hash, "checkpoint.transaction_hash"),
    blockNumber: count(value.block_number, "checkpoint.block_number"),
    blockHash: bytes32(value.block_hash, "checkpoint.block_hash"),
    logIndex: count(value.log_index, "checkpoint.log_index"),
    sequence: sequenceOf(value.sequence),
    fromBlock: count(value.from_block, "checkpoint.from_block"),
    toBlock: count(value.to_block, "checkpoint.to_block"),
    toBlockHash: bytes32(value.to_block_hash, "checkpoint.to_block_hash"),
    root: bytes32(value.root, "checkpoint.root"),
    block: { number: count(block.number, "checkpoint.block.number"), hash: bytes32(block.hash, "checkpoint.block.hash") },
    proof: list(bytes32)(value.proof, "checkpoint.proof"),
    witnesses: list(CO_SIGNATURE)(value.witnesses, "checkpoint.witnesses"),
  };
}

const TOP_FIELDS = ["version", "chain_id", "asset_id", "content_hash", "channel", "contracts", "registration", "state"];

// The bundle's claims, its form checked field by field in the order the format lists them.
export function readClaims(bundle) {
  object(bundle, "");
  if (!has(bundle, "version")) throw new MalformedBundle("version", "is missing");
  const version = oneOf(VERSIONS)(text(bundle.version, "version"), "version");
  const second = version === VERSIONS[1];
  keys(bundle, "", [...TOP_FIELDS, ...(second ? ["checkpoint"] : [])], ["batch"]);
  const proof = {
    version,
    chainId: count(bundle.chain_id, "chain_id"),
    assetId: bytes32(bundle.asset_id, "asset_id"),
    contentHash: bytes32(bundle.content_hash, "content_hash"),
    channel: oneOf(CHANNELS)(bundle.channel, "channel"),
    contracts: contractClaims(bundle.contracts),
    registration: logClaim(bundle.registration, "registration", "DataAssetRegistry", "AssetRegistered"),
    batch: has(bundle, "batch") ? batchClaim(bundle.batch) : null,
  };
  if (proof.channel === "BATCH" && proof.batch === null) throw new MalformedBundle("batch", "is missing: the asset was registered from a batch");
  if (proof.batch !== null && !has(bundle.contracts, "BatchAnchor")) throw new MalformedBundle("contracts.BatchAnchor", "is missing: the bundle has a batch section");
  const state = object(bundle.state, "state");
  keys(state, "state", ["block_number", "block_hash", "asset", ...(proof.batch ? ["batch"] : [])]);
  proof.stateBlock = count(state.block_number, "state.block_number");
  proof.stateBlockHash = bytes32(state.block_hash, "state.block_hash");
  proof.assetRecord = nullable(ASSET_RECORD)(state.asset, "state.asset") && state.asset;
  proof.batchRecord = proof.batch ? nullable(BATCH_RECORD)(state.batch, "state.batch") && state.batch : null;
  proof.checkpoint = second ? checkpointClaim(bundle.checkpoint) : null;
  proof.logs = proof.batch ? [proof.registration, proof.batch.promotion, proof.batch.anchor] : [proof.registration];
  return proof;
}

// Bundle text (or a parsed bundle) -> its claims; MalformedBundle if it is not one.
export function readBundle(bundle) {
  return readClaims(typeof bundle === "string" ? readJson(bundle) : bundle);
}

// ------------------------------------------------------------------ JSON values compared as claims

// Whether a value the bundle states is the value the chain gives (a string, a boolean or an
// integer below 2^53, as the format renders decoded values): same type, same value.
function same(stated, actual) {
  return typeof stated === typeof actual && stated === actual;
}

// The first key where `stated` and `actual` differ, keys in sorted order, or null.
function difference(what, stated, actual) {
  const names = [...new Set([...Object.keys(stated), ...Object.keys(actual)])].sort();
  for (const key of names) {
    if (!has(stated, key) || !has(actual, key) || !same(stated[key], actual[key])) {
      return `${what}.${key} is ${has(actual, key) ? JSON.stringify(actual[key]) : "absent"} on chain, the bundle says ${has(stated, key) ? writeJson(stated[key]) : "nothing"}`;
    }
  }
  return null;
}

// ------------------------------------------------------------------ the ABI, as far as these events and calls need it

class Undecodable extends Error {}

const jsonUint = (value) => (value < SAFE ? Number(value) : value.toString());
const assetHex = (value) => `0x${value.toString(16).padStart(64, "0")}`;
const addressIn = (word32) => checksummed(hexOf(word32.subarray(12, 32)));

// The string whose offset is the word at `head` of `data`.
function stringAt(data, head) {
  const start = uintOf(data.subarray(head, head + 32));
  const size = BigInt(data.length);
  if (start + 32n > size) throw new Undecodable(`the string at ${head} runs past the data`);
  const length = uintOf(data.subarray(Number(start), Number(start) + 32));
  if (start + 32n + length > size) throw new Undecodable(`the string at ${head} runs past the data`);
  const raw = data.subarray(Number(start) + 32, Number(start + 32n + length));
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(raw);
  } catch (error) {
    throw new Undecodable(`the string at ${head} is not UTF-8`);
  }
}

function member(names, value, what) {
  if (value >= BigInt(names.length)) throw new Undecodable(`${value} is not a ${what}`);
  return names[Number(value)];
}

const topic0 = (signature) => keccakHex(utf8(signature));

// The events a bundle states: topic0, topic count, least data size, and the decoded fields in
// declaration order, as JSON values (asset ids as 32-byte hex, other integers as numbers below
// 2^53 and decimal text above, bytes as hex, addresses checksummed, enums by name).
const EVENTS = {
  AssetRegistered: {
    topic0: topic0("AssetRegistered(uint256,address,bytes32,uint16,uint8,bytes32,string,uint8,address)"),
    topics: 4,
    data: 192,
    decode: (topics, data) => ({
      asset_id: assetHex(uintOf(topics[1])),
      registrant: addressIn(topics[2]),
      content_hash: hexOf(topics[3]),
      category: jsonUint(uintOf(data.subarray(0, 32))),
      grade: jsonUint(uintOf(data.subarray(32, 64))),
      metadata_hash: hexOf(data.subarray(64, 96)),
      metadata_uri: stringAt(data, 96),
      channel: member(CHANNELS, uintOf(data.subarray(128, 160)), "Channel"),
      submitter: addressIn(data.subarray(160, 192)),
    }),
  },
  LeafPromoted: {
    topic0: topic0("LeafPromoted(bytes32,uint256,bytes32)"),
    topics: 4,
    data: 0,
    decode: (topics) => ({ root: hexOf(topics[1]), asset_id: assetHex(uintOf(topics[2])), content_hash: hexOf(topics[3]) }),
  },
  BatchAnchored: {
    topic0: topic0("BatchAnchored(bytes32,address,uint32,string)"),
    topics: 3,
    data: 64,
    decode: (topics, data) => ({
      root: hexOf(topics[1]),
      submitter: addressIn(topics[2]),
      leaf_count: jsonUint(uintOf(data.subarray(0, 32))),
      manifest_uri: stringAt(data, 32),
    }),
  },
  CheckpointSubmitted: {
    topic0: topic0("CheckpointSubmitted(uint256,uint64,uint64,uint64,bytes32,bytes32,address)"),
    topics: 3,
    data: 160,
    decode: (topics, data) => ({
      source_chain_id: uintOf(topics[1]),
      sequence: uintOf(topics[2]),
      from_block: uintOf(data.subarray(0, 32)),
      to_block: uintOf(data.subarray(32, 64)),
      to_block_hash: hexOf(data.subarray(64, 96)),
      root: hexOf(data.subarray(96, 128)),
      submitter: addressIn(data.subarray(128, 160)),
    }),
  },
};

// Raw topics and data (hex) as the event `name`, or Undecodable.
function decodeEvent(name, topics, data) {
  const event = EVENTS[name];
  if (!topics.length || topics[0].toLowerCase() !== event.topic0) throw new Undecodable(`topic0 is not ${name}'s`);
  if (topics.length !== event.topics) throw new Undecodable(`${name} has ${event.topics} topics, the log ${topics.length}`);
  const bytes = bytesOf(data.toLowerCase());
  if (bytes.length < event.data) throw new Undecodable(`${name} has at least ${event.data} data bytes, the log ${bytes.length}`);
  return event.decode(topics.map((topic) => bytesOf(topic.toLowerCase())), bytes);
}

const selector = (signature) => keccakHex(utf8(signature)).slice(0, 10);
const FUNCTIONS = {
  assetOf: selector("assetOf(uint256)"),
  ownerOf: selector("ownerOf(uint256)"),
  metadataHashOf: selector("metadataHashOf(uint256)"),
  batchOf: selector("batchOf(bytes32)"),
  checkpointOf: selector("checkpointOf(uint256,uint64)"),
};

// The static words a view returns, each read as its ABI type says (the padding of a narrower
// type must be zero, a bool 0 or 1), or Undecodable.
function returned(data, types) {
  if (data.length < 32 * types.length) throw new Undecodable(`the call returned ${data.length} bytes, expected ${32 * types.length}`);
  return types.map((type, i) => {
    const raw = data.subarray(32 * i, 32 * i + 32);
    const value = uintOf(raw);
    const bits = type === "address" ? 160 : type === "bool" ? 1 : type === "bytes32" ? 256 : Number(type.slice(4));
    if (bits < 256 && value >> BigInt(bits) !== 0n) throw new Undecodable(`word ${i} is no ${type}`);
    if (type === "address") return addressIn(raw);
    if (type === "bool") return value === 1n;
    if (type === "bytes32") return hexOf(raw);
    return value;
  });
}

// ------------------------------------------------------------------ a node

let requestId = 0;

// One JSON-RPC node; each receipt and block hash is fetched once.
class Node {
  constructor(url, timeoutMs = 60_000) {
    this.url = url;
    this.timeoutMs = timeoutMs;
    this.receipts = new Map();
    this.hashes = new Map();
  }

  async call(method, params) {
    let answer;
    try {
      const signal = typeof AbortSignal !== "undefined" && AbortSignal.timeout ? AbortSignal.timeout(this.timeoutMs) : undefined;
      answer = await fetch(this.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: ++requestId, method, params }),
        signal,
      });
    } catch (error) {
      throw new NodeUnreachable(this.url, (error.cause && error.cause.message) || error.message);
    }
    if (!answer.ok) throw new NodeUnreachable(this.url, `HTTP ${answer.status} to ${method}`);
    let body;
    try {
      body = await answer.json();
    } catch (error) {
      throw new NodeUnreachable(this.url, `its answer to ${method} is not JSON`);
    }
    if (!body || typeof body !== "object") throw new NodeUnreachable(this.url, `its answer to ${method} is not JSON-RPC`);
    if (body.error) throw new Refused(`${method}: ${body.error.message || JSON.stringify(body.error)}`);
    if (!has(body, "result")) throw new NodeUnreachable(this.url, `its answer to ${method} is not JSON-RPC`);
    return body.result;
  }

  async chainId() { return BigInt(await this.call("eth_chainId", [])); }

  async head() { return BigInt(await this.call("eth_blockNumber", [])); }

  // The receipt of a transaction, or null if the node has none.
  async receipt(txHash) {
    if (!this.receipts.has(txHash)) this.receipts.set(txHash, await this.call("eth_getTransactionReceipt", [txHash]));
    return this.receipts.get(txHash);
  }

  // The hash of block `number` (lowercase hex), or Refused if the node has no such block.
  async blockHash(number) {
    const key = number.toString();
    if (!this.hashes.has(key)) {
      const block = await this.call("eth_getBlockByNumber", [quantity(number), false]);
      if (!block || !block.hash) throw new Refused(`the node has no block ${number}`);
      this.hashes.set(key, block.hash.toLowerCase());
    }
    return this.hashes.get(key);
  }

  // keccak-256 of the runtime code at `address` in `block`, or null if there is none.
  async codeHash(addr, block) {
    const code = await this.call("eth_getCode", [addr.toLowerCase(), block === "latest" ? block : quantity(block)]);
    return code === "0x" || !code ? null : keccakHex(bytesOf(code.toLowerCase()));
  }

  // What a view call returns, as bytes.
  async view(to, data, block) {
    const result = await this.call("eth_call", [{ to: to.toLowerCase(), data }, block === "latest" ? block : quantity(block)]);
    if (typeof result !== "string" || !/^0x(?:[0-9a-fA-F]{2})*$/.test(result)) throw new Refused(`eth_call gave ${shown(result)}`);
    return bytesOf(result.toLowerCase());
  }

  // The address that emitted a log with the claim's topics and data in its transaction; null if
  // the transaction is unknown or holds no such log.
  async emitter(claim) {
    const receipt = await this.receipt(claim.txHash);
    if (!receipt) return null;
    const log = receipt.logs.find((item) => sameRaw(item, claim));
    return log ? checksummed(log.address) : null;
  }
}

const sameRaw = (log, claim) => log.data.toLowerCase() === claim.data
  && log.topics.length === claim.topics.length
  && log.topics.every((topic, i) => topic.toLowerCase() === claim.topics[i]);

// ------------------------------------------------------------------ the checks

const fail = (reason) => { throw new Failed(reason); };
const tie = (condition, reason) => { if (!condition) fail(reason); };
const tx = (claim) => `transaction ${claim.txHash}`;

async function receiptOf(node, claim) {
  const receipt = await node.receipt(claim.txHash);
  if (!receipt) fail(`${claim.where}: ${tx(claim)} is unknown to the node`);
  return receipt;
}

async function checkChain(proof, node) {
  const actual = await node.chainId();
  tie(actual === proof.chainId, `the node serves chain ${actual}, not the bundle's chain ${proof.chainId}`);
  return `the node serves chain ${actual}`;
}

async function checkReceipt(proof, node) {
  const found = [];
  for (const claim of proof.logs) {
    const receipt = await receiptOf(node, claim);
    tie(BigInt(receipt.status) === 1n, `${claim.where}: ${tx(claim)} reverted`);
    const index = BigInt(receipt.transactionIndex);
    tie(index === claim.txIndex, `${claim.where}: ${tx(claim)} is number ${index} in its block, not ${claim.txIndex}`);
    const log = receipt.logs.find((item) => BigInt(item.logIndex) === claim.logIndex);
    tie(log !== undefined, `${claim.where}: ${tx(claim)} holds no log ${claim.logIndex}`);
    tie(sameRaw(log, claim), `${claim.where}: log ${claim.logIndex} of ${tx(claim)} is not the stated topics and data`);
    found.push(`${claim.event} is log ${claim.logIndex} of ${tx(claim)}`);
  }
  return found.join("; ");
}

async function checkBlock(proof, node) {
  const found = new Set();
  for (const claim of proof.logs) {
    const receipt = await receiptOf(node, claim);
    const number = BigInt(receipt.blockNumber);
    tie(number === claim.blockNumber, `${claim.where}: ${tx(claim)} was mined in block ${number}, not ${claim.blockNumber}`);
    const actual = await node.blockHash(number);
    tie(actual === claim.blockHash && receipt.blockHash.toLowerCase() === claim.blockHash,
      `${claim.where}: the node's block ${number} is ${actual}, not ${claim.blockHash}`);
    found.add(`block ${number} is ${actual}`);
  }
  return [...found].join("; ");
}

// The claim's raw log decoded as `name`; its stated event name and arguments must agree.
function decoded(claim, name) {
  let args;
  try {
    args = decodeEvent(name, claim.topics, claim.data);
  } catch (error) {
    if (error instanceof Undecodable) fail(`${claim.where}: the log is no ${name}: ${error.message}`);
    throw error;
  }
  tie(claim.event === name, `${claim.where}: the log is ${name}, the bundle calls it ${claim.event}`);
  for (const [key, value] of Object.entries(args)) {
    tie(has(claim.args, key), `${claim.where}: args.${key} is missing (the log holds ${JSON.stringify(jsonable(value))})`);
    tie(same(claim.args[key], value), `${claim.where}: the log's args.${key} is ${JSON.stringify(jsonable(value))}, the bundle says ${writeJson(claim.args[key])}`);
  }
  for (const key of Object.keys(claim.args)) tie(has(args, key), `${claim.where}: args.${key} is no field of ${name}`);
  return args;
}
const jsonable = (value) => (typeof value === "bigint" ? value.toString() : value);

// asset id = uint256(keccak256(abi.encode(keccak256("provledger.asset.v1"), contentHash)))
const ASSET_ID_DOMAIN = keccak256(utf8("provledger.asset.v1"));
const assetIdOf = (contentHash) => keccakHex(join(ASSET_ID_DOMAIN, bytesOf(contentHash)));

async function checkEvent(proof) {
  const registered = decoded(proof.registration, "AssetRegistered");
  tie(registered.asset_id === proof.assetId, `the log registers asset ${registered.asset_id}, not ${proof.assetId}`);
  tie(registered.content_hash === proof.contentHash, `the log registers content hash ${registered.content_hash}, not ${proof.contentHash}`);
  tie(assetIdOf(proof.contentHash) === proof.assetId, `content hash ${proof.contentHash} gives asset id ${assetIdOf(proof.contentHash)}, not ${proof.assetId}`);
  tie(registered.channel === proof.channel, `the log says channel ${registered.channel}, the bundle ${proof.channel}`);
  if (proof.batch) {
    const promoted = decoded(proof.batch.promotion, "LeafPromoted");
    const anchored = decoded(proof.batch.anchor, "BatchAnchored");
    tie(promoted.asset_id === proof.assetId && promoted.content_hash === proof.contentHash, "batch.promotion: the log promotes another leaf than the bundle's asset");
    tie(promoted.root === anchored.root && anchored.root === proof.batch.root, "the promotion, the anchor and batch.root do not name one root");
  }
  return `${proof.logs.length} log(s) decode to the stated values of asset ${proof.assetId}`;
}

async function checkContract(proof, node) {
  for (const claim of proof.logs) {
    const stated = proof.contracts[claim.contract].address;
    await receiptOf(node, claim);
    const emitter = await node.emitter(claim);
    tie(emitter !== null, `${claim.where}: ${tx(claim)} holds no log with the stated topics and data`);
    tie(sameAddress(emitter, stated), `${claim.where}: ${emitter} emitted the log, not ${claim.contract} at ${checksummed(stated)}`);
  }
  const found = [];
  for (const [name, contract] of Object.entries(proof.contracts)) {
    const actual = await node.codeHash(contract.address, proof.stateBlock);
    tie(actual === contract.codeHash, `${name} at ${checksummed(contract.address)} has ${actual === null ? "no code" : `code hash ${actual}`} at block ${proof.stateBlock}, not ${contract.codeHash}`);
    found.push(`${name} at ${checksummed(contract.address)}`);
  }
  return `the emitters have the stated code: ${found.join(", ")}`;
}

// The asset id and content hash the registration's raw topics name, or the stated ones if they
// do not decode: the checks other than `event` read these, so an altered asset_id or
// content_hash fails `event` alone.
function subject(proof) {
  try {
    const registered = decodeEvent("AssetRegistered", proof.registration.topics, proof.registration.data);
    return { assetId: registered.asset_id, contentHash: registered.content_hash };
  } catch (error) {
    if (!(error instanceof Undecodable)) throw error;
    return { assetId: proof.assetId, contentHash: proof.contentHash };
  }
}

function batchOf(proof) {
  tie(proof.batch !== null, "the asset was registered from a batch, but the bundle has no batch section");
  return proof.batch;
}

// OpenZeppelin MerkleProof.processProof: fold the path with sorted-pair keccak-256.
function processProof(leaf, path) {
  let node = bytesOf(leaf);
  for (const sibling of path) {
    const other = bytesOf(sibling);
    node = keccak256(hexOf(node) < hexOf(other) ? join(node, other) : join(other, node));
  }
  return hexOf(node);
}

async function checkMerkle(proof) {
  const batch = batchOf(proof);
  const { contentHash } = subject(proof);
  const leaf = keccakHex(keccak256(bytesOf(contentHash)));
  tie(leaf === batch.leaf, `the leaf of content hash ${contentHash} is ${leaf}, not ${batch.leaf}`);
  const reached = processProof(leaf, batch.proof);
  tie(reached === batch.root, `the path of ${batch.proof.length} sibling(s) leads to ${reached}, not to root ${batch.root}`);
  return `${batch.proof.length} sibling(s) lead from leaf ${leaf} to root ${reached}`;
}

async function batchRecord(node, anchor, root, block) {
  const [submitter, leafCount, anchoredAt] = returned(await node.view(anchor, FUNCTIONS.batchOf + root.slice(2), block), ["address", "uint32", "uint40"]);
  if (anchoredAt === 0n) return null;
  return { submitter, leaf_count: jsonUint(leafCount), anchored_at: jsonUint(anchoredAt) };
}

async function checkAnchor(proof, node) {
  const batch = batchOf(proof);
  // read the contract that emitted the logs, so that a wrong address fails `contract` only
  const anchor = (await node.emitter(batch.anchor)) || (await node.emitter(batch.promotion)) || proof.contracts[batch.anchor.contract].address;
  const actual = await batchRecord(node, anchor, batch.root, proof.stateBlock);
  tie(actual !== null, `root ${batch.root} is not anchored at block ${proof.stateBlock}`);
  const differs = difference("state.batch", proof.batchRecord || {}, actual);
  tie(differs === null, differs);
  return `root ${batch.root} was anchored by ${actual.submitter} (${actual.leaf_count} leaves), read at block ${proof.stateBlock}`;
}

async function assetRecord(node, registry, assetId, block) {
  const call = async (name, types) => returned(await node.view(registry, FUNCTIONS[name] + assetId.slice(2), block), types);
  const [registrant, registeredAt, category, grade, status, underObjection, frozen, version] = await call(
    "assetOf", ["address", "uint40", "uint16", "uint8", "uint8", "bool", "bool", "uint16"]);
  if (status === 0n) return null;
  const [holder] = await call("ownerOf", ["address"]);
  const [metadataHash] = await call("metadataHashOf", ["bytes32"]);
  let statusName;
  try {
    statusName = member(STATUSES, status, "AssetStatus");
  } catch (error) {
    throw new Refused(error.message);
  }
  return {
    registrant, registered_at: jsonUint(registeredAt), category: jsonUint(category), grade: jsonUint(grade),
    status: statusName, under_objection: underObjection, frozen, metadata_version: jsonUint(version),
    holder, metadata_hash: metadataHash,
  };
}

async function checkState(proof, node) {
  const block = proof.stateBlock;
  let actualHash;
  try {
    actualHash = await node.blockHash(block);
  } catch (error) {
    if (error instanceof Refused) fail(`the node has no block ${block}`);
    throw error;
  }
  tie(actualHash === proof.stateBlockHash, `the node's block ${block} is ${actualHash}, not ${proof.stateBlockHash}`);
  const registry = (await node.emitter(proof.registration)) || proof.contracts[proof.registration.contract].address;
  const actual = await assetRecord(node, registry, subject(proof).assetId, block);
  if (actual === null && proof.assetRecord === null) return `the asset is not registered at block ${block}, as stated`;
  tie(actual !== null, `the asset is not registered at block ${block}, but the bundle states a record`);
  tie(proof.assetRecord !== null, `the asset is registered at block ${block}, but the bundle states none`);
  const differs = difference("state.asset", proof.assetRecord, actual);
  tie(differs === null, differs);
  return `at block ${block} the asset is held by ${actual.holder}, status ${actual.status}`;
}

// ------------------------------------------------------------------ checkpoints and witnesses (version 2)

// The OpenZeppelin StandardMerkleTree leaf of ["uint256", "bytes32"] [number, hash].
const blockLeaf = (number, hash) => keccakHex(keccak256(join(word(number), bytesOf(hash))));

// keccak256(abi.encode(uint64 fromBlock, uint64 toBlock, bytes32 toBlockHash, bytes32 root))
const commitmentOf = (cp) => keccakHex(join(word(cp.fromBlock), word(cp.toBlock), bytesOf(cp.toBlockHash), bytesOf(cp.root)));

function evidenceOf(proof) {
  tie(proof.checkpoint !== null, "the bundle carries no checkpoint evidence");
  return proof.checkpoint;
}

async function checkCheckpoint(proof, node, target) {
  const cp = evidenceOf(proof);
  tie(target !== null, `no node of target chain ${cp.chainId} was given`);
  const served = await target.chainId();
  tie(served === cp.chainId, `the target node serves chain ${served}, the checkpoint is on chain ${cp.chainId}`);
  const where = `checkpoint transaction ${cp.txHash}`;
  const receipt = await target.receipt(cp.txHash);
  tie(receipt !== null, `${where} is unknown to the target node (reorganised away, or never there)`);
  tie(BigInt(receipt.status) === 1n, `${where} reverted`);
  const number = BigInt(receipt.blockNumber);
  tie(number === cp.blockNumber && receipt.blockHash.toLowerCase() === cp.blockHash,
    `${where} is in target block ${number} (${receipt.blockHash.toLowerCase()}), not ${cp.blockNumber} (${cp.blockHash})`);
  const log = receipt.logs.find((item) => BigInt(item.logIndex) === cp.logIndex);
  tie(log !== undefined && sameAddress(log.address, cp.contract.address),
    `${where} holds no log ${cp.logIndex} of the Checkpoint contract at ${checksummed(cp.contract.address)}`);
  let submitted;
  try {
    submitted = decodeEvent("CheckpointSubmitted", log.topics, log.data);
  } catch (error) {
    if (error instanceof Undecodable) fail(`log ${cp.logIndex} of ${where} is no CheckpointSubmitted: ${error.message}`);
    throw error;
  }
  tie(submitted.source_chain_id === proof.chainId, `the checkpoint is of chain ${submitted.source_chain_id}, not of the bundle's chain ${proof.chainId}`);
  for (const [key, stated] of [["sequence", cp.sequence], ["from_block", cp.fromBlock], ["to_block", cp.toBlock], ["to_block_hash", cp.toBlockHash], ["root", cp.root]]) {
    tie(submitted[key] === stated, `the checkpoint log says ${key} ${submitted[key]}, the bundle ${stated}`);
  }
  const code = await target.codeHash(cp.contract.address, await target.head());
  tie(code === cp.contract.codeHash, `the Checkpoint contract at ${checksummed(cp.contract.address)} has ${code === null ? "no code" : `code hash ${code}`}, not ${cp.contract.codeHash}`);
  const call = FUNCTIONS.checkpointOf + hexOf(join(word(proof.chainId), word(cp.sequence))).slice(2);
  const [recorded] = returned(await target.view(cp.contract.address, call, "latest"), ["bytes32"]);
  tie(recorded === commitmentOf(cp), `the contract holds ${recorded} for checkpoint ${cp.sequence}, not the commitment of the stated one (${commitmentOf(cp)})`);
  tie(cp.block.number === proof.registration.blockNumber && cp.block.hash === proof.registration.blockHash,
    `the evidenced block is ${cp.block.number} (${cp.block.hash}), the registration's ${proof.registration.blockNumber} (${proof.registration.blockHash})`);
  tie(cp.fromBlock <= cp.block.number && cp.block.number <= cp.toBlock, `block ${cp.block.number} is not among blocks ${cp.fromBlock} to ${cp.toBlock} of checkpoint ${cp.sequence}`);
  const reached = processProof(blockLeaf(cp.block.number, cp.block.hash), cp.proof);
  tie(reached === cp.root, `the path of block ${cp.block.number} leads to ${reached}, not to the checkpoint's root ${cp.root}`);
  for (const [at, recordedHash] of [[cp.toBlock, cp.toBlockHash], [cp.block.number, cp.block.hash]]) {
    let actual;
    try {
      actual = await node.blockHash(at);
    } catch (error) {
      if (!(error instanceof Refused)) throw error;
      fail(`the source node has no block ${at}: its chain is shorter than checkpoint ${cp.sequence} covers (history rewritten, or the node is behind)`);
    }
    tie(actual === recordedHash, `the source chain's history was rewritten after checkpoint ${cp.sequence}: its block ${at} is ${actual}, the checkpoint recorded ${recordedHash}`);
  }
  return `block ${cp.block.number} is in checkpoint ${cp.sequence} (blocks ${cp.fromBlock} to ${cp.toBlock}) recorded on chain ${cp.chainId}, and the source chain still has those blocks`;
}

const EIP712_DOMAIN = keccak256(utf8("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"));
const CHECKPOINT_TYPE = keccak256(utf8("Checkpoint(uint256 sourceChainId,uint64 sequence,uint64 fromBlock,uint64 toBlock,bytes32 toBlockHash,bytes32 root)"));

// The EIP-712 digest a witness signs for the checkpoint (the spec's domain and type).
export function witnessDigest(sourceChainId, cp) {
  const domain = keccak256(join(EIP712_DOMAIN, keccak256(utf8("provledger checkpoint")), keccak256(utf8("1")),
    word(cp.chainId), word(BigInt(cp.contract.address))));
  const struct = keccak256(join(CHECKPOINT_TYPE, word(sourceChainId), word(cp.sequence), word(cp.fromBlock), word(cp.toBlock),
    bytesOf(cp.toBlockHash), bytesOf(cp.root)));
  return keccak256(join(Uint8Array.of(0x19, 0x01), domain, struct));
}

// v as a signature may carry it: 27 or 28, 0 or 1, or EIP-155's 35 + 2 * chain id + parity;
// null for any other.
function parity(v) {
  if (v === 27 || v === 28) return v;
  if (v === 0 || v === 1) return v + 27;
  if (v >= 35) return ((v - 35) % 2) + 27;
  return null;
}

// The signer of `digest` by the ecrecover precompile of `node`, or null for a signature it does
// not recover (a v that says no parity, r or s out of range).
async function recovered(node, digest, sig) {
  const raw = bytesOf(sig);
  const v = parity(raw[64]);
  if (v === null) return null;
  const input = join(digest, word(v), raw.subarray(0, 32), raw.subarray(32, 64));
  const output = await node.view(ECRECOVER, hexOf(input), "latest");
  if (output.length < 32 || uintOf(output) === 0n) return null;
  return addressIn(output.subarray(0, 32));
}

async function checkWitnesses(proof, node, target, policy) {
  const cp = evidenceOf(proof);
  const digest = witnessDigest(proof.chainId, cp);
  const signers = [];
  for (const [i, item] of cp.witnesses.entries()) {
    const signer = await recovered(target || node, digest, item.signature);
    tie(signer !== null && sameAddress(signer, item.witness), `co-signature ${i} is not ${checksummed(item.witness)}'s signature of checkpoint ${cp.sequence}`);
    signers.push(checksummed(item.witness));
  }
  const distinct = [...new Set(signers)];
  if (!policy.known.length) return `${distinct.length} valid co-signature(s), no witness policy given`;
  const known = distinct.filter((signer) => policy.known.includes(signer));
  const unknown = distinct.filter((signer) => !policy.known.includes(signer));
  let said = `${known.length} of ${policy.known.length} known witnesses co-signed checkpoint ${cp.sequence}`;
  if (unknown.length) said += `; ${unknown.map((signer) => `unknown witness ${signer}`).join(", ")} not counted`;
  tie(known.length >= policy.required, `${said}; ${policy.required} required`);
  return `${said}; ${policy.required} required`;
}

// ------------------------------------------------------------------ running them

const CHECKERS = {
  chain: checkChain, receipt: checkReceipt, block: checkBlock, event: checkEvent, contract: checkContract,
  merkle: checkMerkle, anchor: checkAnchor, state: checkState, checkpoint: checkCheckpoint, witnesses: checkWitnesses,
};

async function run(name, ...args) {
  const title = CHECKS[name];
  try {
    return { name, title, passed: true, reason: await CHECKERS[name](...args) };
  } catch (error) {
    if (error instanceof NodeUnreachable) throw error;
    if (error instanceof Failed) return { name, title, passed: false, reason: error.message };
    if (error instanceof Refused) return { name, title, passed: false, reason: `the node refused: ${error.message}` };
    if (error instanceof Undecodable) return { name, title, passed: false, reason: `the node's answer does not decode: ${error.message}` };
    return { name, title, passed: false, reason: `the check could not be completed: ${error.message}` };
  }
}

// The witness policy: the known witnesses (distinct, checksummed) and how many of them must
// have co-signed; refused when no one could meet it.
function policyOf(witnesses, witnessesRequired) {
  const known = [];
  for (const item of witnesses || []) {
    if (typeof item !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(item)) throw new BadOptions(`witness ${JSON.stringify(item)} is not an address (0x and 40 hex digits)`);
    const mixed = item.slice(2) !== item.slice(2).toLowerCase() && item.slice(2) !== item.slice(2).toUpperCase();
    if (mixed && item !== checksummed(item)) throw new BadOptions(`witness ${item} is mixed-case but not its EIP-55 checksum (${checksummed(item)}): a typo?`);
    if (!known.includes(checksummed(item))) known.push(checksummed(item));
  }
  const required = witnessesRequired === undefined || witnessesRequired === null ? 0 : witnessesRequired;
  if (!Number.isSafeInteger(required) || required < 0) throw new BadOptions(`the number of witnesses required must be a whole number, got ${JSON.stringify(required)}`);
  if (required > 0 && !known.length) throw new BadOptions(`${required} witness(es) required, but no known witness is named (anyone can make a key: name the witnesses you trust)`);
  if (required > known.length) throw new BadOptions(`${required} witnesses required, but only ${known.length} are named`);
  return { known, required };
}

// Re-check `bundle` (JSON text, or a parsed bundle: text keeps 1.0 apart from 1) against the
// node `rpc` of its chain and, for a checkpoint, the node `checkpointRpc` of the target chain;
// the witness policy is `witnesses` (known addresses) and `witnessesRequired` (k).
// -> {ok, asset_id, chain_id, checks: [{name, title, passed, reason}]}.
// Throws MalformedBundle (the bundle's form), BadOptions, NodeUnreachable (no verdict).
export async function verifyBundle(bundle, { rpc, checkpointRpc = null, witnesses = null, witnessesRequired = 0, timeoutMs } = {}) {
  const proof = readBundle(bundle);
  if (!rpc) throw new BadOptions("a node of the bundle's chain is needed: give its JSON-RPC URL (rpc)");
  const policy = policyOf(witnesses, witnessesRequired);
  const node = new Node(rpc, timeoutMs);
  await node.head(); // a node that cannot tell its head gives no verdict
  // the evidence's checks run for a bundle with evidence, and for any when witnesses are required
  const evidence = proof.checkpoint !== null || policy.required > 0;
  const target = evidence && checkpointRpc ? new Node(checkpointRpc, timeoutMs) : null;
  if (target) await target.head();
  const batchLeaf = proof.batch !== null || proof.channel === "BATCH";
  const names = Object.keys(CHECKS).filter((name) => (batchLeaf || !BATCH_ONLY.includes(name))
    && (evidence || !CHECKPOINT_ONLY.includes(name)));
  const checks = [];
  for (const name of names) checks.push(await run(name, proof, node, target, policy));
  return {
    ok: checks.length > 0 && checks.every((check) => check.passed),
    asset_id: proof.assetId,
    chain_id: proof.chainId < SAFE ? Number(proof.chainId) : proof.chainId,
    checks,
  };
}

// ------------------------------------------------------------------ the command line

const USAGE = "usage: node verify-proof.mjs BUNDLE.json --rpc URL [--checkpoint-rpc URL] [--witness ADDR ...] [--witnesses-required K (default: every witness named)] [--json]";

function parseArguments(argv) {
  const options = { file: null, rpc: null, checkpointRpc: null, witnesses: null, witnessesRequired: null, json: false };
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i];
    const [flag, inline] = argument.startsWith("--") && argument.includes("=") ? [argument.slice(0, argument.indexOf("=")), argument.slice(argument.indexOf("=") + 1)] : [argument, null];
    const value = () => {
      if (inline !== null) return inline;
      if (i + 1 >= argv.length || argv[i + 1].startsWith("--")) throw new BadOptions(`${flag} needs a value`);
      return argv[++i];
    };
    if (flag === "--rpc" || flag === "--rpc-url") options.rpc = value();
    else if (flag === "--checkpoint-rpc" || flag === "--checkpoint-rpc-url") options.checkpointRpc = value();
    else if (flag === "--witness") {
      options.witnesses = options.witnesses || [];
      options.witnesses.push(value());
      while (inline === null && i + 1 < argv.length && /^0x[0-9a-fA-F]{40}$/.test(argv[i + 1])) options.witnesses.push(argv[++i]);
    } else if (flag === "--witnesses-required") {
      const given = value();
      if (!/^[0-9]+$/.test(given)) throw new BadOptions(`--witnesses-required takes a whole number, got ${JSON.stringify(given)}`);
      options.witnessesRequired = Number(given);
    } else if (flag === "--json") options.json = true;
    else if (flag === "--help" || flag === "-h") { options.help = true; }
    else if (flag.startsWith("-")) throw new BadOptions(`unknown option ${flag}`);
    else if (options.file === null) options.file = argument;
    else throw new BadOptions(`one bundle at a time (got ${options.file} and ${argument})`);
  }
  if (options.help) return options;
  if (options.witnessesRequired === null) { // by default, every witness named
    options.witnessesRequired = new Set((options.witnesses || []).map((item) => item.toLowerCase())).size;
  }
  if (options.file === null) throw new BadOptions("give the bundle's file");
  if (!options.rpc) throw new BadOptions("give the JSON-RPC URL of a node of the bundle's chain: --rpc URL");
  return options;
}

async function main(argv) {
  const say = (line) => process.stdout.write(`${line}\n`);
  const refuse = (code, message) => { process.stderr.write(`verify-proof: ${message.replace(/\s*\n\s*/g, " ")}\n`); return code; };
  let options;
  try {
    options = parseArguments(argv);
  } catch (error) {
    return refuse(2, `${error.message}\n${USAGE}`);
  }
  if (options.help) { say(USAGE); return 0; }
  let text;
  try {
    const { readFile } = await import("node:fs/promises");
    text = await readFile(options.file, "utf8");
  } catch (error) {
    return refuse(2, `cannot read proof bundle ${options.file}: ${error.code === "ENOENT" ? "no such file" : error.message}`);
  }
  let report;
  try {
    report = await verifyBundle(text, options);
  } catch (error) {
    if (error instanceof MalformedBundle || error instanceof BadOptions) return refuse(2, error.message);
    if (error instanceof NodeUnreachable) return refuse(3, error.message);
    return refuse(3, `verification stopped: ${error.message}`);
  }
  if (options.json) say(writeJson(report));
  else {
    for (const check of report.checks) say(`${check.passed ? "\u2713" : "\u2717"} ${check.name}: ${check.reason}`);
    const failed = report.checks.filter((check) => !check.passed).map((check) => check.name);
    say(failed.length
      ? `not verified: ${failed.length} of ${report.checks.length} checks failed (${failed.join(", ")})`
      : `verified: all ${report.checks.length} checks passed on chain ${report.chain_id}`);
  }
  return report.ok ? 0 : 1;
}

if (IN_NODE && process.argv[1]) {
  const { pathToFileURL } = await import("node:url");
  const { realpathSync } = await import("node:fs");
  let invoked;
  try { invoked = pathToFileURL(realpathSync(process.argv[1])).href; } catch { invoked = null; }
  if (invoked === import.meta.url) process.exitCode = await main(process.argv.slice(2));
}

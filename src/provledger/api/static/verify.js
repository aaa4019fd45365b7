// Hash a dropped or chosen file or folder in the browser, then look up only the hash.
// Files over 64 MiB are read in 4 MiB slices and fed to an incremental SHA-256, so memory stays
// flat for any size; a folder's content hash and batch root come from merkle.js. Nothing but
// hashes leaves the page.
//
// A dropped disclosure (a provledger-disclosure/1 presentation of committed metadata) is
// checked here instead, as `provledger verify-disclosure` checks it: each disclosed field's leaf
// and the multiproof must give the stated root (merkle.js), the header field must name exactly
// the fields disclosed and withheld, and, on this gateway's chain (GET /assets/{id} and GET
// /status), the root must be the metadata hash the asset anchors and the header's content hash
// the one it was registered with. Nothing of the presentation leaves the page but the asset id.
//
// A dropped proof bundle (a .json whose version starts with provledger-proof/) is re-checked by
// verify-proof.mjs, the verifier written apart from provledger's Python, against the nodes the
// page names (by default this gateway's read-only passthroughs /rpc and /rpc/checkpoint; any
// node that answers cross-origin requests otherwise), and each check is shown.
"use strict";

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

class Sha256 {
  constructor() {
    this.h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                              0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
    this.block = new Uint8Array(64);
    this.filled = 0;
    this.length = 0;
    this.w = new Uint32Array(64);
  }
  compress(bytes, offset) {
    const w = this.w, h = this.h;
    for (let i = 0; i < 16; i++) {
      const j = offset + i * 4;
      w[i] = (bytes[j] << 24) | (bytes[j + 1] << 16) | (bytes[j + 2] << 8) | bytes[j + 3];
    }
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15], b = w[i - 2];
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (let i = 0; i < 64; i++) {
      const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (k + s1 + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
      const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      k = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
  }
  update(bytes) {
    let offset = 0;
    this.length += bytes.length;
    if (this.filled) {
      const take = Math.min(64 - this.filled, bytes.length);
      this.block.set(bytes.subarray(0, take), this.filled);
      this.filled += take;
      offset = take;
      if (this.filled < 64) return;
      this.compress(this.block, 0);
      this.filled = 0;
    }
    for (; offset + 64 <= bytes.length; offset += 64) this.compress(bytes, offset);
    this.block.set(bytes.subarray(offset), 0);
    this.filled = bytes.length - offset;
  }
  hex() {
    const bits = this.length * 8;
    const tail = new Uint8Array(this.filled < 56 ? 64 : 128);
    tail.set(this.block.subarray(0, this.filled));
    tail[this.filled] = 0x80;
    const view = new DataView(tail.buffer);
    view.setUint32(tail.length - 8, Math.floor(bits / 0x100000000));
    view.setUint32(tail.length - 4, bits >>> 0);
    for (let offset = 0; offset < tail.length; offset += 64) this.compress(tail, offset);
    return Array.from(this.h, (word) => (word >>> 0).toString(16).padStart(8, "0")).join("");
  }
}

const SLICE = 4 * 1024 * 1024;
const SMALL = 64 * 1024 * 1024; // up to this size, Web Crypto hashes the whole file at once

async function hashFile(file, onProgress) {
  if (file.size <= SMALL && globalThis.crypto && crypto.subtle) {
    const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
    onProgress(1);
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  }
  const sha = new Sha256();
  for (let offset = 0; offset < file.size; offset += SLICE) {
    const part = await file.slice(offset, offset + SLICE).arrayBuffer();
    sha.update(new Uint8Array(part));
    onProgress(Math.min(1, (offset + SLICE) / file.size));
  }
  if (file.size === 0) onProgress(1);
  return sha.hex();
}

const hexOf = (hex) => Uint8Array.from(hex.match(/../g) || [], (pair) => parseInt(pair, 16));

async function sha256Hex(bytes) {
  if (globalThis.crypto && crypto.subtle) {
    const digest = await crypto.subtle.digest("SHA-256", bytes);
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  }
  const sha = new Sha256();
  sha.update(bytes);
  return sha.hex();
}

// ---- presentations of committed metadata (provledger.commitments.Presentation)

const PRESENTATION_FORMAT = "provledger-disclosure/1";
const METADATA_KIND = "provledger-fields/1";
const CONTENT_KIND = "provledger-salted-sha256/1";
const PRESENTATION_MAX_BYTES = 1 << 20;
const MAX_FIELDS = 256;
// The field every presentation discloses: {"content_hash", "fields"}, the registration's content
// hash and the names of the document's own fields, sorted.
const HEADER_FIELD = "@registration";

// A presentation that does not read: `part` is the path of what is wrong (fields[2].salt).
class Unreadable extends Error {
  constructor(part, reason, message = `${part} ${reason}`) {
    super(message);
    this.part = part;
  }
}

// The presentation in a dropped file's bytes, or null if they are not one (then the file is
// hashed and looked up like any other). Numbers written as fractions are refused where the
// browser can tell (JSON.parse's source text), as Python refuses them.
function presentationIn(bytes) {
  let text;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    return null;
  }
  if (!/^\s*\{/.test(text) || !text.includes(PRESENTATION_FORMAT)) return null;
  const fractions = [];
  let raw;
  try {
    raw = JSON.parse(text, function (key, value, context) {
      if (typeof value === "number" && context && /[.eE]/.test(context.source)) fractions.push(context.source);
      return value;
    });
  } catch (error) {
    return null;
  }
  if (!raw || typeof raw !== "object" || raw.format !== PRESENTATION_FORMAT) return null;
  return { raw, fractions };
}

const isText = (value) => typeof value === "string";

function bytes32(value, part) {
  if (!isText(value) || !/^0[xX][0-9a-fA-F]{64}$/.test(value)) throw new Unreadable(part, "is not 0x and 64 hex digits");
  return hexOf(value.slice(2));
}

function list(value, part) {
  if (!Array.isArray(value)) throw new Unreadable(part, "is missing or not a list");
  return value;
}

// A field name (merkle.js's rule); one starting with "@" only where `header` allows the header's.
function fieldName(value, part, header = false) {
  if (!isText(value)) throw new Unreadable(part, "is missing or not text");
  const fault = fieldNameFault(value);
  if (fault) throw new Unreadable(part, fault);
  if (value.startsWith("@") && !(header && value === HEADER_FIELD)) throw new Unreadable(part, `names a reserved field: names starting with @ are reserved (${JSON.stringify(value)})`);
  return value;
}

function readNames(value, part) {
  const read = list(value, part).map((name, i) => fieldName(name, `${part}[${i}]`));
  if (new Set(read).size !== read.length) throw new Unreadable(part, "names a field twice");
  return read;
}

// What the header field's value says: {contentHash: "0x…" lowercase, names: [sorted]}; a part
// that does not read is named as Python names it (fields.@registration.fields).
function headerOf(value) {
  const part = `fields.${HEADER_FIELD}`;
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new Unreadable(part, "must be a JSON object");
  const keys = Object.keys(value).sort();
  if (keys.length !== 2 || keys[0] !== "content_hash" || keys[1] !== "fields") throw new Unreadable(part, "holds content_hash and fields, nothing else");
  const named = readNames(value.fields, `${part}.fields`);
  if (named.some((name, i) => i > 0 && byCodePoint(named[i - 1], name) > 0)) throw new Unreadable(`${part}.fields`, "must be sorted");
  return { contentHash: `0x${toHex(bytes32(value.content_hash, `${part}.content_hash`))}`, names: named };
}

function assetHex(value) {
  if (isText(value) && /^0[xX][0-9a-fA-F]{1,64}$/.test(value)) return `0x${value.slice(2).toLowerCase().padStart(64, "0")}`;
  if (isText(value) && /^[0-9]{1,78}$/.test(value)) {
    const number = BigInt(value);
    if (number < (1n << 256n)) return `0x${number.toString(16).padStart(64, "0")}`;
  }
  throw new Unreadable("asset_id", "is neither 0x-prefixed hex nor a decimal number");
}

// Every part of the presentation, checked for shape (what Presentation.parse checks), with
// each disclosed field's leaf computed.
function readPresentation({ raw, fractions }) {
  if (fractions.length) throw new Unreadable("a number", `(${fractions[0]}) is written as a fraction; a field value writes fractions as text`);
  if (raw.kind !== METADATA_KIND) throw new Unreadable("kind", `${JSON.stringify(raw.kind)} is not a known kind: this page knows ${METADATA_KIND}`);
  if (!Number.isSafeInteger(raw.chain_id) || raw.chain_id <= 0) throw new Unreadable("chain_id", "must be a positive integer");
  if (!isText(raw.registry) || !/^0[xX][0-9a-fA-F]{40}$/.test(raw.registry.trim())) throw new Unreadable("registry", "is not 0x and 40 hex digits");
  const fields = list(raw.fields, "fields").map((item, i) => {
    const part = `fields[${i}]`;
    if (!item || typeof item !== "object" || Array.isArray(item)) throw new Unreadable(part, "must be a JSON object");
    const name = fieldName(item.name, `${part}.name`, true);
    if (!("value" in item)) throw new Unreadable(`${part}.value`, "is missing");
    const salt = bytes32(item.salt, `${part}.salt`);
    let hash;
    try {
      hash = valueHash(item.value, `${part}.value`);
    } catch (error) {
      throw new Unreadable(`${part}.value`, "", error.message);
    }
    return { name, value: item.value, leaf: fieldLeaf(name, salt, hash) };
  });
  if (fields.length > MAX_FIELDS) throw new Unreadable("fields", `has more than ${MAX_FIELDS} fields`);
  const disclosedNames = new Set(fields.map((field) => field.name));
  if (disclosedNames.size !== fields.length) throw new Unreadable("fields", "names a field twice");
  const found = fields.find((field) => field.name === HEADER_FIELD);
  if (!found) throw new Unreadable("fields", `has no ${HEADER_FIELD} field, which every presentation discloses`);
  const header = headerOf(found.value);
  const withheld = readNames(raw.withheld, "withheld");
  const both = withheld.find((name) => disclosedNames.has(name));
  if (both !== undefined) throw new Unreadable("withheld", `names ${JSON.stringify(both)}, which is also disclosed`);
  const proof = list(raw.proof, "proof").map((node, i) => bytes32(node, `proof[${i}]`));
  const flags = list(raw.proof_flags, "proof_flags");
  if (!flags.every((flag) => typeof flag === "boolean")) throw new Unreadable("proof_flags", "must be a list of true and false");
  let content = null;
  if (raw.content !== undefined && raw.content !== null) {
    if (typeof raw.content !== "object" || raw.content.kind !== CONTENT_KIND) throw new Unreadable("content.kind", `is not ${CONTENT_KIND}`);
    content = { sha256: bytes32(raw.content.sha256, "content.sha256"), salt: bytes32(raw.content.salt, "content.salt") };
  }
  return {
    chainId: raw.chain_id,
    registry: raw.registry.trim(),
    asset: assetHex(raw.asset_id),
    root: `0x${toHex(bytes32(raw.root, "root"))}`,
    leaves: fields.map((field) => field.leaf),
    fields: fields.filter((field) => field.name !== HEADER_FIELD),
    header, withheld, proof, flags, content,
  };
}

// The checks of provledger.services.disclosure that a browser can run against the gateway,
// in its order: [{name, passed, detail}], stopping at none so that every failure is named.
async function checkPresentation(shown) {
  const checks = [];
  const add = (name, passed, detail) => checks.push({ name, passed, detail });
  const [status, asset] = await Promise.all([
    fetch("/status").then((answer) => (answer.ok ? answer.json() : null)),
    fetch(`/assets/${shown.asset}`).then((answer) => (answer.ok ? answer.json() : null)),
  ]);
  if (!status || status.chain_id === null) add("chain", false, "this gateway does not say which chain it reads");
  else if (status.chain_id !== shown.chainId) add("chain", false, `the presentation is for chain ${shown.chainId}; this gateway reads chain ${status.chain_id}`);
  else add("chain", true, `chain ${status.chain_id}`);
  const uri = asset ? asset.metadata_uri : "";
  const kinds = uri.startsWith("commitment:") ? uri.slice("commitment:".length).split(";") : [];
  if (!asset) add("commitment", false, `asset ${shown.asset} is not registered (not in this gateway's index)`);
  else if (kinds[0] !== METADATA_KIND) add("commitment", false, `the asset's metadata URI ${JSON.stringify(uri)} declares no ${METADATA_KIND} commitment`);
  else add("commitment", true, `metadata URI ${uri}`);
  if (!asset) add("asset", false, "the asset is not registered");
  else if (shown.header.contentHash !== asset.content_hash) add("asset", false, `the header names content hash ${shown.header.contentHash}; asset ${shown.asset} was registered with ${asset.content_hash}`);
  else add("asset", true, `content hash ${asset.content_hash}`);
  add("proof", ...proved(shown));
  if (asset && asset.metadata_hash !== shown.root) add("root", false, `the stated root ${shown.root} is not the asset's metadata hash on chain, ${asset.metadata_hash}`);
  else if (asset) add("root", true, `the stated root is the asset's metadata hash on chain, ${asset.metadata_hash}`);
  if (shown.content) {
    const joined = new Uint8Array(64);
    joined.set(shown.content.sha256);
    joined.set(shown.content.salt, 32);
    const commitment = `0x${toHex(keccak256(joined))}`;
    if (!asset) add("content", false, "the asset is not registered");
    else if (kinds[1] !== `content=${CONTENT_KIND}`) add("content", false, "the asset was registered with its plain content hash");
    else if (commitment !== asset.content_hash) add("content", false, `keccak256(sha256 || salt) is ${commitment}, not the registered content hash ${asset.content_hash}`);
    else add("content", true, `content SHA-256 0x${toHex(shown.content.sha256)}`);
  }
  return checks;
}

// [passed, detail] of the "proof" check: the leaves and the multiproof give the stated root, and
// the header names exactly the fields disclosed and withheld.
function proved(shown) {
  let computed;
  try {
    computed = `0x${toHex(processMultiProof(shown.leaves, shown.proof, shown.flags))}`;
  } catch (error) {
    return [false, `the proof does not fit the fields: ${error.message}`];
  }
  if (computed !== shown.root) return [false, "the disclosed fields and the proof do not give the stated root: a field's value, name or salt, or a proof element, is not the one committed to"];
  const stated = [...shown.fields.map((field) => field.name), ...shown.withheld].sort(byCodePoint);
  if (stated.join("\u0000") !== shown.header.names.join("\u0000")) {
    return [false, `the committed fields are ${shown.header.names.join(", ")}; the presentation discloses and withholds ${stated.join(", ")}`];
  }
  return [true, `${shown.fields.length} disclosed fields and the header lead to the root ${shown.root}`];
}

// ---- showing the outcome

function element(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

const CHECK_NAMES = {
  chain: "Chain", commitment: "Commitment", asset: "Asset", proof: "Proof", root: "Root", content: "Content hash",
};

// What failed, in one sentence naming the part that did not match.
function failureOf(failed) {
  const names = failed.map((check) => check.name);
  if (names.includes("chain")) return "The chain does not match: the presentation is for another chain than this gateway's.";
  if (names.includes("proof")) return "The proof does not match: a disclosed field's value (or its name or salt), or the proof itself, is not what the asset committed to.";
  if (names.includes("commitment")) return "The asset does not commit to its metadata by salted fields, or is not registered here.";
  if (names.includes("root")) return "The root does not match: the presentation's root is not the metadata hash the asset anchors on chain.";
  if (names.includes("asset")) return "The asset does not match: the commitment is of another registration (its header names another content hash), so its fields are not this asset's.";
  return "The content hash does not match: the disclosed SHA-256 and salt do not give the registered content commitment.";
}

function showDisclosure(section, shown, checks) {
  const failed = checks.filter((check) => !check.passed);
  const proved = failed.length === 0;
  const heading = element("h2", { id: "disclosure-h", class: proved ? "yes" : "no" }, proved ? "Disclosure verified" : "Disclosure not verified");
  const parts = [heading];
  if (!proved) parts.push(element("p", { class: "error", role: "alert" }, failureOf(failed)));
  const assetLink = element("a", { href: `/asset/${shown.asset}` }, element("code", { class: "wrap" }, shown.asset));
  const counted = `${shown.fields.length} of ${shown.fields.length + shown.withheld.length} fields of asset `;
  parts.push(proved
    ? element("p", {}, counted, assetLink, " are proved against the commitment it anchors on chain; the others are withheld.")
    : element("p", {}, "The presentation speaks of asset ", assetLink, ". None of its fields is proved."));
  const rows = shown.fields.map((field) => element("tr", { "data-field": field.name, "data-standing": proved ? "proved" : "not proved" },
    element("td", {}, field.name),
    element("td", {}, isText(field.value) ? field.value : element("code", { class: "wrap" }, canonicalJson(field.value))),
    element("td", {}, proved
      ? element("span", { class: "yes", title: "proved against the on-chain commitment" }, "\u2713 proved")
      : element("span", { class: "no" }, "\u2717 not proved"))));
  for (const name of shown.withheld) {
    rows.push(element("tr", { "data-field": name, "data-standing": "withheld" },
      element("td", {}, name), element("td", { class: "small" }, "not disclosed"), element("td", {}, "withheld")));
  }
  const head = element("tr", {}, ...["Field", "Value", "Standing"].map((title) => element("th", { scope: "col" }, title)));
  parts.push(element("table", { tabindex: "0", "aria-labelledby": "disclosure-h", class: "fields" },
    element("thead", {}, head), element("tbody", {}, ...rows)));
  const facts = element("dl", { class: "facts", id: "disclosure-checks" });
  for (const check of checks) {
    facts.append(element("dt", {}, CHECK_NAMES[check.name]),
      element("dd", { "data-check": check.name, class: check.passed ? "yes" : "no" }, `${check.passed ? "\u2713" : "\u2717"} ${check.detail}`));
  }
  facts.append(element("dt", {}, "Registry"), element("dd", {}, element("code", { class: "wrap" }, shown.registry), " (as the presentation states it)"));
  parts.push(element("h3", {}, "Checks"), facts);
  reveal(section, parts);
}

function showUnreadable(section, error) {
  reveal(section, [
    element("h2", { id: "disclosure-h", class: "no" }, "Disclosure not verified"),
    element("p", { class: "error", role: "alert", "data-part": error.part }, `The presentation does not read: ${error.message}.`),
  ]);
}

function reveal(section, parts) {
  section.replaceChildren(...parts);
  section.setAttribute("aria-labelledby", "disclosure-h");
  section.hidden = false;
}

// ---- proof bundles, checked by verify-proof.mjs

const PROOF_VERSION = /^provledger-proof\//;
const PROOF_CHECK_NAMES = {
  chain: "Chain", receipt: "Receipt", block: "Block", event: "Event", contract: "Contract",
  merkle: "Merkle path", anchor: "Anchor", state: "State", checkpoint: "Checkpoint", witnesses: "Witnesses",
};

// The text of a dropped proof bundle, or null if the bytes are not one (then the file is hashed
// and looked up like any other). The verifier reads the text itself: 1.0 is not 1 there.
function proofBundleIn(bytes) {
  let text;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    return null;
  }
  if (!/^\s*\{/.test(text) || !text.includes("provledger-proof/")) return null;
  try {
    const raw = JSON.parse(text);
    return raw && typeof raw.version === "string" && PROOF_VERSION.test(raw.version) ? text : null;
  } catch (error) {
    return null;
  }
}

// A node URL as typed, relative to this page (the defaults are /rpc and /rpc/checkpoint); null
// when the field is empty.
function nodeUrl(input) {
  const typed = input ? input.value.trim() : "";
  return typed ? new URL(typed, window.location.href).href : null;
}

function showProof(section, report, nodes) {
  const failed = report.checks.filter((check) => !check.passed);
  const heading = element("h2", { id: "proof-h", class: report.ok ? "yes" : "no" }, report.ok ? "Proof verified" : "Proof not verified");
  const parts = [heading];
  if (failed.length) {
    parts.push(element("p", { class: "error", role: "alert" },
      `${failed.length} of ${report.checks.length} checks failed (${failed.map((check) => check.name).join(", ")}): the bundle's claims do not all hold on the nodes asked.`));
  }
  const assetLink = element("a", { href: `/asset/${report.asset_id}` }, element("code", { class: "wrap" }, report.asset_id));
  const asked = [element("code", { class: "node" }, nodes.rpc)];
  if (report.checks.some((check) => check.name === "checkpoint") && nodes.checkpointRpc) {
    asked.push(" and ", element("code", { class: "node" }, nodes.checkpointRpc));
  }
  parts.push(element("p", {}, "Asset ", assetLink, ` on chain ${report.chain_id}: `,
    report.ok ? `all ${report.checks.length} checks passed` : `${report.checks.length - failed.length} of ${report.checks.length} checks passed`,
    ", asking ", ...asked, "."));
  const facts = element("dl", { class: "facts checks", id: "proof-checks" });
  for (const check of report.checks) {
    facts.append(
      element("dt", {}, PROOF_CHECK_NAMES[check.name] || check.name, element("span", { class: "small proves" }, check.title)),
      element("dd", { "data-check": check.name, class: check.passed ? "yes" : "no" }, `${check.passed ? "\u2713" : "\u2717"} ${check.reason}`));
  }
  parts.push(element("h3", {}, "Checks"), facts);
  revealIn(section, "proof-h", parts);
}

function showProofProblem(section, heading, message, part) {
  const attributes = { class: "error", role: "alert" };
  if (part !== undefined) attributes["data-part"] = part;
  revealIn(section, "proof-h", [element("h2", { id: "proof-h", class: "no" }, heading), element("p", attributes, message)]);
}

function revealIn(section, labelledBy, parts) {
  section.replaceChildren(...parts);
  section.setAttribute("aria-labelledby", labelledBy);
  section.hidden = false;
}

// Every file under a dropped folder entry, with its path relative to that folder.
async function walk(entry, prefix, found) {
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
    found.push({ path: prefix + entry.name, file });
    return;
  }
  const reader = entry.createReader();
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (!batch.length) return;
    for (const child of batch) await walk(child, `${prefix}${entry.name}/`, found);
  }
}

function setUp() {
  const drop = document.getElementById("drop");
  const input = document.getElementById("file");
  const folderInput = document.getElementById("folder");
  const progress = document.getElementById("progress");
  const state = document.getElementById("hash-state");
  const disclosure = document.getElementById("disclosure");
  const proofSection = document.getElementById("proof");
  if (!drop || !input) return;

  function show(text) {
    progress.hidden = false;
    state.textContent = text;
  }

  async function disclose(found, name) {
    for (const shown of document.querySelectorAll(".verdict:not(#disclosure)")) shown.hidden = true;
    progress.hidden = true;
    disclosure.setAttribute("aria-busy", "true");
    state.textContent = `Checking the disclosure ${name} in this browser…`;
    try {
      const shown = readPresentation(found);
      showDisclosure(disclosure, shown, await checkPresentation(shown));
      state.textContent = `Checked the disclosure ${name}.`;
    } catch (error) {
      if (error instanceof Unreadable) {
        showUnreadable(disclosure, error);
        state.textContent = `${name} is not a presentation this page can read.`;
      } else {
        state.textContent = `The disclosure ${name} could not be checked: ${error.message}`;
      }
    } finally {
      disclosure.setAttribute("aria-busy", "false");
    }
    disclosure.scrollIntoView();
  }

  async function prove(text, name) {
    for (const shown of document.querySelectorAll(".verdict:not(#proof)")) shown.hidden = true;
    progress.hidden = true;
    proofSection.setAttribute("aria-busy", "true");
    const nodes = {
      rpc: nodeUrl(document.getElementById("proof-rpc")),
      checkpointRpc: nodeUrl(document.getElementById("proof-checkpoint-rpc")),
    };
    state.textContent = `Checking the proof bundle ${name} in this browser…`;
    try {
      const verifier = await import("/static/verify-proof.mjs");
      try {
        showProof(proofSection, await verifier.verifyBundle(text, nodes), nodes);
        state.textContent = `Checked the proof bundle ${name}.`;
      } catch (error) {
        if (error instanceof verifier.MalformedBundle) {
          showProofProblem(proofSection, "Proof not verified", `The bundle does not read: ${error.message}.`, error.path);
          state.textContent = `${name} is not a proof bundle this page can read.`;
        } else if (error instanceof verifier.NodeUnreachable) {
          showProofProblem(proofSection, "Proof not checked", `A node could not be reached, so nothing was checked: ${error.message}. A node of another site must answer cross-origin requests (CORS).`);
          state.textContent = `The proof bundle ${name} could not be checked.`;
        } else if (error instanceof verifier.BadOptions) {
          showProofProblem(proofSection, "Proof not checked", `${error.message}.`);
          state.textContent = `The proof bundle ${name} could not be checked.`;
        } else {
          throw error;
        }
      }
    } catch (error) {
      showProofProblem(proofSection, "Proof not checked", `The verifier stopped: ${error.message}`);
      state.textContent = `The proof bundle ${name} could not be checked.`;
    } finally {
      proofSection.setAttribute("aria-busy", "false");
    }
    proofSection.scrollIntoView();
  }

  async function check(file) {
    progress.value = 0;
    let hex;
    if (file.size <= PRESENTATION_MAX_BYTES) {
      const bytes = new Uint8Array(await file.arrayBuffer());
      const found = disclosure && presentationIn(bytes);
      if (found) { await disclose(found, file.name); return; }
      const bundle = proofSection && proofBundleIn(bytes);
      if (bundle) { await prove(bundle, file.name); return; }
      show(`Hashing ${file.name} (${file.size.toLocaleString()} bytes) in this browser…`);
      hex = await sha256Hex(bytes);
      progress.value = 100;
    } else {
      show(`Hashing ${file.name} (${file.size.toLocaleString()} bytes) in this browser…`);
      hex = await hashFile(file, (share) => { progress.value = Math.round(share * 100); });
    }
    show(`SHA-256 0x${hex}: looking it up…`);
    window.location.assign(`/check?hash=0x${hex}#verdict`);
  }

  // files: [{path, file}] with paths relative to the folder
  async function checkFolder(name, files) {
    if (!files.length) { show(`${name} holds no file: a folder without files has no content hash.`); return; }
    const total = files.reduce((sum, item) => sum + item.file.size, 0) || 1;
    let done = 0;
    const entries = [];
    progress.value = 0;
    for (const item of files) {
      show(`Hashing ${name}: ${entries.length + 1} of ${files.length} files…`);
      const hex = await hashFile(item.file, (share) => {
        progress.value = Math.round(((done + share * item.file.size) / total) * 100);
      });
      done += item.file.size;
      entries.push({ path: item.path, sha256: hexOf(hex) });
    }
    const distinct = [...new Set(entries.map((entry) => toHex(entry.sha256)))].sort().map(hexOf);
    const root = toHex(folderRoot(entries));
    const batch = toHex(batchRoot(distinct));
    show(`Folder root 0x${root}: looking it up…`);
    window.location.assign(`/check?hash=0x${root}&batch=0x${batch}&files=${files.length}#verdict`);
  }

  input.addEventListener("change", () => { if (input.files.length) check(input.files[0]); });
  if (folderInput) {
    folderInput.addEventListener("change", () => {
      const files = Array.from(folderInput.files, (file) => ({
        path: file.webkitRelativePath.split("/").slice(1).join("/"), file,
      }));
      const name = folderInput.files.length ? folderInput.files[0].webkitRelativePath.split("/")[0] : "folder";
      checkFolder(name, files);
    });
  }
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", async (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    const item = event.dataTransfer.items && event.dataTransfer.items[0];
    const entry = item && item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
    if (entry && entry.isDirectory) {
      const found = [];
      await walk(entry, "", found);
      const prefix = `${entry.name}/`;
      checkFolder(entry.name, found.map(({ path, file }) => ({ path: path.slice(prefix.length), file })));
    } else if (event.dataTransfer.files.length) {
      check(event.dataTransfer.files[0]);
    }
  });
}

if (typeof document !== "undefined") setUp();
if (typeof module !== "undefined") module.exports = { Sha256 };

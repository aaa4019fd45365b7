// Hash a dropped or chosen file or folder in the browser, then look up only the hash.
// Files over 64 MiB are read in 4 MiB slices and fed to an incremental SHA-256, so memory stays
// flat for any size; a folder's content hash and batch root come from merkle.js. Nothing but
// hashes leaves the page.
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

const hexOf = (hex) => Uint8Array.from(hex.match(/../g), (pair) => parseInt(pair, 16));

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
  if (!drop || !input) return;

  function show(text) {
    progress.hidden = false;
    state.textContent = text;
  }

  async function check(file) {
    progress.value = 0;
    show(`Hashing ${file.name} (${file.size.toLocaleString()} bytes) in this browser…`);
    const hex = await hashFile(file, (share) => { progress.value = Math.round(share * 100); });
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

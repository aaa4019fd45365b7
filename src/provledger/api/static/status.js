// Live index status in the footer: the indexed block and the head, refreshed every 10 s.
"use strict";

async function refreshStatus() {
  try {
    const response = await fetch("/status", { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const status = await response.json();
    const indexed = document.getElementById("indexed-block");
    const head = document.getElementById("head-block");
    if (indexed && status.indexed_block !== null) indexed.textContent = status.indexed_block;
    if (head && status.head_block !== null) head.textContent = status.head_block;
  } catch (error) {
    // the gateway is away for a moment: keep what the page shows
  }
}

if (typeof document !== "undefined") setInterval(refreshStatus, 10000);

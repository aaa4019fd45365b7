// Hardhat 3's node (EDR) as a second dev node for the test suite (tests/helpers/hardhat.py).
// Like the anvil the tests start: chain id 31337, the well-known dev mnemonic, 20 accounts of
// 10,000 ETH, a block per transaction. The hardfork stays Hardhat's default, which enforces the
// EIP-7825 per-transaction gas cap (16,777,216) that anvil does not.
import { defineConfig } from "hardhat/config";

export default defineConfig({
  networks: {
    node: {
      type: "edr-simulated",
      chainType: "l1",
      chainId: 31337,
      accounts: {
        mnemonic: "test test test test test test test test test test test junk",
        count: 20,
        accountsBalance: "10000000000000000000000",
      },
      mining: { auto: true, interval: 0 },
    },
  },
});

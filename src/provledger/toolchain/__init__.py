"""The development toolchain: the pinned Solidity compiler and the artifact build.

Needed to compile ``contracts/``, never to run provledger: the runtime reads the committed
artifacts through :mod:`provledger.chain.artifacts` and imports nothing from here.
"""

from provledger.toolchain.solc import SOLC_VERSION, Solc, SolcSource, find_solc

__all__ = ["SOLC_VERSION", "Solc", "SolcSource", "find_solc"]

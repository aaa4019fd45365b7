"""Fixtures for the compile toolchain tests: the compiler, and small throwaway projects.

Test modules take what they need as fixtures; nothing here is imported (tests/ has no packages).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers.required import unavailable
from provledger.errors import ConfigurationError
from provledger.toolchain.solc import REPO_ROOT, Solc, find_solc, npm_solc

SourceWriter = Callable[[Path, dict[str, str]], Path]


@pytest.fixture(scope="session")
def solc() -> Solc:
    """The compiler the toolchain would pick."""
    try:
        return find_solc()
    except ConfigurationError as error:
        unavailable(f"no Solidity compiler: {error}")


@pytest.fixture(scope="session")
def npm_compiler() -> Solc:
    """The npm compiler behind scripts/solc-npm specifically."""
    try:
        return npm_solc()
    except ConfigurationError as error:
        unavailable(f"the npm compiler is unavailable: {error}")


def _write_sources(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def write_sources() -> SourceWriter:
    """``write_sources(root, {relative path: text})`` writes dedented files; returns root."""
    return _write_sources


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """The repository's node_modules, where ``@openzeppelin/...`` resolves for tmp projects."""
    return REPO_ROOT / "node_modules"


@pytest.fixture(scope="session")
def token_project_files() -> dict[str, str]:
    """A tiny project shaped like the real one: interface, library, abstract, contract, harness."""
    return dict(_TOKEN_PROJECT)


_TOKEN_PROJECT: dict[str, str] = {
    "contracts/interfaces/IToken.sol": """
        // SPDX-License-Identifier: Apache-2.0
        pragma solidity ^0.8.24;

        /// @notice Token events. An example that is no directive:
        /// import "does/not/exist.sol";
        interface IToken {
            /// @notice Emitted when `id` is minted.
            event Minted(uint256 indexed id, address indexed holder);
        }
        """,
    "contracts/Token.sol": """
        // SPDX-License-Identifier: Apache-2.0
        pragma solidity 0.8.37;

        import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
        import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
        import {IToken} from "./interfaces/IToken.sol";
        import {Doubling} from "./Doubling.sol";

        abstract contract Clock {
            function _now() internal view virtual returns (uint256) {
                return block.timestamp;
            }
        }

        contract Token is ERC721, AccessControl, IToken, Clock {
            uint256 public immutable deployedAt;
            string private constant _NOTE = "import \\"not/a/directive.sol\\";";

            constructor() ERC721("Token", "TOK") {
                deployedAt = _now();
                _grantRole(DEFAULT_ADMIN_ROLE, msg.sender);
            }

            function mint(uint256 seed) external onlyRole(DEFAULT_ADMIN_ROLE) {
                uint256 id = Doubling.twice(seed);
                _mint(msg.sender, id);
                emit Minted(id, msg.sender);
            }

            function supportsInterface(bytes4 interfaceId)
                public
                view
                override(ERC721, AccessControl)
                returns (bool)
            {
                return super.supportsInterface(interfaceId);
            }
        }
        """,
    "contracts/Doubling.sol": """
        // SPDX-License-Identifier: Apache-2.0
        pragma solidity 0.8.37;

        library Doubling {
            function twice(uint256 value) internal pure returns (uint256) {
                return 2 * value;
            }
        }
        """,
    "contracts/test/TokenHarness.sol": """
        // SPDX-License-Identifier: Apache-2.0
        pragma solidity 0.8.37;

        import {Token} from "../Token.sol";

        contract TokenHarness is Token {
            uint256 public fakeNow = 42;

            function _now() internal view override returns (uint256) {
                return fakeNow;
            }
        }
        """,
}

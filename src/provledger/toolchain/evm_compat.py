"""Sources for an EVM target older than cancun.

OpenZeppelin 5.7's ``utils/Bytes.sol`` (imported by ``Strings.sol``, so by ERC721 and
AccessControl) copies memory with the ``mcopy`` instruction in inline assembly, which solc
refuses for any target before cancun, even in functions never called. For an older build every
``mcopy(dst, src, len)`` statement is rewritten to the same copy as a Yul loop (:data:`COPY`):
whole words, then the last partial word merged under a mask so no byte past ``dst + len``
changes, forwards when ``dst <= src`` and backwards otherwise, so overlapping ranges come out
as MCOPY leaves them. It stays ``pure`` (the identity precompile would need ``view``). Only the
compiled text changes, on one line so solc's line numbers still match the file; the files on
disk do not change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

#: Targets whose sources are compiled as they are (solc's names).
MCOPY_TARGETS: Final = frozenset({"cancun", "prague", "osaka"})

_MCOPY: Final = re.compile(r"\bmcopy\s*\(")

#: What replaces ``mcopy(destination, origin, length)``: one Yul block on one line.
COPY: Final = re.sub(
    r"\s+",
    " ",
    """
    {{ let mcN_ := {length} let mcS_ := {origin} let mcD_ := {destination}
    let mcW_ := sub(mcN_, and(mcN_, 31)) let mcR_ := and(mcN_, 31)
    switch gt(mcD_, mcS_)
    case 0 {{
      for {{ let mcI_ := 0 }} lt(mcI_, mcW_) {{ mcI_ := add(mcI_, 32) }}
      {{ mstore(add(mcD_, mcI_), mload(add(mcS_, mcI_))) }}
      if mcR_ {{ let mcK_ := shr(mul(mcR_, 8), not(0)) let mcA_ := add(mcD_, mcW_)
        mstore(mcA_, or(and(mload(add(mcS_, mcW_)), not(mcK_)), and(mload(mcA_), mcK_))) }}
    }}
    default {{
      if mcR_ {{ let mcK_ := shr(mul(mcR_, 8), not(0)) let mcA_ := add(mcD_, mcW_)
        mstore(mcA_, or(and(mload(add(mcS_, mcW_)), not(mcK_)), and(mload(mcA_), mcK_))) }}
      for {{ let mcI_ := mcW_ }} gt(mcI_, 0) {{ mcI_ := sub(mcI_, 32) }}
      {{ mstore(add(mcD_, sub(mcI_, 32)), mload(add(mcS_, sub(mcI_, 32)))) }}
    }} }}
    """,
).strip()


def _call_arguments(text: str, start: int) -> tuple[list[str], int]:
    """The top-level comma-separated arguments of the call whose ``(`` is at ``start``, and the
    index just past its ``)``."""
    depth, pieces, piece_start = 0, [], start + 1
    for index in range(start, len(text)):
        char = text[index]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                pieces.append(text[piece_start:index].strip())
                return pieces, index + 1
        elif char == "," and depth == 1:
            pieces.append(text[piece_start:index].strip())
            piece_start = index + 1
    raise ValueError("unbalanced parentheses after mcopy")


def without_mcopy(source: str) -> str:
    """``source`` with every ``mcopy(dst, src, len)`` replaced by the same copy as a Yul loop
    (:data:`COPY`)."""
    parts: list[str] = []
    position = 0
    for match in _MCOPY.finditer(source):
        if match.start() < position:
            continue
        arguments, end = _call_arguments(source, match.end() - 1)
        if len(arguments) != 3:
            raise ValueError(f"mcopy takes 3 arguments, found {len(arguments)}")
        destination, origin, length = arguments
        parts.append(source[position : match.start()])
        # Yul evaluates arguments right to left: length, then origin, then destination.
        parts.append(COPY.format(length=length, origin=origin, destination=destination))
        position = end
    parts.append(source[position:])
    return "".join(parts)


def sources_for(sources: Mapping[str, str], evm_version: str) -> dict[str, str]:
    """``sources`` as compiled for ``evm_version``: unchanged for cancun and later, else with
    :func:`without_mcopy` applied to every file that uses the instruction."""
    if evm_version in MCOPY_TARGETS:
        return dict(sources)
    return {
        unit: without_mcopy(text) if _MCOPY.search(text) else text for unit, text in sources.items()
    }

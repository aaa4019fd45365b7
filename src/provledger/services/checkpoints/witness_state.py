"""What a witness remembers between runs: which source chain it follows, on which Checkpoint
contract of which target chain, and the last checkpoint it co-signed (its view of the source
chain's history). One JSON file (the ``witness_state`` setting), replaced atomically: a crash
leaves the old state or the new one, never half of either.

The file::

    {"format": "provledger-witness/1", "source_chain_id": 31337, "target_chain_id": 31338,
     "contract": "0x...", "last": {"sequence": 4, "from_block": 97, "to_block": 128,
     "to_block_hash": "0x...", "root": "0x..."} | null, "target_block": 812 | null}

``target_block`` is the target chain's block whose log holds ``last``: the log search resumes
there.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address

from provledger.errors import InputError
from provledger.jsondoc import JsonDocumentError, read_json_file
from provledger.params import InvalidParameterError, parse_address, parse_hex
from provledger.services.checkpoints.cosign import Checkpoint, CheckpointVenue

STATE_FORMAT: Final = "provledger-witness/1"
#: The largest state file read (a few hundred bytes are expected).
STATE_MAX_BYTES: Final = 64 << 10


class MalformedWitnessStateError(InputError):
    """The witness's state file is not a state this version wrote."""

    template = "the witness state {path} is malformed: {reason} (move it aside to start anew)"
    path: str
    reason: str


class WitnessStateMismatchError(InputError):
    """The witness's state is of another chain or contract than the witness was started with."""

    template = (
        "the witness state {path} is for {what} {recorded}, not {given}: a witness keeps one "
        "state per source chain and contract (give another --state file, or move this one aside "
        "to start anew)"
    )
    path: str
    what: str
    recorded: str
    given: str


@dataclass(frozen=True)
class WitnessState:
    """A witness's view: the chains and contract it follows, and its last co-signed checkpoint."""

    source_chain_id: int
    target_chain_id: int
    contract: ChecksumAddress
    last: Checkpoint | None = None
    """The last checkpoint co-signed; None before the first."""
    target_block: int | None = None
    """The target block whose log holds :attr:`last`."""

    @property
    def venue(self) -> CheckpointVenue:
        """Where the checkpoints it follows are kept."""
        return CheckpointVenue(self.target_chain_id, self.contract)

    def after(self, checkpoint: Checkpoint, target_block: int) -> WitnessState:
        """This state once ``checkpoint`` (logged in ``target_block``) is co-signed."""
        return replace(self, last=checkpoint, target_block=target_block)

    def check(self, path: Path, source_chain_id: int, venue: CheckpointVenue) -> None:
        """Refuse (:class:`WitnessStateMismatchError`) a state of another source chain, target
        chain or contract than these."""
        for what, recorded, given in (
            ("source chain", self.source_chain_id, source_chain_id),
            ("target chain", self.target_chain_id, venue.chain_id),
            ("Checkpoint contract", self.contract, venue.contract),
        ):
            if recorded != given:
                raise WitnessStateMismatchError(str(path), what, str(recorded), str(given))

    def to_json(self) -> dict[str, Any]:
        """The state as its file holds it."""
        last = self.last
        return {
            "format": STATE_FORMAT,
            "source_chain_id": self.source_chain_id,
            "target_chain_id": self.target_chain_id,
            "contract": self.contract,
            "last": None
            if last is None
            else {
                name: value for name, value in last.to_json().items() if name != "source_chain_id"
            },
            "target_block": self.target_block,
        }

    @classmethod
    def from_json(cls, data: Any, path: Path) -> WitnessState:
        """The state of a file's JSON; :class:`MalformedWitnessStateError` if it is none."""

        def fail(reason: str) -> MalformedWitnessStateError:
            return MalformedWitnessStateError(str(path), reason)

        def number(value: Any, name: str) -> int:
            if type(value) is not int or value < 0:
                raise fail(f"{name} must be a whole number")
            return value

        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
            raise fail(f'it is not a JSON object with "format": "{STATE_FORMAT}"')
        try:
            contract = to_checksum_address(parse_address(str(data.get("contract")), "contract"))
        except InvalidParameterError as error:
            raise fail(str(error)) from None
        last_data = data.get("last")
        last = None
        if last_data is not None:
            if not isinstance(last_data, dict):
                raise fail("last must be an object or null")
            try:
                hashes = [
                    parse_hex(str(last_data.get(name)), f"last.{name}", 32)
                    for name in ("to_block_hash", "root")
                ]
            except InvalidParameterError as error:
                raise fail(str(error)) from None
            last = Checkpoint(
                number(data.get("source_chain_id"), "source_chain_id"),
                number(last_data.get("sequence"), "last.sequence"),
                number(last_data.get("from_block"), "last.from_block"),
                number(last_data.get("to_block"), "last.to_block"),
                *hashes,
            )
        target_block = data.get("target_block")
        return cls(
            number(data.get("source_chain_id"), "source_chain_id"),
            number(data.get("target_chain_id"), "target_chain_id"),
            contract,
            last,
            None if target_block is None else number(target_block, "target_block"),
        )


def load_state(path: Path) -> WitnessState | None:
    """The state in ``path``; None if there is no such file."""
    try:
        data = read_json_file(path, max_bytes=STATE_MAX_BYTES)
    except FileNotFoundError:
        return None
    except JsonDocumentError as error:
        raise MalformedWitnessStateError(str(path), error.reason) from None
    return WitnessState.from_json(data, path)


def save_state(path: Path, state: WitnessState) -> None:
    """Write ``state`` to ``path`` atomically: a temporary file beside it, flushed to disk,
    then renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(state.to_json(), indent=2) + "\n").encode()
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

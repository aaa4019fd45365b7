"""The data room's master keys, where the settings put them: a key file (read again whenever
it changes, so a rotation needs no restart) or the environment's text."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from provledger.config import Settings
from provledger.services.delivery.envelope import MasterKeyError, MasterKeyRing
from provledger.services.delivery.errors import DataRoomNotConfiguredError


def master_keys(settings: Settings) -> MasterKeyRing:
    """The data room's master keys: the key file's, or ``PROVLEDGER_DATA_ROOM_MASTER_KEY``'s."""
    return key_source(settings)()


def key_source(settings: Settings) -> Callable[[], MasterKeyRing]:
    """What reads the data room's master keys when it needs them: the key file, read again
    whenever it changed (``data keygen --rotate``, older lines removed after ``data
    rotate-keys``), or ``PROVLEDGER_DATA_ROOM_MASTER_KEY``'s text."""
    key_file = settings.data_room_master_key_file
    if key_file is not None:
        return _KeyFile(key_file)
    if settings.data_room_master_key is not None:
        ring = MasterKeyRing.load(settings.data_room_master_key.get_secret_value())
        return lambda: ring
    raise DataRoomNotConfiguredError(
        "no master key: set PROVLEDGER_DATA_ROOM_MASTER_KEY_FILE (`provledger data keygen` "
        "writes one) or PROVLEDGER_DATA_ROOM_MASTER_KEY"
    )


class _KeyFile:
    """A key file's keys, read again when its modification time or size changes."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._seen: tuple[int, int] | None = None
        self._ring = self()

    def __call__(self) -> MasterKeyRing:
        try:
            state = self._path.stat()
        except OSError as error:
            raise MasterKeyError(
                f"cannot read the master key file {self._path}: {error.strerror}"
            ) from None
        seen = (state.st_mtime_ns, state.st_size)
        if seen != self._seen:
            self._ring, self._seen = MasterKeyRing.from_file(self._path), seen
        return self._ring

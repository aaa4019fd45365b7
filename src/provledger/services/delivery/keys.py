"""The data room's keys: the master keys, where the settings put them (a key file, read again
whenever it changes, so a rotation needs no restart, or the environment's text), and each
asset's one data key, wrapped by them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from provledger.config import Settings
from provledger.services.delivery.envelope import (
    MasterKeyError,
    MasterKeyRing,
    WrappedKey,
    new_data_key,
    unwrap_data_key,
    wrap_data_key,
)
from provledger.services.delivery.errors import DataRoomNotConfiguredError, DeliveryRefusedError
from provledger.services.delivery.rules import Refusal
from provledger.store.dataroom import DataRoomStore


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


def claim_data_key(store: DataRoomStore, keys: MasterKeyRing, asset: int) -> bytes:
    """The asset's one data key, which its data and its committed metadata document are both
    encrypted under (so that neither upload strands the other): its live key in ``store``, or a
    new one kept now, wrapped by ``keys``' current master key.

    Raises:
        DeliveryRefusedError: ``asset-cancelled``: its key was destroyed, and none is made anew.
    """
    fresh = wrap_data_key(keys, new_data_key(), asset)
    row = store.claim_key(asset, fresh.key_id, fresh.blob)
    if row is None:
        gone = "the asset was cancelled: its data key is destroyed"
        raise DeliveryRefusedError(asset, Refusal.ASSET_CANCELLED, gone, "")
    return unwrap_data_key(keys, WrappedKey(row.key_id, row.wrapped), asset)

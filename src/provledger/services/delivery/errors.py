"""What the data room refuses or cannot do, by name; ``api/problems.py`` gives each its status.

A refusal of the chain's rules is one :class:`DeliveryRefusedError` naming the rule (a
:class:`~provledger.services.delivery.rules.Refusal` value).
"""

from __future__ import annotations

from provledger.errors import ProvledgerError
from provledger.params import InvalidParameterError


class DataRoomNotConfiguredError(ProvledgerError):
    """The data room is switched on but lacks what it needs (a node, a master key)."""

    missing: str
    template = "the data room is not available: {missing}"


class DeliveryRefusedError(ProvledgerError):
    """The chain does not allow this request; ``refusal`` names the rule (a
    :class:`~provledger.services.delivery.rules.Refusal` value)."""

    asset_id: int
    refusal: str
    reason: str
    record_id: str
    template = "{reason}"


class ContentMismatchError(ProvledgerError):
    """The uploaded bytes are not the registered asset's; nothing was kept."""

    expected: str
    actual: str
    template = (
        "the uploaded bytes hash to {actual}, not to the content hash of the asset "
        "({expected}); nothing was stored"
    )


class SignedForOtherDataError(ProvledgerError):
    """The signed request names another asset or other content than the request."""

    detail: str
    template = "the signed request does not match this request: {detail}"


class NoStoredDataError(ProvledgerError):
    """The data room holds no data of the asset."""

    asset: str
    template = "the data room holds no data of asset {asset}"


class NoStoredFileError(NoStoredDataError):
    """The asset's folder has no file at this path."""

    path: str
    template = "the dataset {asset} has no file {path!r}"


class FolderNotFileError(ProvledgerError):
    """A folder asset was asked for as one file, or a file asset for its files."""

    asset: str
    detail: str
    template = "asset {asset} {detail}"


class RangeNotSatisfiableError(ProvledgerError):
    """The requested byte range starts at or after the end of the data."""

    size: int
    requested: str
    template = "the range {requested} is outside the data's {size} bytes"


class BadUploadError(ProvledgerError):
    """An upload body that cannot be read as what its type says."""

    reason: str
    template = "the upload cannot be read: {reason}"


class MetadataDocumentError(InvalidParameterError):
    """An uploaded committed metadata document that is not the asset's: it does not read, or
    its root is not the asset's committed metadata hash on chain; ``field`` names the part at
    fault. Nothing was stored."""

    template = "the committed metadata document is refused: {field}: {reason}; nothing was stored"


class NoStoredMetadataError(NoStoredDataError):
    """The data room holds no committed metadata document of the asset."""

    template = "the data room holds no committed metadata document of asset {asset}"


class MetadataRevisedError(ProvledgerError):
    """The stored committed metadata document is of an earlier root: the holder has revised
    the asset's metadata since, and must upload the new document."""

    asset: str
    stored: str
    current: str
    template = (
        "the data room holds the committed metadata document of root {stored}, but asset "
        "{asset}'s metadata hash is now {current}: its holder must upload the revised document"
    )

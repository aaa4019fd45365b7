"""The demo's confidential registration: a holder commits to its metadata field by field,
discloses only what it wants public, and the registrar reads the rest in the data room.

Pudong Sensor Networks registers a power-load dataset whose source, contact and price are its
business: the chain gets only the root of the salted fields. The holder keeps the document (a
file in the work folder, as ``register --committed`` writes it) and a copy in the data room;
publishes a presentation of the title and the category through the gateway's disclosure desk;
and the registrar, reviewing the application, reads the whole document from the data room (the
read is in the access log) before it puts the registration on public notice. Two transactions.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from provledger.chain.client import Provledger
from provledger.chain.types import Registration
from provledger.commitments import CommittedDocument, Presentation, commitment_uri
from provledger.errors import ProvledgerError
from provledger.params import to_hex32
from provledger.services.delivery.metadata import authorise_metadata, store_metadata
from provledger.services.delivery.requests import (
    Domain,
    sign_access,
    sign_disclosure,
    sign_upload,
)
from provledger.services.delivery.service import DataRoom
from provledger.services.disclosed import DisclosureDesk, parse_disclosure_request

if TYPE_CHECKING:
    from provledger.demo import Demo

#: The label of the committed registration in the demo's result and summary.
COMMITTED_LABEL: Final = "power-load dataset"
#: Its metadata: the first fields disclosed, the others the holder's business.
COMMITTED_METADATA: Final[dict[str, str]] = {
    "title": "Zhangjiang Science City electricity load, 15-minute readings",
    "category": "Energy and utilities data",
    "source": "smart meters of 38 chip fabs and labs in Zhangjiang, under the park "
    "operator's data-sharing agreement",
    "contact": "Chen Jing, data licensing, licensing@pudong-sensors.example",
    "price": "CNY 180,000 a year per licensee",
}
DISCLOSED: Final = ("title", "category")
#: On chain: Energy and utilities data, grade 2 (important).
CATEGORY: Final = 303
GRADE: Final = 2
#: The holder's document and the published presentation, in the demo's work folder.
DOCUMENT_FILE: Final = "zhangjiang-power-load.committed.json"
PRESENTATION_FILE: Final = "zhangjiang-power-load.disclosure.json"


@dataclass(frozen=True)
class Confidential:
    """What the confidential registration left: the asset, the holder's document, the
    presentation (``provledger verify-disclosure`` checks it) and the fields it withholds."""

    asset: int
    document: Path
    presentation: Path
    withheld: tuple[str, ...]


def confidential_registration(demo: Demo, room: DataRoom) -> Confidential:
    """Play the scene with the demo's first party as the holder and ``room`` as the data
    room; the registration ends on public notice."""
    holder = demo.parties[0]
    assert holder.account is not None
    name = demo.name_of(holder)
    content = hashlib.sha256(b"provledger demo document: power load content").digest()
    document = CommittedDocument.of(COMMITTED_METADATA, content)
    kept = demo.workdir / DOCUMENT_FILE
    kept.unlink(missing_ok=True)  # an earlier run's
    kept.touch(mode=0o600)  # the salts are secret: its owner alone reads it
    kept.write_bytes(document.to_json())
    asset = demo.register(
        holder,
        COMMITTED_LABEL,
        Registration(document.content_hash, commitment_uri(False), document.root, CATEGORY, GRADE),
    )
    upload = sign_upload(
        holder.account, room.domain, asset, document.root, deadline=demo.deadline()
    )
    store_metadata(room, upload, asset, [document.to_json()])
    names = document.field_names()
    demo.say(
        f"its metadata is committed, not published: the chain holds only the root "
        f"{to_hex32(document.root)} of {len(names)} salted fields ({', '.join(names)}); "
        f"{name} keeps the document in {DOCUMENT_FILE} and a copy in the data room, encrypted"
    )
    presentation = _publish(demo, holder, asset, document)
    withheld = ", ".join(presentation.withheld)
    demo.say(
        f"{name} published a presentation of {' and '.join(DISCLOSED)} ({PRESENTATION_FILE}): "
        f"the gateway checked it against the chain and indexed it; {withheld} stay withheld"
    )
    read = _registrar_reads(demo, room, asset)
    if read.root != document.root:
        raise ProvledgerError("the data room gave the registrar another metadata document")
    demo.track(demo.registrar.office.accept(asset))
    demo.say(
        f"the registrar read all {len(read.field_names())} fields from the data room while "
        "reviewing (the read is in the access log), then accepted: on public notice for 10 "
        f"days, the asset page's Metadata section and /notices show {' and '.join(DISCLOSED)} "
        "as proved and the rest as withheld"
    )
    return Confidential(asset, kept, demo.workdir / PRESENTATION_FILE, presentation.withheld)


def _publish(
    demo: Demo, holder: Provledger, asset: int, document: CommittedDocument
) -> Presentation:
    """The holder writes a presentation of the :data:`DISCLOSED` fields to
    :data:`PRESENTATION_FILE` and publishes it, signed, through the desk the gateway's
    ``POST /assets/{asset}/disclosures`` uses: checked against the chain, kept in the blob
    folder and indexed."""
    assert holder.account is not None
    presentation = document.present(
        DISCLOSED,
        chain_id=holder.deployment.chain_id,
        registry=holder.registry.address,
        asset_id=asset,
    )
    data = presentation.to_json()
    (demo.workdir / PRESENTATION_FILE).write_bytes(data)
    header = sign_disclosure(
        holder.account, Domain.of(holder), asset, data, deadline=demo.deadline()
    )
    desk = DisclosureDesk(
        demo.w3, holder.deployment, demo.room_database, demo.blobs, demo.index_database
    )
    desk.accept(parse_disclosure_request(header), asset, data)
    return presentation


def _registrar_reads(demo: Demo, room: DataRoom, asset: int) -> CommittedDocument:
    """The registrar, reviewing the application, reads the whole committed document from the
    data room, as ``GET /data/{asset}/metadata`` sends it."""
    registrar = demo.registrar.account
    assert registrar is not None
    header = sign_access(
        registrar, room.domain, asset, "review of the application", deadline=demo.deadline()
    )
    grant = authorise_metadata(room, header, asset)
    return CommittedDocument.parse(b"".join(room.stream(grant, None)))

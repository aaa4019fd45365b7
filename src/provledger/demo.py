"""The demo scenario: a data economy in miniature, played against real contracts.

A sensor company registers a raw dataset folder; the registration centre reviews, notices and
certifies it; a data cleaner derives a cleaned dataset under a processing license; an aggregated
product is built from two inputs; an appraiser values it and it is sold through the market; the
cleaned dataset is exported to a foreign buyer under a permit; 1,000 daily files are
batch-anchored and one is proven; a dispute is opened, frozen and dismissed; the data room
delivers to the buyer and the licensee and refuses a party without a licence; a dataset is
registered with committed metadata, only its title and category disclosed
(:mod:`provledger.demo_disclosure`). Every step is a transaction whose events are shown.
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
import shutil
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import orjson
from web3 import Web3

from provledger.categories import category_name
from provledger.chain.accounts import DEV_ROLES, dev_account
from provledger.chain.client import Provledger
from provledger.chain.connection import DevChain
from provledger.chain.deploy import deploy, dev_role_grants
from provledger.chain.deployments import Deployment
from provledger.chain.enums import (
    AssetStatus,
    LicenseKind,
    RegistrationType,
    Relation,
    Ruling,
    ValuationMethod,
)
from provledger.chain.events import (
    AssetRegistered,
    CertificateIssued,
    DisputeOpened,
    LicenseGranted,
    OfferCreated,
)
from provledger.chain.ids import asset_id, short_id
from provledger.chain.reverts import ContractRevertError
from provledger.chain.transactions import Receipt
from provledger.chain.types import ParentLink, Registration
from provledger.demo_disclosure import Confidential, confidential_registration
from provledger.errors import ProvledgerError
from provledger.hashing import folder_manifest, sha256_file
from provledger.merkle import StandardMerkleTree
from provledger.params import parse_hash_bytes, to_hex32
from provledger.services.delivery.envelope import MasterKeyRing, generate_master_key
from provledger.services.delivery.errors import DeliveryRefusedError
from provledger.services.delivery.requests import SIGNATURE_LIFETIME, sign_access, sign_upload
from provledger.services.delivery.service import DataRoom
from provledger.store.access_log import AccessLogStore
from provledger.store.blobs import BlobStore
from provledger.store.dataroom import DataRoomStore
from provledger.store.documents import BatchManifest
from provledger.store.objects import ObjectStorage

NOTICE_PERIOD: Final = 10 * 24 * 3600
DAY: Final = 24 * 3600
#: The demo's index, in its work folder.
INDEX_DATABASE: Final = "index.sqlite"
#: The demo's data room, in its work folder.
ROOM_DATABASE: Final = "dataroom.sqlite"
ROOM_STORAGE: Final = "dataroom"
ROOM_KEY: Final = "dataroom.key"
#: What the harbour analytics firm pays for the product: 2.5 of the native currency, in wei.
PRODUCT_PRICE: Final = 2_500_000_000_000_000_000

Say = Callable[[str], None]


@dataclass(frozen=True)
class DemoParty:
    """A participant of the demo."""

    key_index: int
    name: str
    jurisdiction: str


PARTIES: Final = (
    DemoParty(5, "Pudong Sensor Networks Co.", "CN"),
    DemoParty(6, "Huangpu Data Cleaning Ltd.", "CN"),
    DemoParty(7, "Victoria Harbour Analytics", "HK"),
    DemoParty(8, "Pacific Insights Inc.", "US"),
)


@dataclass
class DemoResult:
    """What the demo produced, for the summary and for tests."""

    deployment: Deployment
    assets: dict[str, int] = field(default_factory=dict)
    registration_numbers: dict[str, int] = field(default_factory=dict)
    transactions: int = 0
    gas_used: int = 0
    events: int = 0
    verified_file: str = ""
    verified_leaf: bool = False
    refused_export: str = ""
    batch_root: bytes = b""
    dispute_id: int = 0
    license_id: int = 0
    refused_delivery: str = ""
    access_records: int = 0
    confidential: Confidential | None = None


def _doc(label: str) -> bytes:
    return hashlib.sha256(f"provledger demo document: {label}".encode()).digest()


def write_sensor_dataset(folder: Path, *, days: int = 7, sensors: int = 12, seed: int = 7) -> Path:
    """Generate a raw sensor dataset: one CSV of readings per day, plus a README."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.txt").write_text(
        "Raw readings of air-quality sensors along the Huangpu river.\n"
        "Columns: timestamp, sensor, pm25 (ug/m3), temperature (C), humidity (%).\n",
        encoding="utf-8",
    )
    readings = folder / "readings"
    readings.mkdir(exist_ok=True)
    for day in range(days):
        with (readings / f"2026-11-{day + 1:02d}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["timestamp", "sensor", "pm25", "temperature", "humidity"])
            for hour in range(24):
                for sensor in range(sensors):
                    writer.writerow(
                        [
                            f"2026-11-{day + 1:02d}T{hour:02d}:00:00+08:00",
                            f"HP-{sensor:03d}",
                            round(rng.uniform(5, 80), 1),
                            round(rng.uniform(8, 22), 1),
                            round(rng.uniform(40, 95), 1),
                        ]
                    )
    return folder


def write_product(path: Path, *, days: int = 30, seed: int = 11) -> Path:
    """Generate the product: a daily air-quality index along the river, one row a day."""
    rng = random.Random(seed)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["date", "aqi", "category"])
        for day in range(days):
            aqi = rng.randint(20, 160)
            band = "good" if aqi <= 50 else "moderate" if aqi <= 100 else "unhealthy"
            writer.writerow([f"2026-11-{day + 1:02d}", aqi, band])
    return path


class Demo:
    """Plays the scenario on a chain, reporting each step through ``say``."""

    def __init__(self, w3: Web3, workdir: Path, say: Say) -> None:
        self.w3 = w3
        self.workdir = workdir
        self.say = say
        self.chain = DevChain(w3)
        grants = dev_role_grants()
        self.say("deploying the contracts and granting the authority roles")
        deployment = deploy(
            w3, dev_account(DEV_ROLES["admin"]), notice_period=NOTICE_PERIOD, grants=grants
        )
        self.result = DemoResult(deployment=deployment)
        admin = Provledger(w3, deployment, dev_account(DEV_ROLES["admin"]))
        self.registrar = admin.as_account(dev_account(DEV_ROLES["registrar"]))
        self.appraiser = admin.as_account(dev_account(DEV_ROLES["appraiser"]))
        self.arbiter = admin.as_account(dev_account(DEV_ROLES["arbiter"]))
        self.exporter = admin.as_account(dev_account(DEV_ROLES["export_approver"]))
        self.parties = [admin.as_account(dev_account(party.key_index)) for party in PARTIES]
        self.blobs = BlobStore(workdir / "blobs")
        self.room_database = f"sqlite:///{workdir / ROOM_DATABASE}"
        self.index_database = f"sqlite:///{workdir / INDEX_DATABASE}"

    def deadline(self) -> int:
        """The deadline of a request signed now, in chain time."""
        return self.chain.timestamp() + SIGNATURE_LIFETIME

    def name_of(self, party: Provledger) -> str:
        """The name of one of the demo's parties."""
        return PARTIES[self.parties.index(party)].name

    def open_room(self) -> DataRoom:
        """The demo's data room: storage, records and a new master key in the work folder (the
        key file beside them only because this is a demo: keep it elsewhere in earnest)."""
        for old in (ROOM_DATABASE, ROOM_KEY):
            (self.workdir / old).unlink(missing_ok=True)
        shutil.rmtree(self.workdir / ROOM_STORAGE, ignore_errors=True)
        key_file = self.workdir / ROOM_KEY
        key_file.write_text(generate_master_key() + "\n")
        key_file.chmod(0o600)
        anchoring = self.parties[0].as_account(dev_account(PARTIES[0].key_index))
        return DataRoom(
            anchoring,
            DataRoomStore.open(self.room_database),
            AccessLogStore.open(self.room_database),
            ObjectStorage.open(str(self.workdir / ROOM_STORAGE)),
            MasterKeyRing.from_file(key_file),
            max_bytes=1 << 30,
            blobs=self.blobs,
        )

    def put(self, room: DataRoom, holder: Provledger, asset: int, path: Path) -> None:
        """The holder puts an asset's bytes (a file, or a folder as a tar stream) in the room."""
        assert holder.account is not None
        manifest = None if path.is_file() else folder_manifest(path)
        content = sha256_file(path) if manifest is None else manifest.root
        header = sign_upload(holder.account, room.domain, asset, content, deadline=self.deadline())
        ticket = room.authorise_upload(header, asset)
        if manifest is None:
            stored = room.store_upload(ticket, [path.read_bytes()], folder=False)
        else:
            body = io.BytesIO()
            with tarfile.open(fileobj=body, mode="w") as archive:
                for entry in manifest.entries:
                    archive.add(path / entry.path, arcname=entry.path)
            stored = room.store_upload(ticket, [body.getvalue()], folder=True)
        name = self.name_of(holder)
        self.say(
            f"{name} put asset {short_id(asset)} in the data room: {stored.size:,} bytes in "
            f"{stored.file_count} file{'s' if stored.file_count != 1 else ''}, encrypted"
        )

    def get(self, room: DataRoom, who: Provledger, asset: int, target: Path) -> int:
        """``who`` gets an asset's bytes from the room into ``target``, each file checked; the
        bytes received."""
        assert who.account is not None

        def signed() -> str:
            assert who.account is not None
            return sign_access(who.account, room.domain, asset, "demo", deadline=self.deadline())

        stored = room.store.object_of(asset)
        if stored is None or stored.kind == "file":
            files = [("", b"" if stored is None else stored.content_hash, target)]
        else:
            listing = room.authorise_access(signed(), asset, listing=True)
            files = [
                (path, parse_hash_bytes(str(item["sha256"])), target / path)
                for item in room.manifest(listing)
                if (path := str(item["path"]))
            ]
        received = 0
        for path, expected, destination in files:
            grant = room.authorise_access(signed(), asset, path=path)
            data = b"".join(room.stream(grant, None))
            if hashlib.sha256(data).digest() != expected:
                raise ProvledgerError(f"the data room sent other bytes for {path or target.name}")
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(data)
            received += len(data)
        return received

    def metadata(self, title: str, **more: object) -> bytes:
        """Keep a metadata document in the blob folder; return the hash a registration anchors."""
        document = orjson.dumps({"title": title, **more}, option=orjson.OPT_SORT_KEYS)
        return self.blobs.keep(document)

    def name(self, text: str) -> bytes:
        """Keep a participant's name in the blob folder, as ``participants add`` does; return
        its SHA-256, the name hash the chain records (the pages show the name it stands for)."""
        return self.blobs.keep(text.encode())

    def track(self, receipt: Receipt) -> Receipt:
        """Count a transaction's gas and events."""
        self.result.transactions += 1
        self.result.gas_used += receipt.gas_used
        self.result.events += len(receipt.events)
        return receipt

    def register(self, who: Provledger, label: str, registration: Registration) -> int:
        """Register and remember an asset under ``label``."""
        receipt = self.track(who.registry.register(registration))
        asset = receipt.event(AssetRegistered).asset_id
        self.result.assets[label] = asset
        self.say(
            f"{label}: registered by {self.name_of(who)} "
            f"as asset {short_id(asset)} ({category_name(registration.category)}, "
            f"grade {registration.grade}, gas {receipt.gas_used:,})"
        )
        return asset

    def certify(self, label: str) -> int:
        """Accept, wait out the public notice, certify."""
        asset = self.result.assets[label]
        self.track(self.registrar.office.accept(asset))
        self.chain.advance(NOTICE_PERIOD + 1)
        receipt = self.track(
            self.registrar.office.certify(
                asset, _doc(f"certificate {label}"), RegistrationType.INITIAL
            )
        )
        number = receipt.event(CertificateIssued).registration_number
        self.result.registration_numbers[label] = number
        self.say(f"{label}: accepted, noticed for 10 days, certified as registration no. {number}")
        return number

    def run(self) -> DemoResult:
        """Play every step."""
        sensor, cleaner, harbour, pacific = self.parties
        for party, ledger in zip(PARTIES, self.parties, strict=True):
            self.track(
                self.registrar.registry.register_participant(
                    ledger.address, party.jurisdiction, self.name(party.name)
                )
            )
        self.say(f"registered {len(PARTIES)} participants in CN, HK and US")

        raw_folder = write_sensor_dataset(self.workdir / "huangpu-air-raw")
        manifest = folder_manifest(raw_folder)
        (self.workdir / "huangpu-air-raw.manifest.json").write_text(manifest.to_json())
        self.blobs.put(manifest.to_json().encode())
        root = to_hex32(manifest.root)
        self.say(f"hashed {len(manifest.entries)} files of {raw_folder.name}: root {root}")
        raw = self.register(
            sensor,
            "raw dataset",
            Registration(
                manifest.root,
                "ipfs://demo/huangpu-air-raw.json",
                self.metadata("Huangpu river air quality, raw sensor readings", days=7, sensors=12),
                301,
                2,
            ),
        )
        self.certify("raw dataset")

        expires = self.chain.timestamp() + 365 * DAY
        license_receipt = self.track(
            sensor.licenses.grant(
                raw, cleaner.address, LicenseKind.PROCESSING_USE, expires, _doc("terms"), "cleaning"
            )
        )
        license_id = license_receipt.event(LicenseGranted).license_id
        self.result.license_id = license_id
        self.say(f"processing license #{license_id} granted to {PARTIES[1].name} for one year")

        cleaned = self.register(
            cleaner,
            "cleaned dataset",
            Registration(
                _doc("cleaned content"),
                "ipfs://demo/huangpu-air-clean.json",
                self.metadata("Huangpu river air quality, cleaned hourly readings"),
                301,
                2,
                (ParentLink(raw, Relation.DERIVED_FROM),),
            ),
        )
        weather = self.register(
            cleaner,
            "weather inputs",
            Registration(
                _doc("weather content"),
                "ipfs://demo/weather.json",
                self.metadata("Shanghai weather observations, hourly"),
                103,
                1,
            ),
        )
        product_file = write_product(self.workdir / "huangpu-aqi-daily.csv")
        product = self.register(
            cleaner,
            "air-quality index product",
            Registration(
                sha256_file(product_file),
                "ipfs://demo/aqi-product.json",
                self.metadata("Huangpu air-quality index, daily product"),
                301,
                1,
                (
                    ParentLink(cleaned, Relation.AGGREGATE_OF),
                    ParentLink(weather, Relation.AGGREGATE_OF),
                ),
            ),
        )
        self.certify("air-quality index product")
        self.track(
            self.appraiser.appraisals.appraise(
                product, 2_500_000_00, "CNY", ValuationMethod.MARKET, _doc("appraisal report")
            )
        )
        self.say("appraised the product at CNY 2,500,000.00 (market method)")
        room = self.open_room()
        self.put(room, cleaner, product, product_file)
        market = self.result.deployment.address("DataMarket")
        self.track(cleaner.registry.approve(market, product))
        listed = self.track(
            cleaner.market.list_asset(product, PRODUCT_PRICE, self.chain.timestamp() + 30 * DAY)
        )
        offer = listed.event(OfferCreated).offer_id
        self.track(harbour.market.buy(offer, value=PRODUCT_PRICE))
        self.track(cleaner.market.withdraw())
        self.say(
            f"sold the product (grade 1) to {PARTIES[2].name} in HK through the market for "
            f"{PRODUCT_PRICE:,} wei: paid and delivered in one transaction, no permit needed; "
            "the seller withdrew the proceeds"
        )
        got = self.get(room, harbour, product, self.workdir / "bought" / product_file.name)
        self.say(
            f"{PARTIES[2].name} downloaded what it bought from the data room: "
            f"{got:,} bytes, checked against the registered content hash"
        )

        try:
            cleaner.registry.transfer(cleaned, pacific.address)
        except ContractRevertError as refusal:
            self.result.refused_export = refusal.name
            self.say(
                f"a sale of the cleaned dataset (grade 2) to {PARTIES[3].name} in US: {refusal}"
            )
        else:
            raise ProvledgerError(
                "the registry let an important-grade asset abroad without a permit"
            )
        self.track(self.exporter.export.issue_permit(cleaned, pacific.address, expires))
        self.track(cleaner.registry.transfer(cleaned, pacific.address))
        self.say(f"exported the cleaned dataset (grade 2) to {PARTIES[3].name} under a permit")

        daily = [_doc(f"daily file {day}") for day in range(1000)]
        tree = StandardMerkleTree.batch(daily)
        batch = self.blobs.put(BatchManifest(tuple(to_hex32(leaf) for leaf in daily)).to_json())
        self.track(sensor.anchor.anchor(tree.root, len(daily), f"sha256:{batch[2:]}"))
        self.result.batch_root = tree.root
        self.result.verified_leaf = sensor.anchor.is_anchored_leaf(
            tree.root, daily[417], tree.proof_for((daily[417],))
        )
        self.say(
            f"anchored 1,000 daily files in one transaction; file 417 proven on-chain: "
            f"{self.result.verified_leaf}"
        )

        opened = self.track(harbour.court.open(raw, _doc("claim of prior collection")))
        dispute = opened.event(DisputeOpened).dispute_id
        self.result.dispute_id = dispute
        self.track(self.arbiter.court.freeze(dispute))
        self.track(self.arbiter.court.rule(dispute, Ruling.DISMISS, _doc("ruling")))
        self.say(f"dispute #{dispute} over the raw dataset: frozen, then dismissed")

        sample = raw_folder / "readings" / "2026-11-03.csv"
        file_hash = sha256_file(sample)
        proof = manifest.tree.proof_for(("readings/2026-11-03.csv", file_hash))
        proven = sensor.anchor.is_dataset_file(
            manifest.root, "readings/2026-11-03.csv", file_hash, proof
        )
        self.result.verified_file = f"readings/2026-11-03.csv in the raw dataset: {proven}"
        self.say(f"verified one file of the registered folder alone: {proven}")
        self.put(room, sensor, raw, raw_folder)
        fetched = self.get(room, cleaner, raw, self.workdir / "licensed" / raw_folder.name)
        self.say(
            f"{PARTIES[1].name} downloaded the raw dataset under licence #{license_id}: "
            f"{len(manifest.entries)} files, {fetched:,} bytes, each checked against the root"
        )
        try:
            self.get(room, pacific, raw, self.workdir / "refused" / raw_folder.name)
        except DeliveryRefusedError as refusal:
            self.result.refused_delivery = refusal.refusal
            why = str(refusal).replace(pacific.address, PARTIES[3].name)  # names over hex
            self.say(f"{PARTIES[3].name} asked for the raw dataset: refused ({why})")
        else:
            raise ProvledgerError("the data room delivered to a party without a licence")
        self.result.confidential = confidential_registration(self, room)
        anchored = room.anchor()
        self.result.access_records = 0 if anchored is None else anchored.batch.leaf_count
        self.say(
            f"the data room anchored its access log ({self.result.access_records} requests) "
            "on chain: each requester can get a receipt"
        )
        room.close()
        state = sensor.registry.asset(asset_id(manifest.root))
        if state is None or state.status is not AssetStatus.CERTIFIED:
            raise ProvledgerError("the demo's raw dataset did not end certified")
        return self.result

"""Data room delivery: a large download through the data room against the same server sending the
plaintext with a plain file response, the server's memory while it streams, and concurrent
ranged downloads.

    python benchmarks/delivery.py [--size-mib N] [--concurrent C] [--rounds R]

1. **Data.** Writes N MiB (default 1024) of random bytes to a file in a temporary folder,
   hashing it as it goes (SHA-256 of the whole, and of the first 256 MiB).
2. **Chain.** Starts anvil, deploys with the dev roles, registers alice (dev key 5) as a
   participant and the file as her asset.
3. **Gateway.** Runs ``benchmarks/delivery_app.py``: ``provledger serve``'s app in one server
   process on a free loopback port, with the data room on (storage and records in the temporary
   folder, a master key generated for the run and passed by environment), plus ``GET /plain``,
   Starlette's ``FileResponse`` of the plaintext file. Alice uploads the file with a signed PUT
   (the room encrypts it as it arrives).
4. **One download against the other.** R rounds (default 5), each a whole download through the
   room (a signed GET as alice, her own asset) and one of ``/plain``, every body streamed and
   its SHA-256 checked; the medians give MiB/s each and their ratio. The server's resident set
   (``VmRSS`` of ``/proc/<pid>/status``, sampled every 50 ms on a thread) just before the
   downloads and its peak during them give the growth.
5. **Concurrency.** C (default 16) downloads at once through the room of the first 256 MiB
   (``Range: bytes=0-268435455``), each with its own signature, each checked byte-exact against
   the hash of the file's first 256 MiB.

Progress goes to stderr; figures to stdout, ending with ``result size_mib=<n> room_mibps=<x>
plain_mibps=<y> ratio=<r> rss_growth_mib=<m> concurrent_ok=<c>``. The exit status is 1 if a
check fails or the acceptance (ratio >= 0.6, growth <= 64 MiB, every concurrent download
byte-exact) is not met. Every process started is stopped by its own pid, and the temporary
folder is removed.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from eth_account.signers.local import LocalAccount

from provledger.categories import CATEGORIES
from provledger.chain.accounts import DEV_ROLES, dev_account
from provledger.chain.anvil import AnvilNode, free_port
from provledger.chain.client import Provledger
from provledger.chain.deploy import deploy, dev_role_grants
from provledger.chain.events import AssetRegistered
from provledger.chain.ids import asset_id_hex
from provledger.chain.types import Registration
from provledger.services.delivery.envelope import generate_master_key
from provledger.services.delivery.requests import (
    SIGNATURE_HEADER,
    SIGNATURE_LIFETIME,
    Domain,
    sign_access,
    sign_upload,
)

MIB: Final = 1 << 20
#: Bytes of the concurrent downloads' range (or the whole file, if smaller).
CONCURRENT_BYTES: Final = 256 * MIB
#: Bytes written, hashed and read per step on the client's side.
CHUNK: Final = 4 * MIB
#: Seconds between two samples of the server's resident set.
RSS_INTERVAL: Final = 0.05
#: The acceptance of issue 20.
MIN_RATIO: Final = 0.6
MAX_RSS_GROWTH_MIB: Final = 64.0
HOLDER_INDEX: Final = 5
"""alice, the participant who registers, uploads and downloads."""
SERVE_START_SECONDS: Final = 60.0
#: Seconds any one request may wait on the server before the client gives up.
REQUEST_TIMEOUT: Final = 600.0


def progress(message: str) -> None:
    """A progress line on stderr."""
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- the data


@dataclass(frozen=True)
class Data:
    """The plaintext file, its SHA-256 and the SHA-256 of its first ``prefix_size`` bytes."""

    path: Path
    size: int
    sha256: bytes
    prefix_size: int
    prefix_sha256: bytes


def make_data(path: Path, size: int, prefix_size: int) -> Data:
    """Write ``size`` random bytes to ``path``, hashing them as they go."""
    whole = hashlib.sha256()
    prefix: bytes | None = None
    written = 0
    with path.open("wb") as out:
        while written < size:
            step = min(CHUNK, size - written)
            if written < prefix_size:  # stop at the prefix's end, to hash it
                step = min(step, prefix_size - written)
            block = os.urandom(step)
            whole.update(block)
            out.write(block)
            written += step
            if written == prefix_size:
                prefix = whole.copy().digest()
    assert prefix is not None
    return Data(path, size, whole.digest(), prefix_size, prefix)


# ---------------------------------------------------------------------- the chain


@dataclass(frozen=True)
class Chain:
    """The deployment the gateway serves, and alice's asset of the file."""

    holder: LocalAccount
    domain: Domain
    asset: int
    ledger: Provledger


def set_up_chain(node: AnvilNode, data: Data, deployments: Path) -> Chain:
    """Deploy, register alice and her asset of ``data``; save the deployment for the gateway."""
    w3 = node.web3()
    deployment = deploy(w3, dev_account(DEV_ROLES["admin"]), grants=dev_role_grants())
    registrar = Provledger(w3, deployment, dev_account(DEV_ROLES["registrar"]))
    holder = dev_account(HOLDER_INDEX)
    registrar.registry.register_participant(holder.address, "CN")
    alice = registrar.as_account(holder)
    item = Registration(
        content_hash=data.sha256,
        metadata_uri="ipfs://provledger-bench/delivery",
        metadata_hash=hashlib.sha256(b"metadata" + data.sha256).digest(),
        category=min(CATEGORIES),
        grade=1,
    )
    asset = alice.registry.register(item).event(AssetRegistered).asset_id
    deployment.save(deployments)
    # signed requests name the chain and the registry (their EIP-712 domain)
    return Chain(holder, Domain.of(alice), asset, alice)


def deadline(chain: Chain) -> int:
    """A deadline for signed requests: the head's time plus :data:`SIGNATURE_LIFETIME`."""
    return int(chain.ledger.w3.eth.get_block("latest")["timestamp"]) + SIGNATURE_LIFETIME


# ---------------------------------------------------------------------- the gateway


class Gateway:
    """``benchmarks/delivery_app.py`` in a child process, stopped by its own process id."""

    def __init__(self, folder: Path, node_url: str, data: Data) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "PROVLEDGER_RPC_URL": node_url,
            "PROVLEDGER_DATABASE_URL": str(folder / "index.sqlite"),
            "PROVLEDGER_DEPLOYMENTS_DIR": str(folder / "deployments"),
            "PROVLEDGER_BLOB_DIR": str(folder / "blobs"),
            "PROVLEDGER_DATA_ROOM": "true",
            "PROVLEDGER_DATA_ROOM_STORAGE": str(folder / "objects"),
            "PROVLEDGER_DATA_ROOM_DATABASE_URL": str(folder / "dataroom.sqlite"),
            "PROVLEDGER_DATA_ROOM_MASTER_KEY": generate_master_key(),
            "PROVLEDGER_BENCH_PLAIN_FILE": str(data.path),
        }
        command = [
            sys.executable,
            str(Path(__file__).resolve().with_name("delivery_app.py")),
            "--port",
            str(self.port),
        ]
        self.log = (folder / "gateway.log").open("wb")
        self.process = subprocess.Popen(
            command, env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=folder
        )
        deadline = time.monotonic() + SERVE_START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the gateway exited with {self.process.returncode}: {self.output(folder)}"
                )
            try:
                status, _ = self.request("GET", "/health")
                if status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the gateway did not answer within {SERVE_START_SECONDS:g} s")

    def output(self, folder: Path) -> str:
        """What the server wrote so far."""
        self.log.flush()
        return (folder / "gateway.log").read_text(errors="replace").strip()

    def connection(self) -> http.client.HTTPConnection:
        """A new connection to the gateway."""
        return http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=REQUEST_TIMEOUT, blocksize=CHUNK
        )

    def request(self, method: str, path: str) -> tuple[int, bytes]:
        """A small request's status and body."""
        conn = self.connection()
        try:
            conn.request(method, path)
            answer = conn.getresponse()
            return answer.status, answer.read()
        finally:
            conn.close()

    def rss_mib(self) -> float:
        """The server's resident set now, in MiB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024

    def stop(self) -> None:
        """Stop the server."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class RssSampler:
    """The gateway's resident set sampled every :data:`RSS_INTERVAL` seconds on a thread."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.peak = gateway.rss_mib()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(RSS_INTERVAL):
            self.peak = max(self.peak, self.gateway.rss_mib())

    def stop(self) -> float:
        """Stop sampling; the peak seen, in MiB."""
        self._stop.set()
        self._thread.join()
        return max(self.peak, self.gateway.rss_mib())


# ---------------------------------------------------------------------- transfers


@dataclass(frozen=True)
class Download:
    """One download: its status, bytes, seconds and SHA-256."""

    status: int
    size: int
    seconds: float
    sha256: bytes

    @property
    def mibps(self) -> float:
        """MiB per second."""
        return self.size / MIB / self.seconds


def upload(gateway: Gateway, chain: Chain, data: Data) -> tuple[int, str]:
    """Alice's signed PUT of the file, streamed from disk; the status and the answer."""
    header = sign_upload(
        chain.holder, chain.domain, chain.asset, data.sha256, deadline=deadline(chain)
    )
    conn = gateway.connection()
    try:
        with data.path.open("rb") as body:
            conn.request(
                "PUT",
                f"/data/{asset_id_hex(chain.asset)}",
                body=body,
                headers={
                    SIGNATURE_HEADER: header,
                    "Content-Type": "application/octet-stream",
                    "Content-Length": str(data.size),
                },
            )
            answer = conn.getresponse()
            return answer.status, answer.read().decode(errors="replace")
    finally:
        conn.close()


def download(gateway: Gateway, path: str, headers: dict[str, str]) -> Download:
    """GET ``path``, its body streamed and hashed as it arrives; an answer that is not a 2xx
    raises RuntimeError with its status and the start of its body."""
    conn = gateway.connection()
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    size = 0
    try:
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        answer = conn.getresponse()
        if answer.status >= 300:
            body = answer.read()
            raise RuntimeError(f"GET {path}: {answer.status} {body[:500]!r}")
        while count := answer.readinto(buffer):
            digest.update(view[:count])
            size += count
        seconds = time.perf_counter() - started
    finally:
        conn.close()
    return Download(answer.status, size, seconds, digest.digest())


def room_headers(chain: Chain, byte_range: str | None = None) -> dict[str, str]:
    """A freshly signed access request of alice's (and a Range header, if given)."""
    expires = deadline(chain)
    signed = sign_access(chain.holder, chain.domain, chain.asset, "benchmark", deadline=expires)
    headers = {SIGNATURE_HEADER: signed}
    if byte_range is not None:
        headers["Range"] = byte_range
    return headers


# ---------------------------------------------------------------------- the run


@dataclass(frozen=True)
class Options:
    """The command line."""

    size_mib: int
    concurrent: int
    rounds: int


@dataclass(frozen=True)
class Figures:
    """What the run measured."""

    room: list[Download]
    plain: list[Download]
    rss_before: float
    rss_peak: float
    concurrent_ok: int
    concurrent_seconds: float
    concurrent_rss_peak: float
    wrong: list[str]
    """Whole downloads whose bytes were not the file's."""

    @property
    def room_mibps(self) -> float:
        """The median MiB/s through the data room."""
        return statistics.median(item.mibps for item in self.room)

    @property
    def plain_mibps(self) -> float:
        """The median MiB/s of the plain file response."""
        return statistics.median(item.mibps for item in self.plain)

    @property
    def ratio(self) -> float:
        """The data room's MiB/s over the plain file's."""
        return self.room_mibps / self.plain_mibps

    @property
    def rss_growth(self) -> float:
        """MiB the server's resident set grew by during the whole downloads."""
        return self.rss_peak - self.rss_before


def compare(gateway: Gateway, chain: Chain, data: Data, options: Options) -> Figures:
    """The alternating whole downloads, under the RSS sampler; then the concurrent ones."""
    wrong: list[str] = []
    room: list[Download] = []
    plain: list[Download] = []
    rss_before = gateway.rss_mib()
    progress(f"gateway RSS before the downloads: {rss_before:,.1f} MiB")
    sampler = RssSampler(gateway)
    try:
        for round_ in range(1, options.rounds + 1):
            for name, path, headers, results in (
                ("room", f"/data/{asset_id_hex(chain.asset)}", room_headers(chain), room),
                ("plain", "/plain", {}, plain),
            ):
                got = download(gateway, path, headers)
                exact = got.status == 200 and got.size == data.size and got.sha256 == data.sha256
                if not exact:
                    wrong.append(f"{name} download {round_} is not the file")
                results.append(got)
                progress(
                    f"round {round_}: {name:<5} {got.size / MIB:,.0f} MiB in {got.seconds:.2f} s "
                    f"= {got.mibps:,.1f} MiB/s {'exact' if exact else 'WRONG BYTES'}; "
                    f"RSS peak so far {sampler.peak:,.1f} MiB"
                )
    finally:
        rss_peak = sampler.stop()
    ok, seconds, concurrent_peak = concurrent(gateway, chain, data, options.concurrent)
    return Figures(room, plain, rss_before, rss_peak, ok, seconds, concurrent_peak, wrong)


def concurrent(gateway: Gateway, chain: Chain, data: Data, count: int) -> tuple[int, float, float]:
    """``count`` ranged downloads at once; how many were byte-exact, the seconds they took
    together and the server's peak RSS meanwhile."""
    byte_range = f"bytes=0-{data.prefix_size - 1}"
    headers = [room_headers(chain, byte_range) for _ in range(count)]
    path = f"/data/{asset_id_hex(chain.asset)}"
    progress(f"{count} concurrent downloads of {data.prefix_size / MIB:,.0f} MiB ...")

    def one(item: dict[str, str]) -> bool:
        try:
            got = download(gateway, path, item)
        except (OSError, RuntimeError, http.client.HTTPException) as error:
            progress(f"  a concurrent download failed: {error}")
            return False
        return (
            got.status == 206 and got.size == data.prefix_size and got.sha256 == data.prefix_sha256
        )

    sampler = RssSampler(gateway)
    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=count) as pool:
            exact = list(pool.map(one, headers))
    finally:
        peak = sampler.stop()
    seconds = time.perf_counter() - started
    total = count * data.prefix_size / MIB
    progress(
        f"  {sum(exact)}/{count} byte-exact, {total:,.0f} MiB in {seconds:.1f} s "
        f"= {total / seconds:,.1f} MiB/s together; RSS peak {peak:,.1f} MiB"
    )
    return sum(exact), seconds, peak


def benchmark(options: Options) -> int:
    """The whole benchmark; returns the exit status."""
    size = options.size_mib * MIB
    with tempfile.TemporaryDirectory(prefix="provledger-delivery-") as scratch:
        folder = Path(scratch)
        progress(f"writing {options.size_mib:,} MiB of random bytes ...")
        started = time.perf_counter()
        data = make_data(folder / "plain.bin", size, min(CONCURRENT_BYTES, size))
        progress(f"  done in {time.perf_counter() - started:.1f} s")
        stops: list[Callable[[], None]] = []
        try:
            node = AnvilNode()
            stops.append(node.stop)
            node.start()
            chain = set_up_chain(node, data, folder / "deployments")
            progress(f"asset {asset_id_hex(chain.asset)} registered on anvil ({node.url})")
            gateway = Gateway(folder, node.url, data)
            stops.append(gateway.stop)
            progress(f"gateway pid {gateway.process.pid} on 127.0.0.1:{gateway.port}")
            started = time.perf_counter()
            status, answer = upload(gateway, chain, data)
            seconds = time.perf_counter() - started
            if status != 201:
                raise RuntimeError(f"the upload was answered {status}: {answer[:500]}")
            progress(
                f"uploaded (encrypted at rest) in {seconds:.1f} s = "
                f"{options.size_mib / seconds:,.1f} MiB/s"
            )
            figures = compare(gateway, chain, data, options)
        finally:
            for stop in reversed(stops):
                stop()
    return report(figures, options)


def report(figures: Figures, options: Options) -> int:
    """Print the figures and the result line; return the exit status."""
    print(f"size {options.size_mib:,} MiB, {options.rounds} rounds, medians:")
    for name, downloads in (("room", figures.room), ("plain", figures.plain)):
        each = ", ".join(f"{item.mibps:,.1f}" for item in downloads)
        print(f"  {name:<5} {statistics.median(d.mibps for d in downloads):>9,.1f} MiB/s ({each})")
    print(f"  ratio {figures.ratio:.3f} (room / plain; at least {MIN_RATIO})")
    print(
        f"gateway RSS {figures.rss_before:,.1f} MiB before the downloads, peak "
        f"{figures.rss_peak:,.1f} MiB: growth {figures.rss_growth:,.1f} MiB "
        f"(at most {MAX_RSS_GROWTH_MIB:g})"
    )
    print(
        f"{options.concurrent} concurrent ranged downloads: {figures.concurrent_ok} byte-exact in "
        f"{figures.concurrent_seconds:.1f} s; RSS peak {figures.concurrent_rss_peak:,.1f} MiB"
    )
    failed = list(figures.wrong)
    if figures.ratio < MIN_RATIO:
        failed.append(f"ratio {figures.ratio:.3f} < {MIN_RATIO}")
    if figures.rss_growth > MAX_RSS_GROWTH_MIB:
        failed.append(f"RSS growth {figures.rss_growth:.1f} MiB > {MAX_RSS_GROWTH_MIB:g}")
    if figures.concurrent_ok != options.concurrent:
        failed.append(f"{figures.concurrent_ok}/{options.concurrent} concurrent downloads exact")
    if failed:
        print("NOT MET: " + "; ".join(failed))
    print(
        f"result size_mib={options.size_mib} room_mibps={figures.room_mibps:.1f} "
        f"plain_mibps={figures.plain_mibps:.1f} ratio={figures.ratio:.3f} "
        f"rss_growth_mib={figures.rss_growth:.1f} concurrent_ok={figures.concurrent_ok}"
    )
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the benchmark."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="size of the file, MiB")
    parser.add_argument("--concurrent", type=int, default=16, help="concurrent downloads")
    parser.add_argument("--rounds", type=int, default=5, help="downloads of each kind")
    args = parser.parse_args(argv)
    if args.size_mib < 1 or args.concurrent < 1 or args.rounds < 1:
        parser.error("--size-mib, --concurrent and --rounds must be at least 1")
    return benchmark(Options(args.size_mib, args.concurrent, args.rounds))


if __name__ == "__main__":
    sys.exit(main())

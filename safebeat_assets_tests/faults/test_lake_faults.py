"""Lake faults: the S3 endpoint stops, hangs or drops an upload mid-run (fault 2), and a local
write dies half-way. Each time the failure is clear, no partial object is ever visible at a
final key, and a re-run after recovery leaves exactly what a clean run leaves.

The endpoint is a dedicated `moto_server` process per test (stopping it must not disturb other
tests); its state is in memory, so after a restart buckets and inputs are created again.
"""

import contextlib
import hashlib
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from upath import UPath

from safebeat_assets.errors import is_transient
from safebeat_assets.storage import object_store
from safebeat_assets.storage.lake import BUCKET_METADATA_KEY, ParquetLakeIOManager
from safebeat_assets.storage.object_store import LakeStorage, ObjectStoreUnavailableError
from safebeat_assets_tests.helpers import S3_KEY, free_port

pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning")

MOTO_SERVER = Path(sys.executable).parent / "moto_server"
JAN, FEB, MAR = "2025-01-01", "2025-02-01", "2025-03-01"
QUARTER = dg.MonthlyPartitionsDefinition(
    start_date=JAN, end_date="2025-04-01", timezone="America/Chicago"
)
RANGE_TAGS = {
    "dagster/asset_partition_range_start": JAN,
    "dagster/asset_partition_range_end": MAR,
}
INPUT_KEY = "inputs/calls.csv"
INPUT_CSV = b"incident,month,value\n" + b"".join(
    f"{i},{(JAN, FEB, MAR)[i % 3]},{i * 1.5}\n".encode() for i in range(300)
)
ATTEMPTS = 3


class MotoProcess:
    """`moto_server` on a fixed loopback port, stopped, paused and restarted at will."""

    def __init__(self, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url, timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"moto_server did not answer on {self.url}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGCONT)  # a paused server cannot handle SIGTERM
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def pause(self) -> None:
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.proc.send_signal(signal.SIGCONT)


@pytest.fixture
def moto(tmp_path):
    server = MotoProcess(tmp_path / "moto.log")
    server.start()
    yield server
    server.stop()


def storage_at(url: str, **settings) -> LakeStorage:
    options = {"max_attempts": ATTEMPTS, "connect_timeout_seconds": 1.0, **settings}
    return LakeStorage(
        root="s3://", endpoint_url=url, access_key_id=S3_KEY, secret_access_key=S3_KEY, **options
    )


def direct_client(url: str):
    """A client of moto itself, outside the lake's code (and around any proxy)."""
    return storage_at(url, max_attempts=1).s3_client()


def stored_objects(url: str) -> dict[str, bytes]:
    """Every object on the endpoint, keyed `<bucket>/<key>`."""
    client = direct_client(url)
    found = {}
    for bucket in (b["Name"] for b in client.list_buckets()["Buckets"]):
        for obj in client.list_objects_v2(Bucket=bucket).get("Contents", []):
            body = client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            found[f"{bucket}/{obj['Key']}"] = body
    return found


def digests(objects: dict[str, bytes]) -> dict[str, str]:
    return {key: hashlib.sha256(body).hexdigest() for key, body in sorted(objects.items())}


def prepare(storage: LakeStorage) -> None:
    """What a fresh endpoint needs before a run: the buckets and the landed input."""
    storage.ensure_buckets()
    storage.s3_client().put_object(Bucket="raw-data", Key=INPUT_KEY, Body=INPUT_CSV)


def error_text(event) -> str:
    """A step failure's (or retry request's) message with those of everything it was raised
    from."""
    error, parts = event.event_specific_data.error, []
    while error is not None:
        parts.append(error.message)
        error = error.cause
    return "\n".join(parts)


# --- a small lake-only graph, as the real stages are wired --------------------------------

RETRY_ONCE = dg.RetryPolicy(max_retries=1, delay=0)


def lake_graph(hooks: dict):
    """raw (unpartitioned) -> cleaned (monthly) -> model (unpartitioned), each in its bucket;
    `hooks[name]()` runs inside that asset's compute, before it returns."""

    def hook(name: str) -> None:
        if name in hooks:
            hooks[name]()

    @dg.asset(metadata={BUCKET_METADATA_KEY: "raw-data"}, retry_policy=RETRY_ONCE)
    def raw_toy(lake_storage: LakeStorage) -> pd.DataFrame:
        data = lake_storage.read_bytes(UPath(f"s3://raw-data/{INPUT_KEY}"))
        hook("raw_toy")
        return pd.read_csv(io.BytesIO(data), dtype=str)

    @dg.asset(
        metadata={BUCKET_METADATA_KEY: "cleaned-data"},
        partitions_def=QUARTER,
        backfill_policy=dg.BackfillPolicy.single_run(),
        retry_policy=RETRY_ONCE,
    )
    def cleaned_toy(raw_toy: pd.DataFrame) -> pd.DataFrame:
        frame = pd.DataFrame(
            {
                "incident": raw_toy["incident"].astype("int64"),
                "value": raw_toy["value"].astype(float),
                "partition_key": raw_toy["month"],
            }
        )
        hook("cleaned_toy")
        return frame

    @dg.asset(metadata={BUCKET_METADATA_KEY: "models"}, retry_policy=RETRY_ONCE)
    def toy_model(cleaned_toy: pd.DataFrame) -> pd.DataFrame:
        hook("toy_model")
        buckets = cleaned_toy.assign(bucket=cleaned_toy["incident"] % 7)
        return buckets.groupby("bucket", as_index=False)[["value"]].sum()

    return [raw_toy, cleaned_toy, toy_model]


def materialize(storage: LakeStorage, hooks: dict | None = None, **kwargs):
    return dg.materialize(
        lake_graph(hooks or {}),
        resources={"io_manager": ParquetLakeIOManager(storage=storage), "lake_storage": storage},
        instance=dg.DagsterInstance.ephemeral(),
        tags=RANGE_TAGS,
        **kwargs,
    )


# --- fault 2: the endpoint stops ----------------------------------------------------------


def test_stopped_endpoint_is_retried_then_fails_naming_endpoint_and_object(moto):
    storage = storage_at(moto.url)
    storage.ensure_buckets()
    target = UPath("s3://models/toy.parquet")
    storage.write_bytes(target, b"first")
    sent = []
    storage.s3_client().meta.events.register("before-send.s3.PutObject", lambda **_: sent.append(1))
    moto.stop()

    started = time.monotonic()
    with pytest.raises(ObjectStoreUnavailableError) as stopped:
        storage.write_bytes(target, b"second")
    elapsed = time.monotonic() - started
    assert len(sent) == ATTEMPTS  # botocore's standard retries, then a clear failure
    assert str(stopped.value) == (
        f"S3 endpoint {moto.url} did not answer: PUT s3://models/toy.parquet failed after "
        f"{ATTEMPTS} attempts (EndpointConnectionError: Could not connect to the endpoint URL: "
        f'"{moto.url}/models/toy.parquet")'
    )
    assert is_transient(stopped.value)
    assert elapsed < 10  # backoff of at most 1 s + 2 s between the three attempts

    with pytest.raises(ObjectStoreUnavailableError, match=f"{moto.url} did not answer: GET"):
        storage.read_bytes(target)


def test_fault2_endpoint_stopped_mid_run_then_rerun_equals_clean_run(moto):
    storage = storage_at(moto.url)

    prepare(storage)
    assert materialize(storage).success
    clean = digests(stored_objects(moto.url))
    assert sorted(clean) == [
        f"cleaned-data/cleaned_toy/{JAN}.parquet",
        f"cleaned-data/cleaned_toy/{FEB}.parquet",
        f"cleaned-data/cleaned_toy/{MAR}.parquet",
        "models/toy_model.parquet",
        "raw-data/inputs/calls.csv",
        "raw-data/raw_toy.parquet",
    ]

    moto.restart()  # a fresh, empty endpoint: the state of a clean run is gone
    prepare(storage)
    stopped = materialize(storage, {"cleaned_toy": moto.stop}, raise_on_error=False)
    assert not stopped.success
    events = [e for e in stopped.all_events if e.step_key == "cleaned_toy"]
    # Transient: the step's retry policy ran it again before giving up.
    (retry,) = [e for e in events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert events[-1].event_type_value == "STEP_FAILURE"
    assert (
        f"ObjectStoreUnavailableError: S3 endpoint {moto.url} did not answer: PUT "
        f"s3://cleaned-data/cleaned_toy/{JAN}.parquet failed after {ATTEMPTS} attempts "
        "(EndpointConnectionError" in error_text(retry)
    )
    # The retry could not even read its input back.
    assert (
        f"ObjectStoreUnavailableError: S3 endpoint {moto.url} did not answer: GET "
        f"s3://raw-data/raw_toy.parquet failed after {ATTEMPTS} attempts" in error_text(events[-1])
    )
    assert "toy_model" not in {e.step_key for e in stopped.get_step_success_events()}

    moto.start()
    prepare(storage)  # moto forgot everything: buckets and the landed input again
    assert materialize(storage).success
    assert digests(stored_objects(moto.url)) == clean


def test_hung_endpoint_times_out_instead_of_hanging(moto):
    storage = storage_at(moto.url, max_attempts=2, read_timeout_seconds=1.0)
    prepare(storage)
    target = UPath(f"s3://raw-data/{INPUT_KEY}")
    moto.pause()  # accepts connections (the kernel does), never answers
    try:
        started = time.monotonic()
        with pytest.raises(ObjectStoreUnavailableError) as hung:
            storage.read_bytes(target)
        elapsed = time.monotonic() - started
    finally:
        moto.resume()
    assert f"S3 endpoint {moto.url} did not answer: GET s3://raw-data/{INPUT_KEY}" in str(
        hung.value
    )
    assert "ReadTimeoutError" in str(hung.value)
    assert elapsed < 8  # two 1 s read timeouts and one backoff, not a hang
    assert storage.read_bytes(target) == INPUT_CSV  # answers again once resumed


# --- fault 2, upload cut mid-body: the endpoint keeps its state ---------------------------


class CuttingProxy:
    """A loopback TCP proxy; once `cut_after` is set, a connection that has sent more request
    bytes than that is closed mid-request, as by an endpoint dying mid-upload."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.cut_after: int | None = None
        self.cuts = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            for source, sink, requests in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(
                    target=self._pump, args=(source, sink, requests), daemon=True
                ).start()

    def _pump(self, source: socket.socket, sink: socket.socket, requests: bool) -> None:
        forwarded = 0
        try:
            while data := source.recv(1 << 16):
                limit = self.cut_after
                if requests and limit is not None and forwarded + len(data) > limit:
                    sink.sendall(data[: max(limit - forwarded, 0)])
                    self.cuts += 1
                    break
                sink.sendall(data)
                forwarded += len(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()


@pytest.fixture
def proxy(moto):
    cutting = CuttingProxy(moto.port)
    yield cutting
    cutting.close()


def months_frame(version: int, big_month: str) -> pd.DataFrame:
    """Small months, and one of ~2 MB of incompressible values (its upload gets cut)."""
    rng = np.random.default_rng(version)
    sizes = {JAN: 50, FEB: 50, MAR: 50, big_month: 250_000}
    months = np.repeat(list(sizes), list(sizes.values()))
    return pd.DataFrame(
        {
            "incident": np.arange(len(months), dtype="int64") + version * 1_000_000,
            "value": rng.random(len(months)),
            "partition_key": months,
        }
    )


def test_fault2_upload_cut_mid_body_leaves_the_previous_object(moto, proxy):
    storage = storage_at(proxy.url)
    version = {"n": 1}

    @dg.asset(
        metadata={BUCKET_METADATA_KEY: "cleaned-data"},
        partitions_def=QUARTER,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def cut_toy() -> pd.DataFrame:
        return months_frame(version["n"], big_month=FEB)

    def run():
        return dg.materialize(
            [cut_toy],
            resources={"io_manager": ParquetLakeIOManager(storage=storage)},
            instance=dg.DagsterInstance.ephemeral(),
            tags=RANGE_TAGS,
            raise_on_error=False,
        )

    assert run().success
    first = stored_objects(moto.url)
    assert len(first[f"cleaned-data/cut_toy/{FEB}.parquet"]) > 1 << 20

    version["n"] = 2
    proxy.cut_after = 512 << 10  # small months pass, February's upload is cut part-way
    failed = run()
    assert not failed.success and proxy.cuts == ATTEMPTS
    message = error_text(failed.get_step_failure_events()[0])
    assert (
        f"S3 endpoint {proxy.url} did not answer: PUT s3://cleaned-data/cut_toy/{FEB}.parquet "
        f"failed after {ATTEMPTS} attempts" in message
    )

    after = stored_objects(moto.url)
    assert sorted(after) == sorted(first)  # no partial or temporary object anywhere
    assert (
        after[f"cleaned-data/cut_toy/{FEB}.parquet"] == first[f"cleaned-data/cut_toy/{FEB}.parquet"]
    )
    # Months written before the cut hold the new run's object, whole; the rest the old one.
    assert (
        after[f"cleaned-data/cut_toy/{JAN}.parquet"] != first[f"cleaned-data/cut_toy/{JAN}.parquet"]
    )
    assert (
        after[f"cleaned-data/cut_toy/{MAR}.parquet"] == first[f"cleaned-data/cut_toy/{MAR}.parquet"]
    )
    for body in after.values():
        pq.read_metadata(io.BytesIO(body))  # every stored object is a complete Parquet file

    proxy.cut_after = None
    assert run().success  # the re-run completes the new version
    assert (
        pq.read_table(io.BytesIO(stored_objects(moto.url)[f"cleaned-data/cut_toy/{FEB}.parquet"]))[
            "incident"
        ][0].as_py()
        == 2_000_050
    )


# --- local lake: a write dies half-way ----------------------------------------------------


def local_objects(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_local_write_failing_half_way_keeps_the_previous_file(tmp_path, monkeypatch):
    storage = LakeStorage(root=str(tmp_path / "lake"))
    value = {"v": 1.0}

    @dg.asset(metadata={BUCKET_METADATA_KEY: "models"})
    def toy_local() -> pd.DataFrame:
        return pd.DataFrame({"incident": np.arange(50_000), "value": value["v"]})

    def run():
        return dg.materialize(
            [toy_local],
            resources={"io_manager": ParquetLakeIOManager(storage=storage)},
            instance=dg.DagsterInstance.ephemeral(),
            raise_on_error=False,
        )

    assert run().success
    before = local_objects(tmp_path / "lake")

    def half_then_disk_full(handle, data):
        handle.write(data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(object_store, "_write_all", half_then_disk_full)
    value["v"] = 2.0
    failed = run()
    assert not failed.success
    assert "No space left on device" in error_text(failed.get_step_failure_events()[0])
    assert local_objects(tmp_path / "lake") == before  # the old file, and no temporary one


def test_local_writer_killed_half_way_keeps_the_previous_file(tmp_path):
    root = tmp_path / "lake"
    target = root / "models" / "toy.parquet"
    storage = LakeStorage(root=str(root))
    old = pd.DataFrame({"incident": [1, 2, 3]})
    buffer = io.BytesIO()
    old.to_parquet(buffer)
    storage.write_bytes(UPath(str(target)), buffer.getvalue())
    (tmp_path / "new.bin").write_bytes(os.urandom(1 << 20))
    script = (
        "import os, signal, sys\n"
        "from upath import UPath\n"
        "from safebeat_assets.storage import object_store\n"
        "def half_then_killed(handle, data):\n"
        "    handle.write(data[: len(data) // 2]); handle.flush(); os.fsync(handle.fileno())\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "object_store._write_all = half_then_killed\n"
        "storage = object_store.LakeStorage(root=sys.argv[1])\n"
        "storage.write_bytes(UPath(sys.argv[2]), open(sys.argv[3], 'rb').read())\n"
    )
    killed = subprocess.run(
        [sys.executable, "-c", script, str(root), str(target), str(tmp_path / "new.bin")],
        capture_output=True,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    assert target.read_bytes() == buffer.getvalue()  # the final name holds the old file whole
    (leftover,) = [p for p in target.parent.iterdir() if p != target]
    # What the kill leaves is a hidden temporary name no lake pattern matches.
    assert leftover.name.startswith(".toy.parquet.") and leftover.suffix == ".tmp"
    assert leftover.stat().st_size == 1 << 19
    pd.testing.assert_frame_equal(pd.read_parquet(target), old)

    # The next write of the same object removes what the dead writer left, and nothing else.
    live_writer = target.with_name(f".{target.name}.{os.getpid()}.0123456789ab.tmp")
    live_writer.write_bytes(b"in progress")
    storage.write_bytes(UPath(str(target)), (tmp_path / "new.bin").read_bytes())
    assert not leftover.exists()
    assert live_writer.exists()
    assert target.read_bytes() == (tmp_path / "new.bin").read_bytes()

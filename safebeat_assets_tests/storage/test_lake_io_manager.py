"""ParquetLakeIOManager in isolation: toy assets materialized into a temp folder and into S3
(moto), checked against the stored objects themselves. A requested month that is not stored is
an error (`MissingPartitionError`), never an empty month."""

import io
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from shapely.geometry import Point

from safebeat_assets.contracts import column_descriptions
from safebeat_assets.errors import MissingPartitionError
from safebeat_assets.storage.lake import (
    ALLOW_MISSING_METADATA_KEY,
    ARROW_METADATA_KEY,
    BUCKET_METADATA_KEY,
    COLUMNS_METADATA_KEY,
    MISSING_AS_NONE_METADATA_KEY,
    ROW_COUNT_METADATA_KEY,
    ParquetLakeIOManager,
)
from safebeat_assets.storage.object_store import LakeStorage

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
MONTHS = dg.MonthlyPartitionsDefinition(
    start_date="2025-01-01", end_date="2025-07-01", timezone="America/Chicago"
)
pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning")

SUMMARY = {"n_clusters": 2, "inertia": 1.25, "features": ["log_incidents", "avg_priority"]}


@dataclass
class Lake:
    storage: LakeStorage
    s3: object | None  # boto3 client, so stored objects are read without the lake's own code

    def objects(self) -> dict[str, bytes]:
        """Every stored object, keyed `<bucket>/<key>`."""
        if self.s3 is None:
            root = Path(self.storage.root)
            return {
                p.relative_to(root).as_posix(): p.read_bytes()
                for p in root.rglob("*")
                if p.is_file()
            }
        found = {}
        for bucket in (b["Name"] for b in self.s3.list_buckets()["Buckets"]):
            for obj in self.s3.list_objects_v2(Bucket=bucket).get("Contents", []):
                body = self.s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                found[f"{bucket}/{obj['Key']}"] = body
        return found

    def table(self, key: str) -> pa.Table:
        return pq.read_table(io.BytesIO(self.objects()[key]))

    def delete(self, key: str) -> None:
        if self.s3 is None:
            (Path(self.storage.root) / key).unlink()
        else:
            bucket, _, name = key.partition("/")
            self.s3.delete_object(Bucket=bucket, Key=name)

    def location(self, key: str) -> str:
        """How the lake names `key` in its messages."""
        return f"s3://{key}" if self.s3 is not None else str(Path(self.storage.root) / key)


@pytest.fixture(params=["local", "s3"])
def lake(request, tmp_path) -> Lake:
    if request.param == "local":
        return Lake(LakeStorage(root=str(tmp_path / "lake")), None)
    return Lake(request.getfixturevalue("s3_storage"), request.getfixturevalue("s3_client"))


@pytest.fixture
def local_lake(tmp_path) -> Lake:
    return Lake(LakeStorage(root=str(tmp_path / "lake")), None)


def run(lake: Lake, assets, selection=None, partition_key=None, months=None):
    tags = {RANGE_START: months[0], RANGE_END: months[1]} if months else None
    return dg.materialize(
        assets,
        selection=selection,
        resources={"io_manager": ParquetLakeIOManager(storage=lake.storage)},
        instance=dg.DagsterInstance.ephemeral(),
        partition_key=partition_key,
        tags=tags,
    )


def producer(name: str, make, bucket: str | None = "models", partitioned: bool = False):
    extra = (
        {"partitions_def": MONTHS, "backfill_policy": dg.BackfillPolicy.single_run()}
        if partitioned
        else {}
    )

    @dg.asset(name=name, metadata={BUCKET_METADATA_KEY: bucket} if bucket else {}, **extra)
    def _produce(context: dg.AssetExecutionContext):
        return make(context)

    return _produce


def consumer(name: str, upstream: str, seen: dict, metadata=None, partitioned: bool = False):
    """An asset keeping what the lake loaded for it (`-> None`: it stores nothing itself)."""
    extra = (
        {"partitions_def": MONTHS, "backfill_policy": dg.BackfillPolicy.single_run()}
        if partitioned
        else {}
    )

    @dg.asset(
        name=name, ins={"upstream": dg.AssetIn(key=upstream, metadata=metadata or {})}, **extra
    )
    def _consume(upstream) -> None:
        seen[name] = upstream

    return _consume


def materialization(result, name: str) -> dict:
    return result.asset_materializations_for_node(name)[0].metadata


def schema_of(meta: dict) -> dict[str, tuple[str, str | None]]:
    return {c.name: (c.type, c.description) for c in meta["dagster/column_schema"].schema.columns}


def clusters(_context=None) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "geo_id": ["484530011001", "484530011002", "484530011003"],
            "cluster_id": [0, 1, 0],
            "incident_count": [12, 3, 7],
            "location_risk": [2.5, 0.75, 1.5],
        }
    )
    frame.attrs["model_summary"] = SUMMARY
    return frame


# --- unpartitioned -----------------------------------------------------------------------


def test_frame_round_trips_with_attrs_columns_arrow_and_row_count(lake):
    seen: dict = {}
    result = run(
        lake,
        [
            producer("zone_clusters", clusters),
            consumer("whole", "zone_clusters", seen),
            consumer(
                "some", "zone_clusters", seen, {COLUMNS_METADATA_KEY: ["cluster_id", "geo_id"]}
            ),
            consumer("arrow", "zone_clusters", seen, {ARROW_METADATA_KEY: True}),
            consumer("counted", "zone_clusters", seen, {ROW_COUNT_METADATA_KEY: True}),
        ],
    )
    assert list(lake.objects()) == ["models/zone_clusters.parquet"]
    stored = lake.table("models/zone_clusters.parquet").to_pandas()
    pd.testing.assert_frame_equal(stored, clusters())
    # The model summary lives in the object itself (the ML assets' reports read it back).
    assert stored.attrs == {"model_summary": SUMMARY}

    pd.testing.assert_frame_equal(seen["whole"], clusters())
    assert seen["whole"].attrs == {"model_summary": SUMMARY}
    assert list(seen["some"].columns) == ["cluster_id", "geo_id"]
    assert seen["some"]["cluster_id"].tolist() == [0, 1, 0]
    assert isinstance(seen["arrow"], pa.Table)
    assert seen["arrow"].column("incident_count").to_pylist() == [12, 3, 7]
    assert seen["counted"] == 3

    meta = materialization(result, "zone_clusters")
    assert meta["dagster/row_count"].value == 3
    assert meta["safebeat/bucket"].value == "models"
    assert str(meta["path"].value).endswith("models/zone_clusters.parquet")
    assert "partitions_written" not in meta
    described = column_descriptions("zone_clusters")
    assert schema_of(meta) == {
        "geo_id": ("object", described["geo_id"]),
        "cluster_id": ("int64", described["cluster_id"]),
        "incident_count": ("int64", described["incident_count"]),
        "location_risk": ("float64", described["location_risk"]),
    }


def test_arrow_table_of_an_undescribed_asset(lake):
    table = pa.table({"incident_number": pa.array([7, 8], pa.int64()), "raw": ["a", None]})
    seen: dict = {}
    result = run(
        lake,
        [
            producer("toy_raw", lambda _: table, bucket="raw-data"),
            consumer("arrow", "toy_raw", seen, {ARROW_METADATA_KEY: True}),
        ],
    )
    assert lake.table("raw-data/toy_raw.parquet").equals(table)
    assert seen["arrow"].equals(table)
    meta = materialization(result, "toy_raw")
    assert schema_of(meta) == {"incident_number": ("int64", None), "raw": ("string", None)}
    assert meta["safebeat/bucket"].value == "raw-data"


def test_geodataframe_is_stored_as_geoparquet(lake):
    def zones(_context):
        return gpd.GeoDataFrame(
            {"geo_id": ["484530011001", "484530011002"], "risk": [1.0, 2.0]},
            geometry=[Point(-97.74, 30.27), Point(-97.70, 30.30)],
            crs="EPSG:4326",
        )

    seen: dict = {}
    run(lake, [producer("toy_zones", zones), consumer("whole", "toy_zones", seen)])
    raw = lake.objects()["models/toy_zones.parquet"]
    assert b"geo" in pq.read_schema(io.BytesIO(raw)).metadata
    loaded = seen["whole"]
    assert isinstance(loaded, gpd.GeoDataFrame)
    assert loaded.crs.to_epsg() == 4326
    assert loaded.geometry.geom_equals(zones(None).geometry).all()
    assert loaded["geo_id"].tolist() == ["484530011001", "484530011002"]


def test_geoparquet_loads_only_the_requested_columns(local_lake):
    def zones(_context):
        return gpd.GeoDataFrame(
            {"geo_id": ["484530011001"], "risk": [1.0]}, geometry=[Point(-97.74, 30.27)], crs=4326
        )

    seen: dict = {}
    reader = consumer("ids", "toy_zones", seen, {COLUMNS_METADATA_KEY: ["geo_id"]})
    run(local_lake, [producer("toy_zones", zones), reader])
    assert list(seen["ids"].columns) == ["geo_id"]

    arrow = consumer("arrow", "toy_zones", seen, {ARROW_METADATA_KEY: True})
    run(local_lake, [producer("toy_zones", zones), arrow], selection=["arrow"])
    assert isinstance(seen["arrow"], pa.Table) and b"geo" in seen["arrow"].schema.metadata


def test_asset_without_bucket_is_an_error(local_lake):
    with pytest.raises(dg.DagsterInvariantViolationError, match="has no safebeat/lake_bucket"):
        run(local_lake, [producer("toy_nowhere", clusters, bucket=None)])
    assert local_lake.objects() == {}


def test_non_frame_output_is_a_type_error_not_retried(local_lake):
    with pytest.raises(dg.Failure, match="TypeError: .*toy_dict returned dict") as failure:
        run(local_lake, [producer("toy_dict", lambda _: {"rows": 1})])
    assert failure.value.allow_retries is False  # deterministic: the step policy must not retry
    assert local_lake.objects() == {}


# --- monthly partitions ------------------------------------------------------------------


def calls(rows: list[tuple[int, str]]) -> pd.DataFrame:
    """A frame in the partition convention from (incident, partition_key) rows."""
    return pd.DataFrame(
        {
            "incident": pd.array([r[0] for r in rows], dtype="int64"),
            "value": [float(r[0]) / 2 for r in rows],
            "partition_key": [r[1] for r in rows],
        }
    )


JAN, FEB, MAR, APR = "2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01"
FIRST_RUN = [(1, JAN), (3, MAR), (2, JAN)]


def test_monthly_run_writes_every_month_and_loads_what_exists(lake):
    monthly = producer("toy_calls", lambda _: calls(FIRST_RUN), "cleaned-data", partitioned=True)
    result = run(lake, [monthly], months=(JAN, MAR))

    objects = lake.objects()
    assert sorted(objects) == [
        f"cleaned-data/toy_calls/{month}.parquet" for month in (JAN, FEB, MAR)
    ]
    jan = lake.table(f"cleaned-data/toy_calls/{JAN}.parquet")
    feb = lake.table(f"cleaned-data/toy_calls/{FEB}.parquet")
    assert jan.column_names == ["incident", "value"]  # the key column is not stored
    assert jan.column("incident").to_pylist() == [1, 2]
    assert feb.num_rows == 0 and feb.schema == jan.schema
    meta = materialization(result, "toy_calls")
    assert meta["partitions_written"].value == 3
    assert meta["dagster/row_count"].value == 3
    assert list(schema_of(meta)) == ["incident", "value"]
    assert meta["safebeat/bucket"].value == "cleaned-data"

    # Re-running March alone replaces only March's object.
    second = producer("toy_calls", lambda _: calls([(4, MAR)]), "cleaned-data", partitioned=True)
    run(lake, [second], partition_key=MAR)
    assert lake.table(f"cleaned-data/toy_calls/{MAR}.parquet").column("incident").to_pylist() == [4]
    assert (
        lake.objects()[f"cleaned-data/toy_calls/{JAN}.parquet"]
        == objects[f"cleaned-data/toy_calls/{JAN}.parquet"]
    )

    # April to June were never materialized: reading every month is an error naming them...
    with pytest.raises(dg.Failure) as failure:
        run(
            lake,
            [second, consumer("everything", "toy_calls", {})],
            selection=["everything"],
        )
    missing = failure.value.__cause__
    assert isinstance(missing, MissingPartitionError)
    assert str(missing).startswith(
        "toy_calls: 3 month(s) 2025-04-01, 2025-05-01, 2025-06-01 requested but absent from the "
        f"lake at {lake.location('cleaned-data/toy_calls')} "
    )
    assert failure.value.allow_retries is False

    # ... unless the input opts into whatever months exist.
    seen: dict = {}
    allow = {ALLOW_MISSING_METADATA_KEY: True}
    run(
        lake,
        [
            second,
            consumer("everything", "toy_calls", seen, allow),
            consumer("arrow", "toy_calls", seen, {ARROW_METADATA_KEY: True, **allow}),
            consumer("counted", "toy_calls", seen, {ROW_COUNT_METADATA_KEY: True, **allow}),
            consumer("values", "toy_calls", seen, {COLUMNS_METADATA_KEY: ["value"], **allow}),
        ],
        selection=["everything", "arrow", "counted", "values"],
    )
    assert seen["everything"]["incident"].tolist() == [1, 2, 4]
    assert list(seen["everything"].columns) == ["incident", "value"]
    assert seen["everything"].index.tolist() == [0, 1, 2]
    assert seen["arrow"].column("incident").to_pylist() == [1, 2, 4]
    assert seen["counted"] == 3
    assert list(seen["values"].columns) == ["value"]

    seen.clear()
    monthly_reader = consumer("reader", "toy_calls", seen, partitioned=True)
    run(lake, [second, monthly_reader], selection=["reader"], partition_key=MAR)
    assert seen["reader"]["incident"].tolist() == [4]
    run(lake, [second, monthly_reader], selection=["reader"], months=(FEB, MAR))
    assert seen["reader"]["incident"].tolist() == [4]  # February is stored, and empty
    with pytest.raises(dg.Failure, match=r"toy_calls: 1 month\(s\) 2025-04-01 requested"):
        run(lake, [second, monthly_reader], selection=["reader"], months=(FEB, APR))


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (calls(FIRST_RUN).drop(columns=["partition_key"]), "must return a 'partition_key' column"),
        (calls([(1, JAN), (5, "2025-05-01")]), r"outside this run: \['2025-05-01'\]"),
    ],
    ids=["missing-key-column", "month-outside-run"],
)
def test_partition_convention_violations_write_nothing(local_lake, frame, message):
    monthly = producer("toy_calls", lambda _: frame.copy(), "cleaned-data", partitioned=True)
    with pytest.raises(dg.DagsterInvariantViolationError, match=message):
        run(local_lake, [monthly], months=(JAN, MAR))
    assert local_lake.objects() == {}


@pytest.mark.parametrize(
    "metadata",
    [{}, {ROW_COUNT_METADATA_KEY: True}, {ALLOW_MISSING_METADATA_KEY: True}],
    ids=["frame", "row-count", "allow-missing"],
)
def test_loading_a_monthly_asset_with_no_month_stored_is_an_error(local_lake, metadata):
    monthly = producer("toy_calls", lambda _: calls(FIRST_RUN), "cleaned-data", partitioned=True)
    reader = consumer("reader", "toy_calls", {}, metadata)
    every_month = ", ".join(f"2025-0{m}-01" for m in range(1, 7))
    with pytest.raises(dg.Failure, match=rf"toy_calls: 6 month\(s\) {every_month} requested"):
        run(local_lake, [monthly, reader], selection=["reader"])


def test_monthly_arrow_table_output(local_lake):
    table = pa.table({"incident": [1, 3], "partition_key": [JAN, MAR]})
    monthly = producer("toy_calls", lambda _: table, "cleaned-data", partitioned=True)
    run(local_lake, [monthly], months=(JAN, MAR))
    stored = local_lake.table(f"cleaned-data/toy_calls/{MAR}.parquet")
    assert stored.column("incident").to_pylist() == [3]


# --- a missing month is an error, never an empty month ------------------------------------


def lake_io(lake: Lake):
    return ParquetLakeIOManager(storage=lake.storage).create_io_manager(None)


def monthly_input(metadata=None, first=JAN, last=MAR, partitions=MONTHS) -> dg.InputContext:
    """What Dagster hands the lake for a monthly consumer of `toy_calls` over [first, last]."""
    return dg.build_input_context(
        asset_key=dg.AssetKey("toy_calls"),
        definition_metadata=metadata or {},
        upstream_output=dg.build_output_context(
            asset_key="toy_calls", definition_metadata={BUCKET_METADATA_KEY: "cleaned-data"}
        ),
        asset_partitions_def=partitions,
        asset_partition_key_range=dg.PartitionKeyRange(first, last),
    )


@pytest.mark.parametrize("metadata", [{}, {ROW_COUNT_METADATA_KEY: True}], ids=["frame", "count"])
def test_a_deleted_month_is_an_error_through_the_io_manager(lake, metadata):
    monthly = producer("toy_calls", lambda _: calls(FIRST_RUN), "cleaned-data", partitioned=True)
    run(lake, [monthly], months=(JAN, MAR))
    manager = lake_io(lake)
    # February holds no calls: stored as an empty object and read as an empty month.
    assert lake.table(f"cleaned-data/toy_calls/{FEB}.parquet").num_rows == 0
    loaded = manager.load_input(monthly_input(metadata))
    assert (loaded if metadata else len(loaded)) == 3

    lake.delete(f"cleaned-data/toy_calls/{FEB}.parquet")
    with pytest.raises(dg.Failure) as failure:
        manager.load_input(monthly_input(metadata))
    missing = failure.value.__cause__
    assert isinstance(missing, MissingPartitionError)
    assert str(missing) == (
        f"toy_calls: 1 month(s) {FEB} requested but absent from the lake at "
        f"{lake.location('cleaned-data/toy_calls')} (an empty month is stored as an empty "
        "object, so an absent one was never built or was lost; it is not read as empty). "
        "Materialize toy_calls for these months first."
    )
    assert failure.value.allow_retries is False
    # A consumer that only wants the months that exist says so explicitly.
    allowed = manager.load_input(monthly_input({ALLOW_MISSING_METADATA_KEY: True, **metadata}))
    assert (allowed if metadata else len(allowed)) == 3


def test_downstream_of_a_deleted_month_fails_and_writes_nothing(lake):
    """The incident: a downstream replace of JAN..MAR read a missing February as empty."""
    monthly = producer("toy_calls", lambda _: calls(FIRST_RUN), "cleaned-data", partitioned=True)

    @dg.asset(
        partitions_def=MONTHS,
        backfill_policy=dg.BackfillPolicy.single_run(),
        metadata={BUCKET_METADATA_KEY: "models"},
    )
    def toy_fact(toy_calls: pd.DataFrame) -> pd.DataFrame:
        raise AssertionError(f"must not run on an incomplete input ({len(toy_calls)} rows)")

    run(lake, [monthly], months=(JAN, MAR))
    lake.delete(f"cleaned-data/toy_calls/{FEB}.parquet")
    before = lake.objects()
    result = dg.materialize(
        [monthly, toy_fact],
        selection=["toy_fact"],
        resources={"io_manager": ParquetLakeIOManager(storage=lake.storage)},
        instance=dg.DagsterInstance.ephemeral(),
        tags={RANGE_START: JAN, RANGE_END: MAR},
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = result.get_step_failure_events()
    message = failure.step_failure_data.error.message
    assert "MissingPartitionError: toy_calls: 1 month(s) 2025-02-01 requested but absent" in message
    assert lake.location("cleaned-data/toy_calls") in message
    assert lake.objects() == before  # nothing written downstream


def test_missing_unpartitioned_asset_is_none_only_when_asked(local_lake):
    seen: dict = {}
    optional = consumer("optional", "toy_model", seen, {MISSING_AS_NONE_METADATA_KEY: True})
    counted = consumer(
        "counted",
        "toy_model",
        seen,
        {MISSING_AS_NONE_METADATA_KEY: True, ROW_COUNT_METADATA_KEY: True},
    )
    model = producer("toy_model", clusters)
    run(local_lake, [model, optional, counted], selection=["optional", "counted"])
    assert seen == {"optional": None, "counted": None}
    with pytest.raises(dg.Failure, match="FileNotFoundError: .*toy_model.parquet"):
        run(local_lake, [model, consumer("required", "toy_model", seen)], selection=["required"])


# --- many months load as the frame a month at a time gives -------------------------------


def store_months(lake: Lake, months: dict[str, pa.Table]) -> None:
    folder = Path(lake.storage.root) / "cleaned-data" / "toy_calls"
    folder.mkdir(parents=True, exist_ok=True)
    for key, table in months.items():
        pq.write_table(table, folder / f"{key}.parquet")


def month_by_month(months: dict[str, pa.Table]) -> pd.DataFrame:
    """What reading the months one DataFrame at a time and concatenating them gives."""
    return pd.concat([table.to_pandas() for table in months.values()], ignore_index=True)


def test_months_load_as_the_frame_a_month_at_a_time_gives(local_lake):
    # February is empty and stored the way an empty aggregate month is: its text column typed
    # null and its sum int64, where the months with rows have text and a float sum.
    frame = pd.DataFrame({"geo_id": ["484530011001", None], "calls": [3, 1], "minutes": [1.5, 2.0]})
    months = {
        JAN: pa.Table.from_pandas(frame),
        FEB: pa.table(
            {
                "geo_id": pa.array([], pa.null()),
                "calls": pa.array([], pa.int64()),
                "minutes": pa.array([], pa.int64()),
            }
        ),
        MAR: pa.Table.from_pandas(frame.iloc[::-1].reset_index(drop=True)),
    }
    store_months(local_lake, months)
    loaded = lake_io(local_lake).load_input(monthly_input())
    pd.testing.assert_frame_equal(loaded, month_by_month(months), check_exact=True)
    assert loaded["minutes"].dtype == "float64" and loaded["calls"].dtype == "int64"
    assert loaded["geo_id"].tolist() == ["484530011001", None, None, "484530011001"]
    # As an Arrow table (the consumer counting with integer buffers), the same values.
    table = lake_io(local_lake).load_input(monthly_input({ARROW_METADATA_KEY: True}))
    assert table.schema.field("minutes").type == pa.float64()
    assert table.schema.field("geo_id").type == pa.string()
    pd.testing.assert_frame_equal(table.to_pandas(), loaded, check_exact=True)


def test_months_typed_differently_keep_pandas_promotion(local_lake):
    # A sum that was integral in one month and not in the next: pandas makes it float64.
    months = {
        JAN: pa.table({"geo_id": ["484530011001"], "minutes": pa.array([2], pa.int64())}),
        FEB: pa.table({"geo_id": ["484530011002"], "minutes": pa.array([1.5], pa.float64())}),
        MAR: pa.table({"geo_id": ["484530011003"], "minutes": pa.array([4], pa.int64())}),
    }
    store_months(local_lake, months)
    loaded = lake_io(local_lake).load_input(monthly_input())
    pd.testing.assert_frame_equal(loaded, month_by_month(months), check_exact=True)
    assert loaded["minutes"].tolist() == [2.0, 1.5, 4.0]
    table = lake_io(local_lake).load_input(monthly_input({ARROW_METADATA_KEY: True}))
    assert table.column("minutes").to_pylist() == [2.0, 1.5, 4.0]


# --- long reads take yearly roll-ups of past years -----------------------------------------

HISTORY = dg.MonthlyPartitionsDefinition(
    start_date="2023-01-01", end_date="2025-07-01", timezone="America/Chicago"
)
HISTORY_KEYS = HISTORY.get_partition_keys()
ROLLUPS = "cleaned-data/toy_calls/_years/"


def history_month(key: str) -> pa.Table:
    """A month of an aggregate: April of each year is empty (text typed null, sums int64),
    the minutes are integral in 2023 and in 2025's first quarter, fractional otherwise."""
    if key[5:7] == "04":
        return pa.table(
            {
                "geo_id": pa.array([], pa.null()),
                "calls": pa.array([], pa.int64()),
                "minutes": pa.array([], pa.int64()),
            }
        )
    rows = int(key[5:7]) % 3 + 1
    integral = key < "2024-01-01" or "2025-01-01" <= key < "2025-04-01"
    minutes = [int(key[5:7]) + i for i in range(rows)]
    return pa.table(
        {
            "geo_id": [None if i == 1 else f"48453{key[:4]}{key[5:7]}{i}" for i in range(rows)],
            "calls": pa.array(range(rows), pa.int64()),
            "minutes": pa.array(minutes if integral else [m + 0.5 for m in minutes]),
        }
    )


def store_history(lake: Lake, months: dict[str, pa.Table]) -> None:
    folder = lake.storage.upath() / "cleaned-data" / "toy_calls"
    for key, table in months.items():
        buffer = pa.BufferOutputStream()
        pq.write_table(table, buffer)
        lake.storage.write_bytes(folder / f"{key}.parquet", buffer.getvalue().to_pybytes())


def history_input(metadata=None, first=HISTORY_KEYS[0], last=HISTORY_KEYS[-1]):
    return monthly_input(metadata, first, last, partitions=HISTORY)


def rollup_names(lake: Lake) -> list[str]:
    return sorted(name[len(ROLLUPS) :] for name in lake.objects() if name.startswith(ROLLUPS))


def test_long_reads_take_yearly_rollups_and_load_what_the_months_give(lake):
    months = {key: history_month(key) for key in HISTORY_KEYS}
    manager = lake_io(lake)  # creates the buckets
    store_history(lake, months)
    loaded = manager.load_input(history_input())
    pd.testing.assert_frame_equal(loaded, month_by_month(months), check_exact=True)
    assert loaded["minutes"].dtype == "float64" and loaded["calls"].dtype == "int64"
    # Past years are rolled up, the newest month's year is not.
    names = rollup_names(lake)
    assert [name[:5] for name in names] == ["2023.", "2024."]
    # The roll-up holds exactly its year's months, empty April adding neither rows nor types.
    year_2023 = lake.table(ROLLUPS + names[0])
    assert year_2023.num_rows == sum(months[k].num_rows for k in HISTORY_KEYS if k < "2024")
    assert year_2023.schema.field("minutes").type == pa.int64()

    # A second read takes the roll-ups and writes nothing; columns and Arrow as asked.
    before = lake.objects()
    again = manager.load_input(history_input())
    pd.testing.assert_frame_equal(again, loaded, check_exact=True)
    table = manager.load_input(
        history_input({ARROW_METADATA_KEY: True, COLUMNS_METADATA_KEY: ["geo_id", "minutes"]})
    )
    assert table.column_names == ["geo_id", "minutes"]
    pd.testing.assert_frame_equal(table.to_pandas(), loaded[["geo_id", "minutes"]])
    assert lake.objects() == before
    # Without roll-ups (what every read did before them): the same frame.
    plain = ParquetLakeIOManager(storage=lake.storage).create_io_manager(None)
    plain.rollups = False
    pd.testing.assert_frame_equal(plain.load_input(history_input()), loaded, check_exact=True)


def test_a_rewritten_month_replaces_its_years_rollup(lake):
    months = {key: history_month(key) for key in HISTORY_KEYS}
    manager = lake_io(lake)  # creates the buckets
    store_history(lake, months)
    manager.load_input(history_input())
    old_2024 = rollup_names(lake)[1]
    # June 2024 recounted (a late call): the next read sees it, through a new roll-up.
    months["2024-06-01"] = pa.table(
        {"geo_id": ["484530000001"], "calls": pa.array([7], pa.int64()), "minutes": [9.5]}
    )
    store_history(lake, {"2024-06-01": months["2024-06-01"]})
    loaded = manager.load_input(history_input())
    pd.testing.assert_frame_equal(loaded, month_by_month(months), check_exact=True)
    names = rollup_names(lake)
    assert len(names) == 2 and names[0].startswith("2023.") and names[1].startswith("2024.")
    assert old_2024 not in names  # the stale one is removed, not left to accumulate
    # A read that does not take all of a year's stored months reads that year's months.
    partial = manager.load_input(history_input(first="2023-03-01"))
    expected = {key: table for key, table in months.items() if key >= "2023-03-01"}
    pd.testing.assert_frame_equal(partial, month_by_month(expected), check_exact=True)
    assert rollup_names(lake) == names


def test_a_short_read_takes_the_months_themselves(local_lake):
    months = {key: history_month(key) for key in HISTORY_KEYS}
    store_history(local_lake, months)
    first = "2024-01-01"
    loaded = lake_io(local_lake).load_input(history_input(first=first, last="2025-06-01"))
    expected = {key: table for key, table in months.items() if key >= first}
    pd.testing.assert_frame_equal(loaded, month_by_month(expected), check_exact=True)
    assert rollup_names(local_lake) == []  # 18 months: fewer than MIN_MONTHS_FOR_ROLLUPS


def test_a_month_rewritten_while_its_year_is_rolled_up_is_not_named_after_the_old_one(lake):
    months = {key: history_month(key) for key in HISTORY_KEYS}
    manager = lake_io(lake)
    store_history(lake, months)
    june = "2024-06-01"
    months[june] = pa.table(
        {"geo_id": ["484530000002"], "calls": pa.array([5], pa.int64()), "minutes": [1.5]}
    )
    read_month = manager._month_table

    def rewritten_while_read(context, key):
        if key == june:  # another run rewrites June after this read listed the months
            store_history(lake, {june: months[june]})
        return read_month(context, key)

    manager._month_table = rewritten_while_read
    loaded = manager.load_input(history_input())
    pd.testing.assert_frame_equal(loaded, month_by_month(months), check_exact=True)
    # 2023 was rolled up; 2024, read while June changed, was read month by month instead.
    assert [name[:5] for name in rollup_names(lake)] == ["2023."]
    manager._month_table = read_month
    again = manager.load_input(history_input())
    pd.testing.assert_frame_equal(again, loaded, check_exact=True)
    assert [name[:5] for name in rollup_names(lake)] == ["2023.", "2024."]

"""Column contracts: every stored column is described, the lake contracts list exactly the
columns the pure code produces (on a small generated sample), the doc is generated from them,
and the descriptions reach the Dagster column schema."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pandas as pd
import pyarrow as pa
import pytest

from safebeat_assets import contracts
from safebeat_assets.contracts import (
    CONTRACTS,
    DOC_COMMAND,
    DOC_PATH,
    column_descriptions,
    render_docs,
)
from safebeat_assets.sources import file_sha256, list_source_files
from safebeat_assets.sources.apd_calls import RAW_CALL_COLUMNS
from safebeat_assets.sources.columns import (
    ACE_KNOWN_COLUMNS,
    BLOCK_GROUP_COLUMNS,
    PROVENANCE_COLUMNS,
    SOURCE_FILE,
    SOURCE_SHA256,
)
from safebeat_assets.storage.metadata import column_schema, frame_metadata
from safebeat_assets.storage.object_store import LakeStorage
from safebeat_assets.storage.raw_fragments import MANIFEST_COLUMNS, RawCallFragments, manifest_of
from safebeat_assets.storage.tables import TABLES
from safebeat_assets.transform.calls import CLEANED_CALL_COLUMNS
from safebeat_assets.transform.events import CLEANED_EVENT_COLUMNS
from safebeat_assets.transform.geo import ENRICHMENT_COLUMNS
from safebeat_assets_tests.helpers import ASSET_GROUPS

ALL_ASSETS = set(ASSET_GROUPS)


# --- declarations --------------------------------------------------------------------------


def test_every_asset_is_declared_once():
    assert set(CONTRACTS) | set(TABLES) == ALL_ASSETS
    assert not set(CONTRACTS) & set(TABLES)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_warehouse_column_is_described(name):
    spec = TABLES[name]
    undescribed = [c.name for c in (*spec.columns, *spec.geometry) if not c.description.strip()]
    assert undescribed == []
    expected = [c.name for c in spec.columns] + [g.name for g in spec.geometry]
    assert list(column_descriptions(name)) == expected


@pytest.mark.parametrize("name", sorted(CONTRACTS))
def test_every_lake_column_is_described(name):
    descriptions = column_descriptions(name)
    assert descriptions and all(text.strip() for text in descriptions.values())
    assert all("\n" not in text for text in descriptions.values())  # one line each


def test_unknown_asset_has_no_descriptions():
    assert column_descriptions("no_such_asset") == {}
    assert column_descriptions("") == {}


@pytest.mark.parametrize(
    ("warehouse", "lake", "renamed"),
    [
        ("dim_event", "cleaned_events", {}),
        (
            "fact_911_calls",
            "enriched_911_calls",
            {"geo_id": "dim_geo_id", "reported_geo_id": "geo_id"},
        ),
        ("zone_risk_scores", "zone_clusters", {}),
    ],
)
def test_shared_columns_share_one_text(warehouse, lake, renamed):
    """A warehouse column projected from a lake column carries the lake column's text."""
    table, frame = column_descriptions(warehouse), column_descriptions(lake)
    for column in TABLES[warehouse].column_names:
        assert table[column] == frame[renamed.get(column, column)], column


def test_lake_contracts_follow_the_column_constants():
    from safebeat_assets.analytics.event_day_aggregates import BASELINE_COUNT_COLUMNS
    from safebeat_assets.analytics.event_impact import (
        CALL_CELL_COLUMNS,
        CALL_MIX_COLUMNS,
        IMPACT_MODEL_COLUMNS,
    )
    from safebeat_assets.analytics.forecast import DAY_COUNT_COLUMNS, FORECAST_COLUMNS
    from safebeat_assets.analytics.hot_spots import HOT_SPOT_COUNT_COLUMNS
    from safebeat_assets.analytics.rules import RULE_COLUMNS, TRANSACTION_COLUMNS
    from safebeat_assets.analytics.zones import BLOCK_GROUP_SUM_COLUMNS, ZONE_COLUMNS

    expected = {
        "raw_911_calls": list(MANIFEST_COLUMNS),
        "raw_events": [*ACE_KNOWN_COLUMNS, *PROVENANCE_COLUMNS],
        "raw_block_groups": [*BLOCK_GROUP_COLUMNS, SOURCE_FILE, SOURCE_SHA256],
        "quarantined_911_calls": [*RAW_CALL_COLUMNS, "reject_reason"],
        "cleaned_911_calls": list(CLEANED_CALL_COLUMNS),
        "enriched_911_calls": [*CLEANED_CALL_COLUMNS, *ENRICHMENT_COLUMNS],
        "cleaned_events": list(CLEANED_EVENT_COLUMNS),
        "rule_transactions": list(TRANSACTION_COLUMNS),
        "calls_by_day": list(DAY_COUNT_COLUMNS),
        "block_group_call_sums": list(BLOCK_GROUP_SUM_COLUMNS),
        "hot_spot_call_counts": list(HOT_SPOT_COUNT_COLUMNS),
        "calls_by_block_group_hour": list(CALL_CELL_COLUMNS),
        "baseline_call_counts": BASELINE_COUNT_COLUMNS,
        "event_day_call_cells": list(CALL_CELL_COLUMNS),
        "calls_by_priority_category": list(CALL_MIX_COLUMNS),
        "association_rules": list(RULE_COLUMNS),
        "zone_clusters": list(ZONE_COLUMNS),
        "call_forecast": list(FORECAST_COLUMNS),
        "event_impact_model": list(IMPACT_MODEL_COLUMNS),
    }
    for name, columns in expected.items():
        assert list(CONTRACTS[name]) == columns, name


def test_contracts_import_neither_dagster_nor_dataframe_libraries():
    code = (
        "import sys, safebeat_assets.contracts as c; c.column_descriptions('raw_events'); "
        "print(sorted(m for m in ('dagster', 'pandas', 'pyarrow', 'geopandas') "
        "if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# --- the pure chain on a generated sample ----------------------------------------------------


@dataclass
class SampleRun:
    frames: dict[str, pd.DataFrame]
    report: dict


def _dtype_label(series: pd.Series) -> str:
    """The contract's spelling of a pandas dtype: object/string columns are "str"."""
    kind = str(series.dtype)
    return "str" if kind in ("object", "string") else kind


@pytest.fixture(scope="module")
def sample_run(sample_landing, tmp_path_factory) -> SampleRun:
    """raw -> cleaned -> enriched -> links -> models -> report, as the assets call them."""
    from safebeat_assets import transform
    from safebeat_assets.analytics import event_impact
    from safebeat_assets.analytics.event_day_aggregates import (
        baseline_rates_from_counts,
        event_day_cells,
        ordinary_day_counts,
        with_linked_days,
    )
    from safebeat_assets.analytics.forecast import calls_per_day, forecast_from_day_counts
    from safebeat_assets.analytics.hot_spots import hot_spot_counts, hot_spots_from_counts
    from safebeat_assets.analytics.risk import score_event_risk, zone_risk_table
    from safebeat_assets.analytics.rules import mine_rules_from_transactions, rule_transactions
    from safebeat_assets.analytics.zones import block_group_sums, cluster_zones_from_sums
    from safebeat_assets.reporting.report import ReportInputs, build_report
    from safebeat_assets.sources import read_ace_events, read_apd_calls, read_block_groups
    from safebeat_assets.transform.months import month_key_of

    def only(folder: str, suffix: str):
        [path] = list_source_files(sample_landing / folder, (suffix,))
        return path

    raw_calls = read_apd_calls(only("calls", ".csv"))
    # One unparseable row, so the quarantine holds data and its dtypes are those of real rows.
    bad = raw_calls.head(1).assign(incident_number="not a number", source_row=len(raw_calls) + 1)
    raw_calls = pd.concat([raw_calls, bad], ignore_index=True)
    raw_events = read_ace_events(only("events", ".csv"))
    raw_block_groups = read_block_groups(only("block_groups", ".geojson"))

    cleaned = transform.clean_calls(raw_calls)
    dim_geo = transform.build_geo_table(raw_block_groups)
    enriched = transform.enrich_calls(cleaned.calls, dim_geo).calls
    events = transform.clean_events(raw_events).events
    dim_event = transform.to_dim_event(events)
    links = transform.link_calls_to_events(enriched, events)
    # As the aggregate assets do: the matched block group (the FK) is the location.
    located = enriched.drop(columns="geo_id").rename(columns={"dim_geo_id": "geo_id"})
    aggregates = {
        "rule_transactions": rule_transactions(enriched, links),
        "calls_by_day": calls_per_day(enriched),
        "block_group_call_sums": block_group_sums(located),
        "hot_spot_call_counts": hot_spot_counts(located),
        "calls_by_block_group_hour": event_impact.call_cells(located),
    }
    rules = mine_rules_from_transactions(aggregates["rule_transactions"]).rules
    zones = cluster_zones_from_sums(aggregates["block_group_call_sums"])
    forecast = forecast_from_day_counts(aggregates["calls_by_day"])
    event_risk = score_event_risk(links, dim_event)
    report = build_report(
        ReportInputs(
            report_date=date(2025, 7, 1),
            run_id="contracts-test",
            generated_at=datetime(2025, 7, 1, 2, 0, tzinfo=UTC),
            calls_processed=len(raw_calls),
            calls_quarantined=len(cleaned.quarantined),
            calls_in_warehouse=len(enriched),
            calls_on_latest_date=1,
            latest_data_date=date(2025, 6, 30),
            events_tracked=len(events),
            events_linked=int(links["event_id"].nunique()),
            geo_match_rate=float(enriched["geo_matched"].mean()),
            rules=rules,
            zones=zones.zones,
            zone_stats=zones.stats,
            forecast=forecast.forecast,
            forecast_stats=forecast.stats,
            event_risk=event_risk,
            alerts=[],
            check_results=[],
            outputs=["daily/2025-07-01_report.html"],
        )
    )
    cells = aggregates["calls_by_block_group_hour"]
    first, last = event_impact.history_range(cells, "date")
    event_days = event_impact.event_geo_days(dim_event, dim_geo, first=first, last=last)
    # As the event-day aggregates do: one month at a time; the rates and the model read them.
    event_days, _ = with_linked_days(event_days, links)
    months = month_key_of(cells["date"])
    for name, aggregate in (
        ("baseline_call_counts", ordinary_day_counts),
        ("event_day_call_cells", event_day_cells),
        ("calls_by_priority_category", lambda month, _: event_impact.call_mix(month)),
    ):
        aggregates[name] = pd.concat(
            [aggregate(cells[months == m], event_days) for m in sorted(months.unique())],
            ignore_index=True,
        )
    baseline_rates = baseline_rates_from_counts(
        aggregates["baseline_call_counts"], event_days, first, last
    )
    # As the raw asset does: the stored value is the export's manifest over its fragments.
    lake = LakeStorage(root=str(tmp_path_factory.mktemp("lake")))
    fragments = RawCallFragments.in_lake(lake, "raw-data", "raw_911_calls")
    export = only("calls", ".csv")
    manifest = manifest_of([(export.name, fragments.ingest(export, file_sha256(export)))])
    frames = {
        "raw_911_calls": manifest,
        "raw_events": raw_events,
        "raw_block_groups": raw_block_groups,
        "cleaned_911_calls": cleaned.calls,
        "quarantined_911_calls": cleaned.quarantined,
        "cleaned_events": events,
        "enriched_911_calls": enriched,
        **aggregates,
        "association_rules": rules,
        "zone_clusters": zones.zones,
        "call_forecast": forecast.forecast,
        "dim_geo": dim_geo,
        "dim_event": dim_event,
        "fact_911_calls": transform.to_fact_calls(enriched),
        "fact_event_incidents": links,
        "event_risk_scores": event_risk,
        "zone_risk_scores": zone_risk_table(zones.zones),
        "call_baseline_rates": baseline_rates,
        "event_impact_model": event_impact.fit_event_impact_from_aggregates(
            aggregates["event_day_call_cells"],
            aggregates["calls_by_priority_category"],
            (first, last),
            links,
            dim_event,
            dim_geo,
            baseline_rates,
        ).frame,
        "call_hot_spots": hot_spots_from_counts(aggregates["hot_spot_call_counts"], dim_geo).table,
    }
    return SampleRun(frames=frames, report=report)


def test_sample_run_exercises_every_output(sample_run):
    # Empty model outputs would come from the empty-frame branches, not the real ones.
    assert not sample_run.frames["quarantined_911_calls"].empty
    for name in ("association_rules", "zone_clusters", "fact_event_incidents", "call_hot_spots"):
        assert not sample_run.frames[name].empty, name
    for name in ("call_baseline_rates", "event_impact_model"):
        assert not sample_run.frames[name].empty, name
    assert not sample_run.frames["call_forecast"]["is_fallback"].any()


def test_event_impact_from_the_sample_cells_equals_it_from_every_call(sample_run):
    """The call cells and the assets' path (the event-day aggregates) against every enriched
    call, on the generated sample."""
    import pandas.testing as pdt

    from safebeat_assets.analytics import event_impact

    frames = sample_run.frames
    located = (
        frames["enriched_911_calls"].drop(columns="geo_id").rename(columns={"dim_geo_id": "geo_id"})
    )
    links, dim_event, dim_geo = (
        frames[n] for n in ("fact_event_incidents", "dim_event", "dim_geo")
    )
    first, last = event_impact.history_range(located)
    event_days = event_impact.event_geo_days(dim_event, dim_geo, first=first, last=last)
    rates = event_impact.baseline_rates(located, event_days, first, last)
    pdt.assert_frame_equal(frames["call_baseline_rates"], rates, check_exact=True)
    expected = event_impact.fit_event_impact(located, links, dim_event, dim_geo, rates)
    actual = event_impact.fit_event_impact_from_cells(
        frames["calls_by_block_group_hour"], links, dim_event, dim_geo, rates
    )
    pdt.assert_frame_equal(actual.frame, expected.frame, check_exact=False, rtol=0, atol=1e-12)
    assert actual.summary == expected.summary
    pdt.assert_frame_equal(
        frames["event_impact_model"], expected.frame, check_exact=False, rtol=0, atol=1e-12
    )


@pytest.mark.parametrize("name", sorted(set(CONTRACTS) - {"daily_report"}))
def test_lake_contract_lists_exactly_the_produced_columns(sample_run, name):
    frame = sample_run.frames[name]
    assert list(CONTRACTS[name]) == list(frame.columns)
    declared = {column: doc.dtype for column, doc in CONTRACTS[name].items()}
    produced = {column: _dtype_label(frame[column]) for column in frame.columns}
    assert declared == produced


@pytest.mark.parametrize("name", sorted(TABLES))
def test_warehouse_descriptions_cover_the_produced_columns(sample_run, name):
    frame = sample_run.frames[name]
    assert list(frame.columns) == TABLES[name].column_names
    assert set(frame.columns) <= set(column_descriptions(name))


def test_daily_report_keys_are_the_contract(sample_run):
    json_types = {dict: "object", list: "array"}
    produced = {key: json_types[type(value)] for key, value in sample_run.report.items()}
    assert produced == {key: doc.dtype for key, doc in CONTRACTS["daily_report"].items()}
    assert list(sample_run.report) == list(CONTRACTS["daily_report"])


# --- docs/data-contracts.md ----------------------------------------------------------------


def test_doc_column_tables_are_up_to_date():
    text = DOC_PATH.read_text(encoding="utf-8")
    assert render_docs(text) == text, f"docs/data-contracts.md is out of date; run {DOC_COMMAND}"


def test_doc_shows_every_description():
    text = DOC_PATH.read_text(encoding="utf-8")
    for name in sorted(ALL_ASSETS):
        assert f"<!-- BEGIN columns {name} -->" in text
        for column, description in column_descriptions(name).items():
            assert f"| `{column}` |" in text
            assert description.replace("|", "\\|") in text, (name, column)


def test_render_docs_rejects_a_doc_missing_or_repeating_an_asset():
    text = DOC_PATH.read_text(encoding="utf-8")
    without = text.replace("<!-- BEGIN columns dim_geo -->", "").replace(
        "<!-- END columns dim_geo -->", ""
    )
    with pytest.raises(ValueError, match="no column block for \\['dim_geo'\\]"):
        render_docs(without)
    stray = "<!-- BEGIN columns nope -->\n<!-- END columns nope -->\n"
    with pytest.raises(ValueError, match="unknown assets \\['nope'\\]"):
        render_docs(text + stray)


def test_render_docs_rewrites_a_stale_table_and_keeps_the_prose():
    text = DOC_PATH.read_text(encoding="utf-8")
    stale = text.replace(column_descriptions("call_forecast")["kind"], "stale text")
    assert stale != text
    assert render_docs(stale) == text


def test_check_command_reports_a_stale_doc(tmp_path):
    doc = tmp_path / "data-contracts.md"
    text = DOC_PATH.read_text(encoding="utf-8")
    doc.write_text(text.replace("| `kind` |", "| `kind_old` |"), encoding="utf-8")
    assert contracts.main(["--check", "--doc", str(doc)]) == 1
    assert contracts.main(["--write-docs", "--doc", str(doc)]) == 0
    assert doc.read_text(encoding="utf-8") == text
    assert contracts.main(["--check", "--doc", str(doc)]) == 0


# --- metadata ------------------------------------------------------------------------------


def test_frame_metadata_carries_descriptions_into_the_column_schema():
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"], "partition_key": ["k", "k"]})
    meta = frame_metadata(frame, ("partition_key",), descriptions={"a": "The a", "c": "unused"})
    columns = meta["dagster/column_schema"].columns
    assert [(c.name, c.type, c.description) for c in columns] == [
        ("a", "int64", "The a"),
        ("b", "object", None),
    ]
    table = pa.Table.from_pandas(frame, preserve_index=False)
    arrow = column_schema(table, descriptions=column_descriptions("no_such_asset") | {"b": "B"})
    assert [(c.name, c.description) for c in arrow.columns] == [
        ("a", None),
        ("b", "B"),
        ("partition_key", None),
    ]


def test_frame_metadata_without_descriptions_is_unchanged():
    frame = pd.DataFrame({"a": [1], "b": ["x"]})
    assert frame_metadata(frame) == frame_metadata(frame, descriptions={})
    assert all(c.description is None for c in column_schema(frame).columns)


def test_frame_metadata_with_an_assets_contract():
    frame = pd.DataFrame({"date": pd.to_datetime(["2025-01-01"]), "kind": ["forecast"]})
    schema = column_schema(frame, descriptions=column_descriptions("call_forecast"))
    texts = column_descriptions("call_forecast")
    assert {c.name: c.description for c in schema.columns} == {
        "date": texts["date"],
        "kind": texts["kind"],
    }

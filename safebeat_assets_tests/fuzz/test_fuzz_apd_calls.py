"""Fuzzing the APD calls reader and cleaner: every malformed export ends as cleaned rows plus
counted quarantined rows (all rows accounted for), or as a DataError naming the file; the
cleaned rows would load into fact_911_calls."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given

from safebeat_assets.errors import DataError
from safebeat_assets.sample import generate_sample
from safebeat_assets.sources import read_apd_calls, read_block_groups
from safebeat_assets.storage.tables import FACT_911_CALLS
from safebeat_assets.transform import build_geo_table, enrich_calls, to_fact_calls
from safebeat_assets.transform.calls import REJECT_REASONS, CallRules, clean_calls
from safebeat_assets.transform.validation import CALL_INTEGER_RANGES
from safebeat_assets_tests.fuzz.harness import (
    BaseTable,
    Tally,
    check_table_case_error,
    check_warehouse_fit,
    must_fail,
    read_base_table,
    table_cases,
    within,
)

RULES = CallRules(
    start=pd.Timestamp("2023-01-01"),
    end=pd.Timestamp("2026-01-01"),
    county_fips=("453", "209", "491"),
)


@pytest.fixture(scope="module")
def bases(tmp_path_factory) -> tuple[tuple[BaseTable, ...], pd.DataFrame]:
    """Both APD layouts of one small generated export, and its dim_geo."""
    tables = []
    for layout in (25, 27):
        folder = tmp_path_factory.mktemp(f"apd-{layout}")
        paths = generate_sample(
            folder, n_calls=120, seed=17, start="2024-01-01", end="2024-03-31", layout=layout
        )
        tables.append(read_base_table(paths.calls))
    return tuple(tables), build_geo_table(read_block_groups(paths.block_groups))


def check(path, case, geo, tally: Tally) -> str:
    try:
        raw = read_apd_calls(path)
        result = clean_calls(raw, RULES)
    except DataError as exc:
        check_table_case_error(exc, case, path)
        return tally.error(exc)
    assert not must_fail(case), f"read a CSV with broken rows {case.broken_rows()}"
    stats = result.stats
    if case.countable:
        assert len(raw) == case.expected_rows(), (len(raw), case.expected_rows())
    assert stats["rows_in"] == len(raw)
    assert stats["rows_in"] == (
        stats["rows_out"] + stats["rows_quarantined"]
        + stats["exact_duplicates_dropped"] + stats["key_duplicates_dropped"]
    )  # fmt: skip
    assert len(result.quarantined) == stats["rows_quarantined"]
    assert set(result.quarantined["reject_reason"]) <= set(REJECT_REASONS)
    calls = result.calls
    wall = calls["response_datetime"].dt.tz_localize(None)
    assert ((wall >= RULES.start) & (wall < RULES.end + pd.Timedelta(hours=1))).all()
    for column, (low, high) in CALL_INTEGER_RANGES.items():
        assert within(calls[column], low, high), column
    check_warehouse_fit(FACT_911_CALLS, to_fact_calls(enrich_calls(calls, geo).calls))
    tally.rows["rows_in"] += stats["rows_in"]
    tally.rows["rows_quarantined"] += stats["rows_quarantined"]
    tally.rows["values_nulled"] += sum(
        v for k, v in stats.items() if k.endswith(("_invalid", "_out_of_range", "_unparsed"))
    )
    return "quarantined" if stats["rows_quarantined"] else "clean"


def test_apd_calls_reader_and_cleaner_survive_malformed_exports(
    bases, tmp_path_factory, fuzz_summary
):
    tables, geo = bases
    work = tmp_path_factory.mktemp("fuzz-apd")
    tally = Tally("apd_calls")
    number = iter(range(10**9))

    @given(case=table_cases(tables))
    def run(case):
        path = case.write(work / f"calls_{next(number)}{case.suffix}")
        try:
            tally.run(lambda: check(path, case, geo, tally))
        finally:
            path.unlink(missing_ok=True)

    try:
        run()
    finally:
        fuzz_summary["apd_calls"] = tally.summary()
    assert tally.outcomes["unexpected"] == 0

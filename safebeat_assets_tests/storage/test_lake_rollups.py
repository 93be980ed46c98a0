"""Which months a long read takes from yearly roll-ups (pure planning, no storage)."""

from safebeat_assets.storage.lake_rollups import (
    MIN_MONTHS_FOR_ROLLUPS,
    YearRollup,
    plan_read,
    rollup_digest,
    stale_rollups,
)


def months(first_year: int, last_year: int, last_month: int = 12) -> list[str]:
    return [
        f"{year}-{month:02d}-01"
        for year in range(first_year, last_year + 1)
        for month in range(1, 13)
        if year < last_year or month <= last_month
    ]


def versions_of(keys: list[str], tag: str = "v1") -> dict[str, str]:
    return {f"{key}.parquet": f"{tag}-{key}" for key in keys}


def test_past_years_whose_months_are_all_read_are_rolled_up():
    keys = months(2023, 2025, last_month=6)
    parts = plan_read(keys, versions_of(keys))
    rollups = [part for part in parts if isinstance(part, YearRollup)]
    assert [r.year for r in rollups] == ["2023", "2024"]
    assert rollups[0].months == tuple(months(2023, 2023))
    # The newest month's year, read month by month, follows in order.
    assert parts[2:] == months(2025, 2025, last_month=6)


def test_short_reads_and_partial_years_take_the_months():
    keys = months(2024, 2025, last_month=MIN_MONTHS_FOR_ROLLUPS - 13)
    assert len(keys) == MIN_MONTHS_FOR_ROLLUPS - 1
    assert plan_read(keys, versions_of(keys)) == keys
    # 2023 has a month stored that the read does not take: its months are read one by one.
    keys = months(2023, 2025)
    stored = versions_of(keys)
    parts = plan_read(keys[1:], stored)
    assert parts[:11] == keys[1:12]
    assert [p.year for p in parts if isinstance(p, YearRollup)] == ["2024"]


def test_a_rewritten_month_changes_its_years_rollup_only():
    keys = months(2022, 2025)
    before = {p.year: p for p in plan_read(keys, versions_of(keys)) if isinstance(p, YearRollup)}
    rewritten = {**versions_of(keys), "2023-07-01.parquet": "v2"}
    after = {p.year: p for p in plan_read(keys, rewritten) if isinstance(p, YearRollup)}
    assert after["2022"] == before["2022"] and after["2024"] == before["2024"]
    assert after["2023"].digest != before["2023"].digest
    assert after["2023"].digest == rollup_digest(months(2023, 2023), rewritten)
    stored = {r.name for r in before.values()} | {"2023.parquet", "notes.txt"}
    assert stale_rollups(stored, list(after.values())) == [before["2023"].name]

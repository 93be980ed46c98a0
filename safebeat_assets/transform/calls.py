"""Cleaning of raw APD 911 calls into the cleaned_911_calls frame (see docs/data-contracts.md).

Steps, in order:
1. parse the key (incident_number, response_datetime); rows where either does not parse, the
   incident number is not a positive int64, or the datetime falls outside the rules' window
   (before the first monthly partition, or in the future) are quarantined with a reason, never
   dropped silently;
2. drop exact duplicate rows, then keep the last row (source order) per key — Incident Number
   alone is not unique (the export reuses numbers across datetimes), so repeats with another
   datetime are kept and flagged `is_duplicate_incident_number`;
3. type every other column with the vectorised parsers and derive the local date parts. A
   value that parses but cannot be right (outside its plausible range or its warehouse
   column's type, a negative duration, a secondary datetime far from the response) becomes
   NULL; both kinds of reject are counted per column. Datetimes are cut to microseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import pyarrow as pa

from safebeat_assets.domain import DEFAULT_COUNTY_FIPS, LOCAL_TZ, full_county_fips
from safebeat_assets.sources.columns import (
    APD_CORE_COLUMNS,
    APD_RAW_COLUMNS,
    PROVENANCE_COLUMNS,
    SOURCE_FILE,
    SourceSchemaError,
)
from safebeat_assets.transform.months import MonthGroups, is_one_run, rows_at
from safebeat_assets.transform.parsing import (
    APD_DATETIME_FORMATS,
    APD_FALLBACK_FORMAT,
    FALSE_WORDS,
    TRUE_WORDS,
    DistinctValues,
    categorical_text,
    clean_text,
    distinct_values,
    in_vocabulary,
    localize_local_time,
    normalise_geo_ids,
    parse_bool,
    parse_datetimes,
    parse_int,
    parse_priority,
    strip_float_suffix,
)
from safebeat_assets.transform.validation import (
    CALL_INTEGER_RANGES,
    EARLIEST_PLAUSIBLE_CALL,
    FUTURE_TOLERANCE,
    INCIDENT_NUMBER_RANGE,
    SECONDARY_AFTER_RESPONSE,
    SECONDARY_BEFORE_RESPONSE,
    column_counts,
    null_out,
    out_of_range,
    truncate_to_microseconds,
)

UNKNOWN = "Unknown"

# The 39 known Problem Category values of the published data; a 40th exists but is unidentified,
# so unknown values are kept and flagged, not rejected.
KNOWN_PROBLEM_CATEGORIES: frozenset[str] = frozenset(
    {
        "Administrative", "Aggravated Assault", "Alarms", "Animal Related", "Arson",
        "Assistance", "Auto Theft", "Bomb/Explosives", "Burglary", "Child Abuse/Neglect",
        "Crashes", "DUI/DWI", "Deceased/Injured", "Disorderly Conduct", "Disturbance", "Drugs",
        "Evading/Resisting Arrest", "Fraud/Forgery", "Gambling", "Homicide", "Intimidation",
        "Lost/Found Property", "Missing Persons/Kidnapping", "Other", "Person Stop/FO",
        "Property Damage/Vandalism", "Prostitution", "Robbery", "Sex Crimes", "Shoot/Stab",
        "Simple Assault", "Suspicious Things", "Theft", "Traffic Stop/Hazard", "Trespassing",
        "Viol PO/Bond", "Warrants/RTA", "Weapons/Firearms Violations", "Welfare Check",
    }
)  # fmt: skip

CATEGORICAL_COLUMNS: tuple[str, ...] = (
    "incident_type",
    "sector",
    "initial_problem_description",
    "initial_problem_category",
    "final_problem_description",
    "final_problem_category",
    "call_disposition_description",
)
INTEGER_COLUMNS: tuple[str, ...] = (
    "number_of_units_arrived",
    "unit_time_on_scene",
    "response_time",
    "officer_injured_killed_count",
    "subject_injured_killed_count",
    "other_injured_killed_count",
    "council_district",
)
SECONDARY_DATETIME_COLUMNS: tuple[str, ...] = (
    "first_unit_arrived_datetime",
    "call_closed_datetime",
)

CLEANED_CALL_COLUMNS: tuple[str, ...] = (
    "incident_number",
    "response_datetime",
    "response_date",
    "response_year",
    "response_month",
    "response_hour",
    "response_month_key",
    "response_day_of_week",
    "day_of_week_index",
    "is_weekend",
    "time_of_day",
    "first_unit_arrived_datetime",
    "call_closed_datetime",
    *CATEGORICAL_COLUMNS,
    "is_known_final_category",
    "priority_level",
    "priority_numeric",
    "is_mental_health",
    "report_written",
    *INTEGER_COLUMNS,
    "geo_id",
    "geo_id_status",
    "census_block_group",
    "latitude",
    "longitude",
    "is_duplicate_incident_number",
    SOURCE_FILE,
)

# Raw columns a coordinate-located feed's adapter adds (Austin's export has none).
LATITUDE, LONGITUDE = "latitude", "longitude"

REJECT_UNPARSEABLE_INCIDENT_NUMBER = "unparseable_incident_number"
REJECT_INCIDENT_NUMBER_OUT_OF_RANGE = "incident_number_out_of_range"
REJECT_UNPARSEABLE_RESPONSE_DATETIME = "unparseable_response_datetime"
REJECT_RESPONSE_DATETIME_BEFORE_START = "response_datetime_before_start"
REJECT_RESPONSE_DATETIME_IN_FUTURE = "response_datetime_in_future"
# In precedence order: a row failing several checks gets the first reason.
REJECT_REASONS: tuple[str, ...] = (
    REJECT_UNPARSEABLE_INCIDENT_NUMBER,
    REJECT_INCIDENT_NUMBER_OUT_OF_RANGE,
    REJECT_UNPARSEABLE_RESPONSE_DATETIME,
    REJECT_RESPONSE_DATETIME_BEFORE_START,
    REJECT_RESPONSE_DATETIME_IN_FUTURE,
)
# Raw columns whose values can be rejected (unparseable or implausible -> NULL), for the
# per-column counts an asset publishes.
VALUE_CHECKED_COLUMNS: tuple[str, ...] = (
    *INTEGER_COLUMNS,
    *SECONDARY_DATETIME_COLUMNS,
    "mental_health_flag",
    "report_written",
)
VALUE_REJECT_SUFFIXES: tuple[str, ...] = ("_invalid", "_out_of_range", "_unparsed")

DAY_NAMES = np.array(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], dtype=object)
# Short labels for the per-format parse counts published in stats.
_FORMAT_LABELS = {
    "%Y %b %d %I:%M:%S %p": "apd_text",
    "%Y-%m-%d %H:%M:%S": "xlsx",
    "%Y-%m-%dT%H:%M:%S.%f": "iso_fraction",
    "%Y-%m-%dT%H:%M:%S": "iso",
    "%Y-%m-%d %H:%M": "minutes_only",
    "%Y-%m-%d": "xlsx_midnight",
}
_MENTAL_HEALTH_TRUE = TRUE_WORDS | {"mental health incident"}
_MENTAL_HEALTH_FALSE = FALSE_WORDS | {"not mental health incident"}


@dataclass
class CleanedCalls:
    calls: pd.DataFrame
    quarantined: pd.DataFrame
    stats: dict[str, int] = field(default_factory=dict)
    # Group (monthly partition) of each quarantined row, when cleaned by group.
    quarantined_groups: np.ndarray | None = None


@dataclass(frozen=True)
class CallRules:
    """What a call must satisfy beyond parsing.

    `start` <= response datetime < `end` (naive local wall-clock times); `end` None means now
    (local) plus a day of clock tolerance, taken when cleaning starts. `county_fips`: the
    configured counties (5-digit; 3-digit codes are Texas's); a valid Geo ID elsewhere is kept
    (it stays unmatched) and counted. `time_zone`: the city's IANA zone, in which the export's
    wall-clock times are read.
    """

    start: pd.Timestamp = EARLIEST_PLAUSIBLE_CALL
    end: pd.Timestamp | None = None
    county_fips: tuple[str, ...] = DEFAULT_COUNTY_FIPS
    time_zone: str = LOCAL_TZ

    def __post_init__(self) -> None:
        object.__setattr__(self, "county_fips", full_county_fips(self.county_fips))

    @property
    def states(self) -> tuple[str, ...]:
        """The configured counties' states: a valid Geo ID is one of theirs."""
        return tuple(dict.fromkeys(code[:2] for code in self.county_fips))

    def resolved_end(self) -> pd.Timestamp:
        if self.end is not None:
            return self.end
        return pd.Timestamp.now(tz=self.time_zone).tz_localize(None) + FUTURE_TOLERANCE


def call_rules_for_partitions(
    first_month: str,
    last_month: str,
    county_fips: tuple[str, ...] = DEFAULT_COUNTY_FIPS,
    now: pd.Timestamp | None = None,
    time_zone: str = LOCAL_TZ,
) -> CallRules:
    """The rules of a monthly calendar: calls from the first partition's month (and not before
    EARLIEST_PLAUSIBLE_CALL) up to the end of the last one, and not after `now` (local to
    `time_zone`, default: the current time) plus a day."""
    now = pd.Timestamp.now(tz=time_zone) if now is None else pd.Timestamp(now)
    if now.tzinfo is not None:
        now = now.tz_convert(time_zone).tz_localize(None)
    after_last = pd.Timestamp(last_month) + pd.offsets.MonthBegin(1)
    return CallRules(
        start=max(EARLIEST_PLAUSIBLE_CALL, pd.Timestamp(first_month)),
        end=min(after_last, now + FUTURE_TOLERANCE),
        county_fips=tuple(county_fips),
        time_zone=time_zone,
    )


def clean_calls(raw: pd.DataFrame | pa.Table, rules: CallRules | None = None) -> CleanedCalls:
    """raw_911_calls -> cleaned_911_calls + quarantined_911_calls + counts (contract).

    `raw` may be the Arrow table a month is read as: its columns are then factorized and
    parsed from Arrow buffers, and only the quarantined (and key-sharing) rows become Python
    objects.

    Output rows are ordered by (response_datetime, incident_number), independent of file order.
    Row accounting: rows_in = rows_out + rows_quarantined + exact_duplicates_dropped
    + key_duplicates_dropped.
    """
    columns = _RawColumns(raw)
    missing = set(APD_CORE_COLUMNS) - set(columns.names)
    if missing:
        raise SourceSchemaError("raw_911_calls frame", missing=missing)
    rules = rules or CallRules()
    stats: dict[str, int] = {"rows_in": len(columns)}

    # 1. Key + quarantine -------------------------------------------------------------------
    incident = parse_int(columns.distinct("incident_number"))
    response = parse_datetimes(columns.as_read("response_datetime"), APD_DATETIME_FORMATS)
    naive, stats["response_datetime_truncated_to_microseconds"] = truncate_to_microseconds(
        response.values
    )
    number_bad = out_of_range(incident.values, *INCIDENT_NUMBER_RANGE) | incident.overflow
    reason = np.select(
        [
            incident.values.isna().to_numpy() & ~number_bad,
            number_bad,
            naive.isna().to_numpy(),
            (naive < rules.start).to_numpy(dtype=bool),
            (naive >= rules.resolved_end()).to_numpy(dtype=bool),
        ],
        list(REJECT_REASONS),
        "",
    ).astype(object)
    rejected = reason != ""
    quarantined = (
        columns.rows_frame(np.flatnonzero(rejected))
        .assign(reject_reason=reason[rejected])
        .reset_index(drop=True)
    )
    stats["rows_quarantined"] = int(rejected.sum())
    for name in REJECT_REASONS:
        stats[f"quarantined_{name}"] = int((reason == name).sum())
    for fmt in APD_DATETIME_FORMATS:
        stats[f"response_datetime_format_{_FORMAT_LABELS[fmt]}"] = response.count_format(fmt)

    kept = np.flatnonzero(~rejected)
    numbers = incident.values.to_numpy(dtype="int64", na_value=0)[kept]
    localized = localize_local_time(
        pd.Series(naive.to_numpy()[kept]), tz=rules.time_zone, count=True
    )
    stats["dst_ambiguous_first_occurrence"] = localized.ambiguous
    stats["dst_nonexistent_shifted_forward"] = localized.nonexistent
    moments = localized.values

    # 2. Duplicates; survivors come back in chronological order ---------------------------------
    survivors, exact_dropped, key_dropped = _deduplicate(columns, kept, numbers, moments)
    stats["exact_duplicates_dropped"] = exact_dropped
    stats["key_duplicates_dropped"] = key_dropped

    # 3. Typed columns, parsed on the surviving rows only ---------------------------------------
    calls = _typed_columns(
        _RawColumns(raw, kept[survivors]),
        numbers[survivors],
        moments.iloc[survivors].reset_index(drop=True),
        stats,
        rules,
    )
    stats["rows_out"] = len(calls)
    return CleanedCalls(calls, quarantined, stats)


def clean_calls_by_group(
    raw: pa.Table, groups: np.ndarray, rules: CallRules | None = None
) -> CleanedCalls:
    """`clean_calls` run separately on the rows of each group (the monthly partitions), each
    group's rows turned into Python objects only when it is cleaned: a three-year export never
    sits in memory as 835K x 27 Python strings at once, and a month's output does not depend on
    which other months share its run. Calls sharing a key share a response datetime, hence a
    month, so de-duplication is unaffected. Rows whose group is None are left out. Groups come
    out in sorted order; stats are summed; `quarantined_groups` names each quarantined row's
    group (a row quarantined for its date belongs to no month of its own).
    """
    rules = rules or CallRules()
    if rules.end is None:  # one "now" for every group
        rules = replace(rules, end=rules.resolved_end())
    groups = np.asarray(groups, dtype=object)
    selected = np.flatnonzero(pd.notna(groups))
    months = MonthGroups.of(groups[selected])
    keys = [key for key, _ in months]
    rows_of = [selected[rows] for _, rows in months]
    # Exports come in time order, so a month is usually one contiguous run of rows: a
    # zero-copy slice. Otherwise gather from a single-chunk copy (gathering across the CSV
    # reader's many chunks is several times slower than one contiguous gather).
    source = raw if all(is_one_run(rows) for rows in rows_of) else raw.combine_chunks()
    calls, quarantined, quarantined_groups, stats = [], [], [], {}
    for key, rows in zip(keys, rows_of, strict=True):
        month = rows_at(source, rows)
        part = clean_calls(month, rules)
        calls.append(part.calls)
        quarantined.append(part.quarantined)
        quarantined_groups.append(np.full(len(part.quarantined), key, dtype=object))
        for name, count in part.stats.items():
            stats[name] = stats.get(name, 0) + count
    if not calls:
        empty = clean_calls(raw.slice(0, 0).to_pandas(), rules)
        empty.quarantined_groups = np.array([], dtype=object)
        return empty
    return CleanedCalls(
        pd.concat(calls, ignore_index=True),
        pd.concat(quarantined, ignore_index=True),
        stats,
        np.concatenate(quarantined_groups),
    )


def combine_cleaned(parts: list[CleanedCalls], rules: CallRules) -> CleanedCalls:
    """Several groups' `clean_calls_by_group` results as one (stats summed); the empty result
    of the contract's columns when there are none."""
    parts = [part for part in parts if part is not None]
    if not parts:
        columns = [*APD_RAW_COLUMNS, *PROVENANCE_COLUMNS]
        empty = clean_calls(pd.DataFrame({c: pd.Series(dtype=object) for c in columns}), rules)
        empty.quarantined_groups = np.array([], dtype=object)
        return empty
    if len(parts) == 1:
        return parts[0]
    stats: dict[str, int] = {}
    for part in parts:
        for name, count in part.stats.items():
            stats[name] = stats.get(name, 0) + count
    return CleanedCalls(
        pd.concat([part.calls for part in parts], ignore_index=True),
        pd.concat([part.quarantined for part in parts], ignore_index=True),
        stats,
        np.concatenate([part.quarantined_groups for part in parts]),
    )


def rejected_values_by_column(stats: dict[str, int]) -> dict[str, int]:
    """Values set to NULL per raw column (unparseable or implausible), non-zero ones."""
    return column_counts(stats, VALUE_CHECKED_COLUMNS, VALUE_REJECT_SUFFIXES)


class _RawColumns:
    """Column access to selected raw rows (all by default) of a pandas frame or an Arrow table,
    without copying the whole raw frame (a full-frame `iloc`/`reset_index` copies every object
    column of every row). Columns come as Series with a fresh RangeIndex, or factorized
    (`distinct`): from an Arrow table without a Python string per row."""

    def __init__(self, raw: pd.DataFrame | pa.Table, rows: np.ndarray | None = None) -> None:
        self._raw = raw
        self._arrow = isinstance(raw, pa.Table)
        count = raw.num_rows if self._arrow else len(raw)
        self._rows = np.arange(count) if rows is None else rows
        self._identity = rows is None or (
            len(rows) == count and bool((rows == np.arange(len(rows))).all())
        )
        self.names = list(raw.column_names if self._arrow else raw.columns)

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def __getitem__(self, name: str) -> pd.Series:
        if self._arrow:
            return pd.Series(self._arrow_column(name).to_pandas(), index=pd.RangeIndex(len(self)))
        values = self._raw[name].to_numpy()
        return pd.Series(values if self._identity else values[self._rows])

    def as_read(self, name: str) -> pd.Series | pa.Array:
        """The column without conversion: an Arrow array (from a table), else a Series."""
        return self._arrow_column(name) if self._arrow else self[name]

    def distinct(self, name: str) -> DistinctValues:
        return distinct_values(self.as_read(name))

    def rows_frame(self, positions: np.ndarray, names: list[str] | None = None) -> pd.DataFrame:
        """The raw rows at `positions` (of the selected rows), as the raw frame has them."""
        rows = self._rows[positions]
        if self._arrow:
            table = self._raw if names is None else self._raw.select(names)
            return table.take(pa.array(rows, pa.int64())).to_pandas()
        frame = self._raw.iloc[rows]
        return frame if names is None else frame[names]

    def _arrow_column(self, name: str) -> pa.Array:
        column = self._raw.column(name)
        if not self._identity:
            column = column.take(pa.array(self._rows, pa.int64()))
        return column.combine_chunks()


def _deduplicate(
    raw: _RawColumns, kept: np.ndarray, numbers: np.ndarray, moments: pd.Series
) -> tuple[np.ndarray, int, int]:
    """Positions into `kept` of the rows to keep, in (response_datetime, incident_number)
    order: exact duplicate rows dropped (first kept), then the last row in source order per
    key. One stable sort serves both the output order and the duplicate search (duplicates
    are neighbours once sorted, and keep their source order among themselves)."""
    moment_ns = moments.to_numpy(dtype="datetime64[ns]").view("int64")
    order = np.lexsort((numbers, moment_ns))
    number_sorted, moment_sorted = numbers[order], moment_ns[order]
    same_as_previous = np.zeros(len(order), dtype=bool)
    same_as_previous[1:] = (number_sorted[1:] == number_sorted[:-1]) & (
        moment_sorted[1:] == moment_sorted[:-1]
    )
    shares_key = same_as_previous | np.append(same_as_previous[1:], False)

    # Exact duplicates are a subset of key duplicates, so only rows sharing a key are compared
    # column by column (cheap: a handful of rows out of ~835K).
    exact = np.zeros(len(order), dtype=bool)
    if shares_key.any():
        content = [c for c in raw.names if c not in PROVENANCE_COLUMNS]
        candidates = np.flatnonzero(shares_key)
        rows = raw.rows_frame(kept[order[candidates]], content)
        exact[candidates] = rows.duplicated(keep="first").to_numpy()

    remaining = np.flatnonzero(~exact)
    number_left, moment_left = number_sorted[remaining], moment_sorted[remaining]
    superseded = np.zeros(len(remaining), dtype=bool)  # a later row has the same key
    superseded[:-1] = (number_left[1:] == number_left[:-1]) & (moment_left[1:] == moment_left[:-1])
    return order[remaining[~superseded]], int(exact.sum()), int(superseded.sum())


def _typed_columns(
    frame: _RawColumns,
    numbers: np.ndarray,
    moments: pd.Series,
    stats: dict[str, int],
    rules: CallRules,
) -> pd.DataFrame:
    out: dict[str, object] = {"incident_number": numbers}
    stats["incident_number_not_9_digits"] = int(((numbers < 10**8) | (numbers >= 10**9)).sum())
    out.update(_date_parts(moments))
    stats.update(_derived_part_mismatches(frame, out))
    out.update(_secondary_datetimes(frame, moments, stats))

    for column in CATEGORICAL_COLUMNS:
        if column != "final_problem_category":
            out[column] = categorical_text(frame.distinct(column), UNKNOWN).values
    final = frame.distinct("final_problem_category")  # parsed two ways: factorize once
    final_text = categorical_text(final, UNKNOWN)
    out["final_problem_category"] = final_text.values
    known = in_vocabulary(final, KNOWN_PROBLEM_CATEGORIES)
    blank_final = final_text.blank
    out["is_known_final_category"] = known
    stats["unknown_final_category"] = int((~known & ~blank_final).sum())
    stats["final_category_missing"] = int(blank_final.sum())

    priority_text = frame.distinct("priority_level")
    out["priority_level"] = categorical_text(priority_text, UNKNOWN).values
    priority = parse_priority(priority_text)
    out["priority_numeric"] = priority.values
    stats["priority_unknown"] = int(priority.values.isna().sum())

    mental = parse_bool(
        frame.distinct("mental_health_flag"), _MENTAL_HEALTH_TRUE, _MENTAL_HEALTH_FALSE
    )
    out["is_mental_health"] = mental.values
    stats["mental_health_flag_unparsed"] = mental.invalid_count
    report = parse_bool(frame.distinct("report_written_flag"))
    out["report_written"] = report.values
    stats["report_written_unparsed"] = report.invalid_count

    for column in INTEGER_COLUMNS:
        parsed = parse_int(frame.distinct(column))
        implausible = out_of_range(parsed.values, *CALL_INTEGER_RANGES[column])
        out[column] = null_out(parsed.values, implausible)
        stats[f"{column}_invalid"] = parsed.invalid_count - parsed.overflow_count
        stats[f"{column}_out_of_range"] = int(implausible.sum()) + parsed.overflow_count

    geo = normalise_geo_ids(frame.distinct("geo_id"), rules.states)
    out["geo_id"] = geo.geo_id
    out["geo_id_status"] = geo.status
    stats.update({f"geo_id_{status}": count for status, count in geo.status_counts.items()})
    stats["geo_id_outside_counties"] = sum(
        rows
        for county, rows in (geo.county_counts or {}).items()
        if county not in rules.county_fips
    )
    out["census_block_group"] = strip_float_suffix(frame.distinct("census_block_group"))
    stats["census_block_group_mismatch"] = _block_group_mismatches(
        geo.geo_id, out["census_block_group"]
    )

    out["latitude"], out["longitude"] = _coordinates(frame, stats)

    repeated = pd.Series(numbers).duplicated(keep=False).to_numpy()
    out["is_duplicate_incident_number"] = repeated
    stats["duplicate_incident_numbers"] = int(pd.unique(numbers[repeated]).size)
    stats["duplicate_incident_number_rows"] = int(repeated.sum())
    out[SOURCE_FILE] = clean_text(frame.distinct(SOURCE_FILE)) if SOURCE_FILE in frame else None
    return _frame_from_columns(out, len(numbers))


def _coordinates(frame: _RawColumns, stats: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude of a feed located by coordinates (its adapter adds the raw
    columns); NaN for one located by Geo ID, as Austin's. A value that is not a finite number
    becomes NaN and is counted; whether a point is plausible is the enrichment's question (the
    city's validity box), so no point is dropped here."""
    if LATITUDE not in frame or LONGITUDE not in frame:
        return np.full(len(frame), np.nan), np.full(len(frame), np.nan)
    parsed = []
    for name in (LATITUDE, LONGITUDE):
        text = frame[name]
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        values[~np.isfinite(values)] = np.nan
        stats[f"{name}_unparsed"] = int((text.notna().to_numpy() & np.isnan(values)).sum())
        parsed.append(values)
    return parsed[0], parsed[1]


def _frame_from_columns(columns: dict[str, object], rows: int) -> pd.DataFrame:
    """Contract-ordered frame without pandas' block consolidation (which copies every object
    column once more). Every Series here has a fresh RangeIndex."""
    index = pd.RangeIndex(rows)
    series = [
        values.set_axis(index).rename(name)
        if isinstance(values, pd.Series)
        else pd.Series(values, index=index, name=name)
        for name, values in ((n, columns[n]) for n in CLEANED_CALL_COLUMNS)
    ]
    return pd.concat(series, axis=1, copy=False)


def _secondary_datetimes(
    frame: _RawColumns, moments: pd.Series, stats: dict[str, int]
) -> dict[str, pd.Series]:
    """First-unit-arrived and call-closed datetimes (NaT allowed), plus their counts."""
    out: dict[str, pd.Series] = {}
    fallback = stats["response_datetime_format_minutes_only"]
    previous = moments
    order_violations = np.zeros(len(frame), dtype=bool)
    for column in SECONDARY_DATETIME_COLUMNS:
        parsed = parse_datetimes(frame.as_read(column), APD_DATETIME_FORMATS)
        stats[f"{column}_unparsed"] = parsed.unparsed_count
        fallback += parsed.count_format(APD_FALLBACK_FORMAT)
        naive, stats[f"{column}_truncated_to_microseconds"] = truncate_to_microseconds(
            parsed.values
        )
        values = localize_local_time(naive, tz=str(moments.dt.tz)).values
        # A time days before its call, or a year after, is a typo, not a duration.
        implausible = (
            (values < moments - SECONDARY_BEFORE_RESPONSE)
            | (values > moments + SECONDARY_AFTER_RESPONSE)
        ).to_numpy(dtype=bool)
        values = null_out(values, implausible)
        stats[f"{column}_out_of_range"] = int(implausible.sum())
        out[column] = values
        # Response <= first arrived <= closed; real data has exceptions: count, keep.
        order_violations |= (values < previous).to_numpy(dtype=bool)  # NaT compares False
        previous = values.where(values.notna(), previous)
    stats["datetime_order_violations"] = int(order_violations.sum())
    # Values (in any of the three datetime columns) that needed the seconds-lost re-save format.
    stats["datetime_fallback_parsed"] = int(fallback)
    return out


def _block_group_mismatches(geo_id: pd.Series, block_group: pd.Series) -> int:
    """Census Block Group should equal the Geo ID without its 2-digit state (Austin's `48`):
    count rows where both are present and disagree (flagged, rows kept). Compared as integers,
    per distinct."""
    geo_number = parse_int(geo_id).values
    group_number = parse_int(block_group).values
    both = geo_number.notna() & group_number.notna()
    return int(((geo_number % 10**10) != group_number)[both].sum())


def _date_parts(moments: pd.Series) -> dict[str, object]:
    """Local calendar parts of tz-aware response datetimes (all non-null here)."""
    wall = moments.dt.tz_localize(None)  # local wall-clock time as delivered
    year = wall.dt.year.to_numpy(dtype="int64")
    month = wall.dt.month.to_numpy(dtype="int64")
    hour = wall.dt.hour.to_numpy(dtype="int64")
    weekday = wall.dt.dayofweek.to_numpy(dtype="int64")
    # `YYYY-MM` built per distinct month: strftime per row would format every call.
    codes, months = pd.factorize(year * 100 + month)
    labels = np.array([f"{m // 100:04d}-{m % 100:02d}" for m in months], dtype=object)
    return {
        "response_datetime": moments,
        "response_date": wall.dt.normalize(),
        "response_year": year,
        "response_month": month,
        "response_hour": hour,
        "response_month_key": labels[codes] if len(codes) else np.array([], dtype=object),
        "response_day_of_week": DAY_NAMES[weekday],
        "day_of_week_index": weekday,
        "is_weekend": weekday >= 5,
        "time_of_day": np.select(
            [hour < 6, hour < 12, hour < 18], ["Night", "Morning", "Afternoon"], "Evening"
        ).astype(object),
    }


def _derived_part_mismatches(frame: _RawColumns, parts: dict[str, object]) -> dict[str, int]:
    """Delivered Response Hour / Day of Week that disagree with Response Datetime (flagged)."""
    hour = parse_int(frame.distinct("response_hour")).values.to_numpy(
        dtype="float64", na_value=np.nan
    )
    hour_bad = ~np.isnan(hour) & (hour != parts["response_hour"])
    # Day names have a handful of distinct values: map those to 0..6 (-1 = blank/unknown).
    days = frame.distinct("response_day_of_week")  # trimmed text, '' when blank
    name_index = {name.casefold(): i for i, name in enumerate(DAY_NAMES)}
    per_name = np.array(
        [name_index.get(text[:3].casefold(), -1) for text in days.text.to_pylist()],
        dtype="int64",
    )
    delivered = days.take(per_name, -1)  # missing -> -1
    day_bad = (delivered >= 0) & (delivered != parts["day_of_week_index"])
    return {
        "response_hour_mismatch": int(hour_bad.sum()),
        "response_day_of_week_mismatch": int(day_bad.sum()),
    }

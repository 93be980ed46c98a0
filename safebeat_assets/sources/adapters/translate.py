"""A city's export, read as text, onto the raw layout the cleaning step already understands:
Austin's 27 canonical APD columns (plus latitude/longitude for coordinate-located feeds).

Translating onto the raw layout, rather than onto the cleaned one, keeps one cleaning step
(quarantine, duplicates, typed parsing and every count it publishes) for every city. What the
adapter's fields produce is written as cleaning reads it; other columns the input carries under
an APD canonical name pass through untouched. Austin's adapter therefore maps its own export
onto itself, column for column, and every downstream result stays identical (tested).

All work is columnar (pyarrow compute, pandas' vectorised hashing and datetime parsing).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ...transform.parsing import APD_DATETIME_FORMATS, parse_datetimes
from ..columns import APD_RAW_COLUMNS, SourceSchemaError, canonical_name
from .spec import AdapterSpec, Classification, Datetime, Priority

LATITUDE, LONGITUDE = "latitude", "longitude"
# Hashed ids are 18-digit numbers, [10**17, 10**18): far above every published numeric incident
# number (Austin's have 9 digits) and inside what cleaning accepts (at most 18 digits).
_HASHED_ID_BASE = np.uint64(10**17)
_HASHED_ID_SPAN = np.uint64(9 * 10**17)
_NEUTRAL_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # one of the formats cleaning parses
_APD_PRIORITY = r"^priority ?[0-3]$"
_UNIT_SECONDS = {"seconds": 1, "minutes": 60}


@dataclass(frozen=True)
class AdaptedCalls:
    """The raw-layout table and what translating it counted (published as metadata)."""

    table: pa.Table
    counts: dict[str, int] = field(default_factory=dict)


def adapt_calls(table: pa.Table, adapter: AdapterSpec) -> AdaptedCalls:
    """`table` (string columns, headers as exported or canonical) -> APD raw layout.

    Raises SourceSchemaError naming the adapter and every required column the table lacks.
    """
    table = table.rename_columns([canonical_name(name) for name in table.column_names])
    missing = adapter.missing_columns(table.column_names)
    if missing:
        raise SourceSchemaError(f"a {adapter.name} export", missing=missing)
    fields = adapter.fields
    counts: dict[str, int] = {"rows": table.num_rows}
    produced: dict[str, pa.Array] = {}

    def column(header: str) -> pa.ChunkedArray:
        return table.column(canonical_name(header))

    produced["incident_number"] = _incident_numbers(table, adapter, counts)
    produced["response_datetime"] = _datetime_text(
        column(fields.call_datetime.column), fields.call_datetime, "call_datetime", counts
    )
    for name, spec in (
        ("first_unit_arrived_datetime", fields.arrived_datetime),
        ("call_closed_datetime", fields.closed_datetime),
    ):
        if spec is not None:
            produced[name] = _datetime_text(column(spec.column), spec, name, counts)
    if fields.priority is not None:
        produced["priority_level"] = _priority_text(
            column(fields.priority.column), fields.priority, counts
        )
    category, description = _classification(table, fields.classification, counts)
    produced["final_problem_category"] = category
    produced["final_problem_description"] = description
    # Feeds with one classification report it as both the initial and the final one.
    fallback = {"initial_problem_category": category, "initial_problem_description": description}
    if fields.response_time is not None:
        produced["response_time"] = _seconds_text(
            column(fields.response_time.column), _UNIT_SECONDS[fields.response_time.unit], counts
        )
    if fields.units is not None:
        produced["number_of_units_arrived"] = column(fields.units)
    if fields.district is not None:
        produced["sector"] = column(fields.district)

    location = fields.location
    extra: dict[str, pa.ChunkedArray] = {}
    if location.kind == "geo_id":
        produced["geo_id"] = column(location.column)
    elif location.kind == "coordinates":
        extra[LATITUDE] = column(location.latitude)
        extra[LONGITUDE] = column(location.longitude)
    else:
        counts["unlocated_text_only"] = table.num_rows

    rows = table.num_rows
    out: dict[str, pa.Array | pa.ChunkedArray] = {}
    for name in APD_RAW_COLUMNS:
        if name in produced:
            out[name] = produced[name]
        elif name in table.column_names:  # an APD column the export carries under its name
            out[name] = table.column(name)
        elif name in fallback:
            out[name] = fallback[name]
        else:
            out[name] = pa.nulls(rows, pa.string())
    out.update(extra)
    return AdaptedCalls(pa.table({k: _as_string(v) for k, v in out.items()}), counts)


def _as_string(values: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    if isinstance(values, pa.Array):
        values = pa.chunked_array([values], values.type)
    return values.cast(pa.string()) if values.type != pa.string() else values


def _incident_numbers(table: pa.Table, adapter: AdapterSpec, counts: dict[str, int]) -> pa.Array:
    """Numeric ids pass through; other ids (`F190051945`) and feeds without an id get a stable
    hash, so a re-export of the same call yields the same number."""
    spec = adapter.fields.incident_id
    if spec.column is not None:
        ids = table.column(canonical_name(spec.column))
        numeric = pc.fill_null(pc.match_substring_regex(ids, r"^\s*\d+\s*$"), True)
        counts["incident_id_hashed"] = int(pc.sum(pc.invert(numeric)).as_py() or 0)
        if counts["incident_id_hashed"] == 0:
            return ids
        hashed = _hash_text(pc.fill_null(ids, ""))
        return pc.if_else(numeric, ids, hashed)
    parts = [pc.fill_null(table.column(canonical_name(c)), "") for c in spec.hash_of]
    joined = pc.binary_join_element_wise(*parts, "\x1f")
    counts["incident_id_hashed"] = len(joined)
    return _hash_text(joined)


def _hash_text(text: pa.ChunkedArray) -> pa.Array:
    digest = pd.util.hash_array(text.to_numpy(zero_copy_only=False), categorize=False)
    return pa.array(digest % _HASHED_ID_SPAN + _HASHED_ID_BASE).cast(pa.string())


def _datetime_text(
    values: pa.ChunkedArray, spec: Datetime, name: str, counts: dict[str, int]
) -> pa.ChunkedArray:
    """Text cleaning parses: passed through when every format is one cleaning knows, rewritten
    as `YYYY-MM-DD HH:MM:SS` (still local wall-clock time) otherwise. Values matching no
    format keep their text, so cleaning quarantines them with its own reason and count."""
    if set(spec.formats) <= set(APD_DATETIME_FORMATS):
        return values
    parsed = parse_datetimes(values, spec.formats)  # cleaning's parser: same shapes, blanks
    counts[f"{name}_unparsed"] = parsed.unparsed_count
    rewritten = pc.strftime(pa.array(parsed.values, pa.timestamp("s")), _NEUTRAL_DATETIME_FORMAT)
    return pa.chunked_array([pc.coalesce(rewritten, values.combine_chunks())])


def _normalised(values: pa.ChunkedArray) -> pa.ChunkedArray:
    spaced = pc.replace_substring_regex(values, r"\s+", " ")
    return pc.utf8_lower(pc.utf8_trim_whitespace(spaced))


def _priority_text(
    values: pa.ChunkedArray, spec: Priority, counts: dict[str, int]
) -> pa.ChunkedArray:
    """Mapped values as `Priority N` (the APD spelling kept where the value already is one);
    unmapped values keep their text: cleaning turns them into a null priority and counts them."""
    keys = _normalised(pa.array(list(spec.mapping), pa.string()))
    levels = pa.array(list(spec.mapping.values()), pa.int8())
    normalised = _normalised(values)
    level = pc.take(levels, pc.index_in(normalised, value_set=keys))
    counts["priority_missing"] = values.null_count
    counts["priority_unmapped"] = int(
        pc.sum(pc.and_(pc.is_null(level), pc.is_valid(values))).as_py() or 0
    )
    spelled = pc.binary_join_element_wise("Priority ", pc.cast(level, pa.string()), "")
    already_apd = pc.fill_null(pc.match_substring_regex(normalised, _APD_PRIORITY), False)
    same_level = pc.fill_null(
        pc.equal(pc.utf8_slice_codeunits(normalised, -1), pc.cast(level, pa.string())), False
    )
    return pc.if_else(pc.and_(already_apd, same_level), values, pc.coalesce(spelled, values))


def _classification(
    table: pa.Table, spec: Classification, counts: dict[str, int]
) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    rows = table.num_rows
    if spec.split is not None:
        whole = table.column(canonical_name(spec.split.column))
        parts = pc.split_pattern(whole, spec.split.separator, max_splits=1)
        has_separator = pc.equal(pc.list_value_length(parts), 2)
        category = pc.utf8_trim_whitespace(pc.list_element(parts, 0))
        # Lists of one element padded with a null, so element 1 can be taken from every row.
        padded = pc.if_else(has_separator, parts, pa.scalar([None, None], parts.type))
        description = pc.utf8_trim_whitespace(pc.list_element(padded, 1))
        counts["classification_unsplit"] = int(
            pc.sum(
                pc.and_(pc.invert(pc.fill_null(has_separator, False)), pc.is_valid(whole))
            ).as_py()
            or 0
        )
    else:
        category = (
            table.column(canonical_name(spec.category))
            if spec.category is not None
            else pa.chunked_array([pa.nulls(rows, pa.string())])
        )
        description = (
            table.column(canonical_name(spec.description))
            if spec.description is not None
            else pa.chunked_array([pa.nulls(rows, pa.string())])
        )
    if spec.category_mapping:
        keys = pa.array(list(spec.category_mapping))
        renamed = pc.take(
            pa.array(list(spec.category_mapping.values())), pc.index_in(category, value_set=keys)
        )
        category = pc.coalesce(renamed, category)
    return category, description


def _seconds_text(values: pa.ChunkedArray, factor: int, counts: dict[str, int]) -> pa.ChunkedArray:
    if factor == 1:
        return values
    text = pd.Series(values.to_pandas(), dtype=object)
    numbers = pd.to_numeric(text, errors="coerce")
    given = text.notna() & (text.str.strip() != "")
    counts["response_time_unparsed"] = int((numbers.isna() & given).sum())
    seconds = (numbers * factor).round().astype("Int64")
    return pa.chunked_array([pa.array(seconds.astype("string"), pa.string())])

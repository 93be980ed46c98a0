"""Every query the dashboard runs, in one place: warehouse SQL (values only as parameters) and
reads of the lake's model outputs and reports. Pure functions of a `DataSource` and `Filters`,
returning frames; the pages cache them (`cache.py`). Nothing here writes or recomputes a
pipeline result.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
from psycopg2 import sql

from .. import asset_names as names
from ..domain import NO_EVENTS_SOURCE, NO_EVENTS_SOURCE_TEXT
from ..settings import MODELS_BUCKET
from .filters import Filters
from .source import DataSource

FACT = names.FACT_CALLS
EVENTS = names.DIM_EVENT
LINKS = names.FACT_EVENT_INCIDENTS
GEO = names.DIM_GEO
EVENT_RISK = names.EVENT_RISK_SCORES
ZONE_RISK = names.ZONE_RISK_SCORES
HOT_SPOTS = names.CALL_HOT_SPOTS
BASELINE_RATES = names.CALL_BASELINE_RATES
WAREHOUSE_TABLES = (GEO, EVENTS, FACT, LINKS, EVENT_RISK, ZONE_RISK, HOT_SPOTS, BASELINE_RATES)
MODEL_OUTPUTS = (
    names.ASSOCIATION_RULES,
    names.ZONE_CLUSTERS,
    names.CALL_FORECAST,
    names.EVENT_IMPACT_MODEL,
)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DATA_ROW_LIMIT = 50_000


# --- freshness -------------------------------------------------------------------------------
def data_version(src: DataSource) -> str:
    """A token that changes whenever a run lands: the row changes the server has counted on
    the schema's tables, the model objects' stamps and the newest report. Cheap (one catalog
    query, a few object stats); caches key on it."""
    tables = src.frame(
        "SELECT relname, n_live_tup, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables "
        "WHERE schemaname = %(schema)s ORDER BY relname",
        {"schema": src.schema},
    )
    parts = [tables.to_csv(index=False)]
    parts += [src.object_stamp("models", f"{name}.parquet") for name in MODEL_OUTPUTS]
    reports = src.report_names()
    parts.append(reports[0] if reports else "")
    if reports:
        parts.append(src.object_stamp("reports", f"daily/{reports[0]}"))
    return str(hash("\n".join(parts)))


# --- filter choices --------------------------------------------------------------------------
def filter_options(src: DataSource) -> dict:
    span = src.frame(
        "SELECT min(response_date) AS first, max(response_date) AS last FROM {fact}", fact=FACT
    )
    categories = src.frame(
        "SELECT DISTINCT final_problem_category AS c FROM {fact} "
        "WHERE final_problem_category IS NOT NULL ORDER BY 1",
        fact=FACT,
    )["c"].tolist()
    tiers = src.frame(
        "SELECT DISTINCT tier FROM {events} WHERE tier IS NOT NULL ORDER BY 1", events=EVENTS
    )["tier"].tolist()
    return {
        "first": span["first"].iloc[0],
        "last": span["last"].iloc[0],
        "categories": categories,
        "priorities": [0, 1, 2, 3],
        "tiers": [int(t) for t in tiers],
    }


# --- overview --------------------------------------------------------------------------------
def key_figures(src: DataSource, f: Filters) -> dict:
    where, params = f.call_conditions()
    calls = src.frame(
        "SELECT count(*) AS calls, count(f.geo_id) AS located, avg(f.priority_numeric) AS "
        "mean_priority, percentile_cont(0.5) WITHIN GROUP (ORDER BY f.response_time) AS "
        "median_response_s, count(DISTINCT f.response_date) AS days "
        "FROM {fact} f WHERE {where}",
        params,
        fact=FACT,
        where=where,
    ).iloc[0]
    ewhere, eparams = f.event_conditions()
    events = src.frame(
        "SELECT count(*) AS events, count(r.event_id) AS scored, "
        "count(*) FILTER (WHERE r.risk_category = 'HIGH') AS high_risk "
        "FROM {events} e LEFT JOIN {risk} r ON r.event_id = e.event_id WHERE {ewhere}",
        eparams,
        events=EVENTS,
        risk=EVENT_RISK,
        ewhere=ewhere,
    ).iloc[0]
    total = int(calls["calls"])
    return {
        "calls": total,
        "located_share": (int(calls["located"]) / total) if total else None,
        "calls_per_day": total / int(calls["days"]) if int(calls["days"]) else None,
        "mean_priority": _float(calls["mean_priority"]),
        "median_response_s": _float(calls["median_response_s"]),
        "events": int(events["events"]),
        "scored_events": int(events["scored"]),
        "high_risk_events": int(events["high_risk"]),
    }


def monthly_calls(src: DataSource, f: Filters) -> pd.DataFrame:
    where, params = f.call_conditions()
    return src.frame(
        "SELECT date_trunc('month', f.response_date)::date AS month, count(*) AS calls, "
        "avg(f.priority_numeric) AS mean_priority FROM {fact} f "
        "WHERE {where} GROUP BY 1 ORDER BY 1",
        params,
        fact=FACT,
        where=where,
    )


def event_risk_distribution(src: DataSource, f: Filters) -> pd.DataFrame:
    where, params = f.event_conditions()
    return src.frame(
        "SELECT r.risk_category, count(*) AS events FROM {risk} r JOIN {events} e "
        "ON e.event_id = r.event_id WHERE {where} GROUP BY 1",
        params,
        risk=EVENT_RISK,
        events=EVENTS,
        where=where,
    )


def latest_report(src: DataSource) -> dict | None:
    """The newest daily report's JSON (status, parts, checks), or None before the first."""
    names_ = [n for n in src.report_names() if n.endswith("_report.json")]
    if not names_:
        return None
    return json.loads(src.report_bytes(names_[0]))


def events_source_note(src: DataSource) -> str | None:
    """NO_EVENTS_SOURCE_TEXT when the newest report says the city publishes no event permits,
    else None. The report states what the pipeline was configured with; an empty dim_event
    alone could also be a feed city's failed load, which must not read as "no source"."""
    report = latest_report(src)
    processing = (report or {}).get("data_processing") or {}
    return NO_EVENTS_SOURCE_TEXT if processing.get("events_source") == NO_EVENTS_SOURCE else None


# --- geography -------------------------------------------------------------------------------
def block_groups(src: DataSource) -> pd.DataFrame:
    return src.frame(
        "SELECT geo_id, name, county_name, latitude_centroid, longitude_centroid, area_sq_km, "
        "boundary_wkt FROM {geo} ORDER BY geo_id",
        geo=GEO,
    )


def calls_by_block_group(src: DataSource, f: Filters) -> pd.DataFrame:
    where, params = f.call_conditions()
    return src.frame(
        "SELECT f.geo_id, count(*) AS calls, avg(f.priority_numeric) AS mean_priority "
        "FROM {fact} f WHERE f.geo_id IS NOT NULL AND {where} GROUP BY 1",
        params,
        fact=FACT,
        where=where,
    )


def zone_risk(src: DataSource) -> pd.DataFrame:
    return src.frame(
        "SELECT geo_id, risk_zone, cluster_id, location_risk, incident_count FROM {zones}",
        zones=ZONE_RISK,
    )


def hot_spot_choices(src: DataSource) -> pd.DataFrame:
    if not src.has_table(HOT_SPOTS):
        return pd.DataFrame(columns=["time_window", "category"])
    return src.frame(
        "SELECT DISTINCT time_window, category FROM {hot} ORDER BY 1, 2", hot=HOT_SPOTS
    )


def hot_spots(src: DataSource, time_window: str, category: str) -> pd.DataFrame:
    return src.frame(
        "SELECT geo_id, calls, gi_z, p_value, confidence, hot_spot FROM {hot} "
        "WHERE time_window = %(window)s AND category = %(category)s ORDER BY gi_z DESC",
        {"window": time_window, "category": category},
        hot=HOT_SPOTS,
    )


# --- events ----------------------------------------------------------------------------------
def events(src: DataSource, f: Filters) -> pd.DataFrame:
    where, params = f.event_conditions()
    return src.frame(
        "SELECT e.event_id, e.event_name, e.event_type, e.tier, e.start_date, e.end_date, "
        "e.has_alcohol, e.has_amplified_sound, e.has_road_closure, e.expected_attendance, "
        "e.event_lat, e.event_lon, r.incident_count AS linked_calls, r.risk_score, "
        "r.risk_category, r.avg_priority, r.top_final_category "
        "FROM {events} e LEFT JOIN {risk} r ON r.event_id = e.event_id "
        "WHERE {where} ORDER BY r.risk_score DESC NULLS LAST, e.start_date",
        params,
        events=EVENTS,
        risk=EVENT_RISK,
        where=where,
    )


def event_links(src: DataSource, event_id: int) -> pd.DataFrame:
    """The calls linked to one event, with their local hour (in the city's zone)."""
    return src.frame(
        "SELECT l.call_date, extract(hour FROM l.response_datetime AT TIME ZONE "
        "%(time_zone)s)::int AS hour, l.final_problem_category, l.priority_numeric, "
        "l.response_time, l.distance_km, l.geo_id FROM {links} l "
        "WHERE l.event_id = %(event_id)s ORDER BY l.response_datetime",
        {"event_id": int(event_id), "time_zone": src.time_zone},
        links=LINKS,
    )


# --- time patterns ---------------------------------------------------------------------------
def hour_weekday(src: DataSource, f: Filters) -> pd.DataFrame:
    where, params = f.call_conditions()
    return src.frame(
        "SELECT f.day_of_week_index AS weekday, f.response_hour AS hour, count(*) AS calls "
        "FROM {fact} f WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2",
        params,
        fact=FACT,
        where=where,
    )


def daily_calls(src: DataSource, f: Filters) -> pd.DataFrame:
    """Calls per day, with the number of events running that day (after the event filters)."""
    where, params = f.call_conditions()
    ewhere, eparams = f.event_conditions("e")
    return src.frame(
        "WITH calls AS (SELECT f.response_date AS day, count(*) AS calls FROM {fact} f "
        "WHERE {where} GROUP BY 1), "
        "running AS (SELECT d::date AS day, count(*) AS events FROM {events} e, "
        "generate_series(e.start_date, e.end_date, interval '1 day') d "
        "WHERE {ewhere} GROUP BY 1) "
        "SELECT calls.day, calls.calls, coalesce(running.events, 0) AS events FROM calls "
        "LEFT JOIN running ON running.day = calls.day ORDER BY 1",
        {**params, **eparams},
        fact=FACT,
        events=EVENTS,
        where=where,
        ewhere=ewhere,
    )


# --- event planner ---------------------------------------------------------------------------
def baseline_rates(src: DataSource) -> pd.DataFrame:
    """The whole `call_baseline_rates` table (block group × weekday × hour), empty before its
    first run."""
    if not src.has_table(BASELINE_RATES):
        return pd.DataFrame(
            columns=["geo_id", "day_of_week_index", "hour", "calls_per_day", "comparable_days"]
        )
    return src.frame(
        "SELECT geo_id, day_of_week_index, hour, calls_per_day, comparable_days FROM {rates}",
        rates=BASELINE_RATES,
    )


def risk_reference(src: DataSource) -> pd.DataFrame:
    """The scored historical events' Formula A inputs (the planner scores against them)."""
    return src.frame(
        "SELECT event_id, incident_count, p0_count, p1_count, p2_count, p3_count, "
        "avg_distance_km, has_alcohol FROM {risk} ORDER BY event_id",
        risk=EVENT_RISK,
    )


# --- data ------------------------------------------------------------------------------------
DATA_TABLES = {
    "Calls (fact_911_calls)": FACT,
    "Events (dim_event)": EVENTS,
    "Event-call links (fact_event_incidents)": LINKS,
    "Event risk (event_risk_scores)": EVENT_RISK,
    "Zone risk (zone_risk_scores)": ZONE_RISK,
    "Hot spots (call_hot_spots)": HOT_SPOTS,
    "Block groups (dim_geo)": GEO,
}


def table_rows(src: DataSource, table: str, f: Filters, limit: int = DATA_ROW_LIMIT):
    """The filtered rows of one warehouse table (at most `limit`) and the filtered total."""
    where, params = _table_conditions(src, table, f)
    total = src.frame(
        "SELECT count(*) AS n FROM {table} t WHERE {where}",
        params,
        table=table,
        where=where,
    )["n"].iloc[0]
    rows = src.frame(
        "SELECT * FROM {table} t WHERE {where} LIMIT %(limit)s",
        {**params, "limit": int(limit)},
        table=table,
        where=where,
    )
    geometry = [c for c in rows.columns if c in ("geom", "boundary")]
    return rows.drop(columns=geometry), int(total)


# --- map, hot spots, reports, data export ----------------------------------------------------
def existing_tables(src: DataSource) -> tuple[str, ...]:
    """Which of the dashboard's warehouse tables exist: a page whose table the pipeline has not
    built yet says so instead of failing."""
    found = src.frame(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %(schema)s AND c.relname = ANY(%(names)s)",
        {"schema": src.schema, "names": list(WAREHOUSE_TABLES)},
    )
    return tuple(sorted(found["relname"]))


def report_dates(src: DataSource) -> pd.DataFrame:
    """The daily reports, newest first: one row per date with its HTML and JSON file names
    (NaN when that file is missing)."""
    files = {"html": "_report.html", "json": "_report.json"}
    rows: dict[str, dict] = {}
    for name in src.report_names():
        for kind, suffix in files.items():
            if name.endswith(suffix):
                rows.setdefault(name[: -len(suffix)], {})[kind] = name
    frame = pd.DataFrame(
        [{"date": day, **got} for day, got in rows.items()], columns=["date", "html", "json"]
    )
    return frame.sort_values("date", ascending=False, ignore_index=True)


def report_file(src: DataSource, name: str) -> bytes:
    return src.report_bytes(name)


def report_json(src: DataSource, name: str) -> dict:
    return json.loads(src.report_bytes(name))


def table_csv(src: DataSource, table: str, f: Filters) -> bytes:
    """Every filtered row of one warehouse table as CSV with a header, written by the server
    (COPY ... TO STDOUT): no DataFrame in between, so all 835k calls export in a second or two.
    Same filters as `table_rows`, bound client-side because COPY takes no parameters."""
    import io

    where, params = _table_conditions(src, table, f)
    query = sql.SQL("SELECT * FROM {table} t WHERE {where}").format(
        table=src.table(table), where=where
    )
    buffer = io.BytesIO()
    conn = src.connect()
    try:
        with conn.cursor() as cur:
            bound = sql.SQL(cur.mogrify(query, params).decode())
            copy = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER)").format(bound)
            cur.copy_expert(copy, buffer)
    finally:
        conn.close()
    return buffer.getvalue()


def _table_conditions(src: DataSource, table: str, f: Filters) -> tuple[sql.Composed, dict]:
    """The filter `table_rows` and `table_csv` apply to `table` (alias t)."""
    if table == FACT:
        return f.call_conditions("t")
    if table == EVENTS:
        return f.event_conditions("t")
    if table == LINKS:
        cwhere, params = f.call_conditions("t", date_column="call_date")
        ewhere, eparams = f.event_conditions("e")
        return _in_events(src, cwhere, ewhere), {**params, **eparams}
    if table == EVENT_RISK:
        ewhere, params = f.event_conditions("e")
        return _in_events(src, sql.SQL("TRUE"), ewhere), params
    return sql.SQL("TRUE"), {}


def _in_events(
    src: DataSource, condition: sql.Composable, event_condition: sql.Composable
) -> sql.Composed:
    """`condition` and the row's event (alias t) passing `event_condition` over dim_event e."""
    return sql.SQL("{} AND t.event_id IN (SELECT e.event_id FROM {} e WHERE {})").format(
        condition, src.table(EVENTS), event_condition
    )


# --- lake ------------------------------------------------------------------------------------
def model_output(src: DataSource, name: str) -> pd.DataFrame | None:
    return src.model_output(name)


def _float(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def as_date(value) -> dt.date:
    return value if isinstance(value, dt.date) else pd.Timestamp(value).date()


# --- events, impact, models ------------------------------------------------------------------
IMPACT_NONE, IMPACT_NO_ALCOHOL, IMPACT_ALCOHOL = "none", "event_no_alcohol", "event_alcohol"


def event_impact_counts(src: DataSource, f: Filters) -> dict[str, pd.DataFrame]:
    """The calls in the filters, counted per group (`none`: not linked to an event after the
    event filters; `event_alcohol`: linked to one serving alcohol; `event_no_alcohol`: linked,
    none serving alcohol): `mix` per (group, category, priority) and `response` per (group,
    response time in seconds). Enough for chi-square, the priority test and an exact
    Mann–Whitney on response times, without moving 835K rows into pandas.

    Joining every call to the links costs a sort of 835K rows (~1.7 s at Austin scale), so the
    statement counts all filtered calls without a join, counts the few linked calls through the
    fact's primary key, and `none` is the difference."""
    where, params = f.call_conditions()
    ewhere, eparams = f.event_conditions("e")
    counts = src.frame(
        "WITH linked AS (SELECT l.incident_number, l.response_datetime, bool_or(e.has_alcohol) "
        "AS alcohol FROM {links} l JOIN {events} e ON e.event_id = l.event_id "
        "WHERE {ewhere} GROUP BY 1, 2) "
        "SELECT CASE WHEN linked.alcohol THEN %(alcohol)s ELSE %(no_alcohol)s END AS grp, "
        "coalesce(f.final_problem_category, 'Unknown') AS category, "
        "f.priority_numeric AS priority, f.response_time, count(*) AS n, "
        "GROUPING(f.response_time) = 1 AS is_mix FROM linked JOIN {fact} f "
        "ON f.incident_number = linked.incident_number "
        "AND f.response_datetime = linked.response_datetime WHERE {where} "
        "GROUP BY GROUPING SETS ((1, 2, 3), (1, f.response_time)) "
        "UNION ALL "
        "SELECT %(all)s, coalesce(f.final_problem_category, 'Unknown'), f.priority_numeric, "
        "f.response_time, count(*), GROUPING(f.response_time) = 1 FROM {fact} f "
        "WHERE {where} GROUP BY GROUPING SETS ((2, 3), (f.response_time))",
        {
            **params,
            **eparams,
            "all": "all",
            "alcohol": IMPACT_ALCOHOL,
            "no_alcohol": IMPACT_NO_ALCOHOL,
        },
        fact=FACT,
        links=LINKS,
        events=EVENTS,
        where=where,
        ewhere=ewhere,
    )
    counts["n"] = counts["n"].astype("int64")
    is_mix = counts["is_mix"].astype(bool)
    mix = _with_unlinked(counts.loc[is_mix], ["category", "priority"])
    mix["priority"] = mix["priority"].astype("Int64")  # the grouping sets' NULLs made it float
    response = _with_unlinked(
        counts.loc[~is_mix & counts["response_time"].notna()], ["response_time"]
    )
    response["response_time"] = response["response_time"].astype("int64")
    return {"mix": mix, "response": response}


def _with_unlinked(counts: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The linked groups' rows plus `none` = all − linked, per key (merge matches NULL keys)."""
    linked = counts[counts["grp"] != "all"]
    total = counts.loc[counts["grp"] == "all", [*keys, "n"]]
    per_key = linked.groupby(keys, dropna=False, as_index=False)["n"].sum()
    none = total.merge(per_key, on=keys, how="left", suffixes=("", "_linked"))
    none["n"] = none["n"] - none["n_linked"].fillna(0).astype("int64")
    none = none.loc[none["n"] > 0, keys + ["n"]].assign(grp=IMPACT_NONE)
    columns = ["grp", *keys, "n"]
    return pd.concat([linked[columns], none[columns]], ignore_index=True)


def model_modified(src: DataSource) -> dict[str, dt.datetime | None]:
    """When each model's lake object was last written (UTC), None when it does not exist: the
    training time of models whose summary carries no `trained_at`."""
    return {name: src.modified_at(MODELS_BUCKET, f"{name}.parquet") for name in MODEL_OUTPUTS}


def hot_spots_overview(src: DataSource, all_day: str, all_calls: str) -> dict | None:
    """What the `call_hot_spots` table holds (None before it is built): maps, windows,
    categories, block groups, and the hot/cold spot counts of the all-day, all-calls map."""
    if not src.has_table(HOT_SPOTS):
        return None
    row = src.frame(
        "SELECT count(DISTINCT (time_window, category)) AS maps, "
        "count(DISTINCT category) AS categories, count(DISTINCT geo_id) AS block_groups, "
        "array_agg(DISTINCT time_window) AS windows, "
        "count(*) FILTER (WHERE time_window = %(day)s AND category = %(all)s "
        "AND hot_spot LIKE 'Hot%%') AS hot, "
        "count(*) FILTER (WHERE time_window = %(day)s AND category = %(all)s "
        "AND hot_spot LIKE 'Cold%%') AS cold FROM {hot}",
        {"day": all_day, "all": all_calls},
        hot=HOT_SPOTS,
    ).iloc[0]
    return {
        "maps": int(row["maps"]),
        "categories": int(row["categories"]),
        "block_groups": int(row["block_groups"]),
        "windows": sorted(row["windows"] or []),
        "hot": int(row["hot"]),
        "cold": int(row["cold"]),
    }

"""What every column of every stored dataset means, declared once.

The lake frames (and the daily report's top-level keys) are declared here: each column's pandas
dtype and a one-line description (meaning, unit, what NULL means). The warehouse tables are
declared in `storage/tables.py`, which takes the text of every column it shares with a lake
frame from the dicts here, so one column meaning has one text.

`column_descriptions(asset)` hands the texts of any asset, lake or warehouse, to the Dagster
metadata (the UI's Columns panel); `render_docs` writes the column tables of
docs/data-contracts.md from the same declarations:

    python -m safebeat_assets.contracts --write-docs   # rewrite the generated tables
    python -m safebeat_assets.contracts --check        # exit 1 when the doc is out of date

In descriptions NULL means the missing value of the column's type: None (str), NaN (float64),
NaT (datetimes), NA (Int64, boolean), SQL NULL in the warehouse.

No dagster, pandas or pyarrow here: the storage layer and docs tooling import this cheaply.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import asset_names as names

if TYPE_CHECKING:
    from safebeat_assets.storage.tables import TableSpec

DOC_PATH = Path(__file__).resolve().parents[1] / "docs" / "data-contracts.md"
DOC_COMMAND = "python -m safebeat_assets.contracts --write-docs"


@dataclass(frozen=True)
class ColumnDoc:
    """A lake column: its pandas dtype ("str" = object/string of str or None) and meaning."""

    dtype: str
    description: str


def _columns(*specs: tuple[str, str, str]) -> dict[str, ColumnDoc]:
    return {name: ColumnDoc(dtype, text) for name, dtype, text in specs}


def _texts(columns: Mapping[str, ColumnDoc]) -> dict[str, str]:
    return {name: column.description for name, column in columns.items()}


# --- provenance (every raw frame) --------------------------------------------------------------

PROVENANCE = _columns(
    ("source_file", "str", "Name of the landing file the row was read from (no folder)"),
    ("source_sha256", "str", "SHA-256 (hex) of that file's bytes"),
    ("source_row", "int64", "1-based number of the data row within that file (header excluded)"),
)

# --- APD 911 calls as delivered (text) ----------------------------------------------------------

RAW_CALL_COLUMNS = _columns(
    ("incident_number", "str", "APD incident number (normally 9 digits)"),
    ("incident_type", "str", "CAD incident type, e.g. `Dispatched Incident`"),
    ("mental_health_flag", "str", "`Mental Health Incident` or `Not Mental Health Incident`"),
    ("priority_level", "str", "`Priority 0` (most urgent) .. `Priority 3`"),
    (
        "response_datetime",
        "str",
        "When the call was received, Austin local time, e.g. `2025 Oct 31 11:59:47 PM`",
    ),
    ("response_day_of_week", "str", "Day name of response_datetime as delivered, e.g. `Fri`"),
    ("response_hour", "str", "Hour 0..23 of response_datetime as delivered"),
    ("first_unit_arrived_datetime", "str", "When the first unit arrived on scene, local time"),
    ("call_closed_datetime", "str", "When the call was closed, local time"),
    ("sector", "str", "APD patrol sector, e.g. `Frank`, `Airport`"),
    ("initial_problem_description", "str", "Problem as first classified by the call taker"),
    ("initial_problem_category", "str", "Category of the initial problem"),
    ("final_problem_description", "str", "Problem as finally classified"),
    ("final_problem_category", "str", "Category of the final problem"),
    ("number_of_units_arrived", "str", "Number of units that arrived on scene"),
    ("unit_time_on_scene", "str", "Seconds all units together spent on scene, e.g. `1,204`"),
    ("call_disposition_description", "str", "How the call was resolved, e.g. `False Alarm`"),
    ("report_written_flag", "str", "Whether a report was written (`Yes` / `No`)"),
    ("response_time", "str", "Seconds from call answer to the first unit on scene, e.g. `7,953`"),
    ("officer_injured_killed_count", "str", "Officers injured or killed"),
    ("subject_injured_killed_count", "str", "Subjects injured or killed"),
    ("other_injured_killed_count", "str", "Other people injured or killed"),
    (
        "geo_id",
        "str",
        "2020 census block-group GEOID of the call (12 digits; spreadsheets may deliver "
        "`484530412002.0` or scientific notation)",
    ),
    ("census_block_group", "str", "geo_id without its leading state code 48 (10 digits)"),
    ("council_district", "str", "Austin City Council district number"),
    (
        "response_year",
        "str",
        "Year of response_datetime (27-column CAD layout only; NULL for the 25-column one)",
    ),
    (
        "response_month",
        "str",
        "Month of response_datetime, e.g. `Oct` (CAD layout only; NULL for the 25-column one)",
    ),
)

QUARANTINE = _columns(
    (
        "reject_reason",
        "str",
        "The first check the row fails: `unparseable_incident_number`, "
        "`incident_number_out_of_range` (not a positive bigint), "
        "`unparseable_response_datetime`, `response_datetime_before_start` (before the first "
        "monthly partition or 1990; stored in the first partition) or "
        "`response_datetime_in_future` (after the last partition or more than a day after the "
        "load; stored in the last partition)",
    ),
)

# --- cleaned calls (also enriched_911_calls, fact_911_calls, fact_event_incidents) --------------

_UNPARSED = "NULL when blank, not an integer or outside its plausible range"

CALLS = _columns(
    (
        "incident_number",
        "int64",
        "APD incident number (normally 9 digits); not unique alone",
    ),
    (
        "response_datetime",
        "datetime64[ns, America/Chicago]",
        "When the call was received, in the city's time zone (SAFEBEAT_CITY; Austin: the dtype's "
        "America/Chicago); with incident_number it identifies the call",
    ),
    ("response_date", "datetime64[ns]", "Local calendar date of the call's response_datetime"),
    ("response_year", "int64", "Local year of response_datetime"),
    ("response_month", "int64", "Local month 1..12 of response_datetime"),
    ("response_hour", "int64", "Local hour 0..23 of response_datetime"),
    ("response_month_key", "str", "`YYYY-MM` of response_datetime"),
    ("response_day_of_week", "str", "`Mon`..`Sun` of response_datetime"),
    ("day_of_week_index", "int64", "0 = Mon .. 6 = Sun"),
    ("is_weekend", "bool", "The call falls on a Saturday or Sunday"),
    (
        "time_of_day",
        "str",
        "`Night` (hour < 6), `Morning` (< 12), `Afternoon` (< 18) or `Evening`",
    ),
    (
        "first_unit_arrived_datetime",
        "datetime64[ns, America/Chicago]",
        "When the first unit arrived on scene, local time; NULL when blank, unparseable, or more "
        "than a day before or a year after response_datetime",
    ),
    (
        "call_closed_datetime",
        "datetime64[ns, America/Chicago]",
        "When the call was closed, local time; NULL when blank, unparseable, or more than a day "
        "before or a year after response_datetime",
    ),
    ("incident_type", "str", "CAD incident type, e.g. `Dispatched Incident`; blank -> `Unknown`"),
    ("sector", "str", "APD patrol sector; blank -> `Unknown`"),
    ("initial_problem_description", "str", "Problem as first classified; blank -> `Unknown`"),
    ("initial_problem_category", "str", "Category of the initial problem; blank -> `Unknown`"),
    ("final_problem_description", "str", "Problem as finally classified; blank -> `Unknown`"),
    ("final_problem_category", "str", "Category of the final problem; blank -> `Unknown`"),
    (
        "call_disposition_description",
        "str",
        "How the call was resolved, e.g. `False Alarm`; blank -> `Unknown`",
    ),
    (
        "is_known_final_category",
        "bool",
        "final_problem_category is one of the 39 known APD categories (unknown ones are kept)",
    ),
    (
        "priority_level",
        "str",
        "Priority as delivered (`Priority 0`..`Priority 3`); blank -> `Unknown`",
    ),
    (
        "priority_numeric",
        "Int64",
        "Priority 0 (most urgent) .. 3 read from priority_level; NULL when unknown, never a "
        "sentinel",
    ),
    (
        "is_mental_health",
        "boolean",
        "Mental-health incident (`Mental Health Incident` or a yes word -> true, `Not Mental "
        "Health Incident` or a no word -> false); NULL otherwise",
    ),
    (
        "report_written",
        "boolean",
        "A report was written (yes/y/true/t/1 -> true, no/n/false/f/0 -> false); NULL otherwise",
    ),
    ("number_of_units_arrived", "Int64", f"Units that arrived on scene; {_UNPARSED}"),
    ("unit_time_on_scene", "Int64", f"Seconds all units together spent on scene; {_UNPARSED}"),
    (
        "response_time",
        "Int64",
        f"Seconds from call answer to the first unit on scene; {_UNPARSED}",
    ),
    ("officer_injured_killed_count", "Int64", f"Officers injured or killed; {_UNPARSED}"),
    ("subject_injured_killed_count", "Int64", f"Subjects injured or killed; {_UNPARSED}"),
    ("other_injured_killed_count", "Int64", f"Other people injured or killed; {_UNPARSED}"),
    ("council_district", "Int64", f"Austin City Council district number; {_UNPARSED}"),
    (
        "geo_id",
        "str",
        "Block-group Geo ID as delivered, normalised to 12 digits (`48` + 10 digits); NULL when "
        "missing or invalid",
    ),
    (
        "geo_id_status",
        "str",
        "`valid`, `missing` (blank) or `invalid` (does not normalise to a 12-digit Texas GEOID)",
    ),
    (
        "census_block_group",
        "str",
        "Census Block Group as delivered (a trailing `.0` dropped); NULL when blank",
    ),
    (
        "latitude",
        "float64",
        "Latitude (degrees) as delivered by a feed that locates calls by coordinates; NULL when "
        "the feed gives none (Austin's locates by Geo ID) or the value is not a number",
    ),
    (
        "longitude",
        "float64",
        "Longitude (degrees) as delivered by a feed that locates calls by coordinates; NULL "
        "when the feed gives none or the value is not a number",
    ),
    (
        "is_duplicate_incident_number",
        "bool",
        "The incident_number also occurs with another response_datetime (checked within the "
        "call's month)",
    ),
    ("source_file", "str", PROVENANCE["source_file"].description),
)

# Added by the block-group enrichment (enriched_911_calls; some reach fact_911_calls).
ENRICHMENT = _columns(
    (
        "latitude_centroid",
        "float64",
        "Census internal point latitude of the call's block group (degrees); NULL when unmatched",
    ),
    (
        "longitude_centroid",
        "float64",
        "Census internal point longitude of the call's block group (degrees); NULL when unmatched",
    ),
    ("area_sq_km", "float64", "Land area of the call's block group (km²); NULL when unmatched"),
    (
        "county_fp",
        "str",
        "County FIPS code: digits 3-5 of geo_id, also for ids not in dim_geo; NULL when geo_id "
        "is NULL",
    ),
    ("geo_matched", "bool", "geo_id is a block group of dim_geo"),
    (
        "dim_geo_id",
        "str",
        "The call's block group when its Geo ID is in dim_geo, else NULL (the FK to dim_geo)",
    ),
)

# --- ACE special-event permits ------------------------------------------------------------------

_ACE_DATE = "`Oct 31, 2025`, `October 31, 2025 18:00` or `2025-10-31T00:00:00.000`"

RAW_EVENTS = _columns(
    ("folderrsn", "str", "ACE permit (folder) number; repeats once per road-closure segment"),
    ("foldertype", "str", "Permit folder type code, e.g. `SE`"),
    ("foldername", "str", "Event name"),
    ("status", "str", "Permit status, e.g. `Approved`, `Cancelled`"),
    ("tier_type", "str", "Event tier (a number)"),
    ("event_applicant_organization", "str", "Organisation that applied for the permit"),
    ("start_date", "str", f"First event day, e.g. {_ACE_DATE}"),
    ("end_date", "str", "Last event day, in the same layouts as start_date"),
    ("event_setup", "str", "Setup start date (not used downstream)"),
    ("event_teardown", "str", "Teardown date (not used downstream)"),
    ("event_length", "str", "Event length in days as stated (not used: see event_length_days)"),
    ("alcohol_served", "str", "Whether alcohol is served (`Yes` / `No`)"),
    ("amplified_sound", "str", "Whether amplified sound is used (`Yes` / `No`)"),
    (
        "road_closure",
        "str",
        "Street segment this row closes, e.g. `Aldrich St from 10th St to Lamar Blvd`",
    ),
    (
        "type_of_road_closure",
        "str",
        "Closure kind, e.g. `Full Road Closure`, `Partial Lane Closure`",
    ),
    ("gpslatitude", "str", "Latitude of this row's point (decimal degrees)"),
    ("gpslongitude", "str", "Longitude of this row's point (decimal degrees)"),
)

# One row per permit: cleaned_events and dim_event; the event columns of the links and risk.
EVENTS = _columns(
    (
        "event_id",
        "int64",
        "ACE permit number (FOLDERRSN); rows without a positive integer one are quarantined",
    ),
    ("event_name", "str", "Event name: the permit's first non-blank FOLDERNAME"),
    ("event_type", "str", "Permit folder type (FOLDERTYPE, e.g. `SE`): first non-blank"),
    ("status", "str", "Permit status, e.g. `Approved`, `Cancelled`: first non-blank"),
    ("tier", "Int64", "Event tier (TIER_TYPE): the first integer one; NULL when there is none"),
    ("organizer", "str", "Applicant organisation: first non-blank"),
    (
        "start_date",
        "datetime64[ns]",
        "First event day (earliest START_DATE, a date); NULL when no row's date parses and lies "
        "between 1990 and five years ahead",
    ),
    (
        "end_date",
        "datetime64[ns]",
        "Last event day (latest END_DATE, a date); NULL when no row's date parses and lies "
        "between 1990 and five years ahead",
    ),
    (
        "event_length_days",
        "Int64",
        "Days from start_date to end_date, both included; NULL when a date is missing or the end "
        "is before the start",
    ),
    ("event_year", "Int64", "Year of start_date; NULL without a start_date"),
    ("event_month", "Int64", "Month 1..12 of start_date; NULL without a start_date"),
    ("has_alcohol", "bool", "The event serves alcohol: a permit row says yes (blank counts as no)"),
    ("alcohol_unknown", "bool", "No permit row says yes or no to alcohol"),
    (
        "has_amplified_sound",
        "bool",
        "The event uses amplified sound: a permit row says yes (blank counts as no)",
    ),
    ("amplified_sound_unknown", "bool", "No permit row says yes or no to amplified sound"),
    ("has_road_closure", "bool", "A permit row names a closed street segment"),
    ("has_full_road_closure", "bool", "A permit row's closure type contains `Full Road`"),
    ("closure_segments", "int64", "Rows of the permit in the export (one per closure segment)"),
    (
        "event_lat",
        "float64",
        "Median latitude of the permit's valid GPS points (inside the configured counties); NULL "
        "when none",
    ),
    (
        "event_lon",
        "float64",
        "Median longitude of the permit's valid GPS points (inside the configured counties); NULL "
        "when none",
    ),
    (
        "has_valid_location",
        "bool",
        "At least one permit row has a GPS point inside the configured counties (their extents "
        "plus 0.05°)",
    ),
    ("expected_attendance", "Int64", "Not delivered by ACE: always NULL"),
)

# --- TIGER/Line block groups (raw_block_groups; dim_geo takes the shared ones) ------------------

RAW_BLOCK_GROUPS = _columns(
    ("STATEFP", "str", "State FIPS code (`48` = Texas)"),
    ("COUNTYFP", "str", "County FIPS code, 3 digits (453 Travis, 209 Hays, 491 Williamson)"),
    ("TRACTCE", "str", "Census tract code, 6 digits (from the GEOID when the file lacks it)"),
    ("BLKGRPCE", "str", "Block group number within the tract (from the GEOID when absent)"),
    (
        "GEOID",
        "str",
        "12-digit block-group GEOID = state + county + tract + block group (APD's Geo ID)",
    ),
    ("NAMELSAD", "str", "Name, e.g. `Block Group 2` (made from BLKGRPCE when absent)"),
    ("MTFCC", "str", "MAF/TIGER feature class code (`G5030`); NULL when the file lacks it"),
    ("FUNCSTAT", "str", "Functional status code (`S` = statistical); NULL when absent"),
    ("ALAND", "int64", "Land area, m²"),
    ("AWATER", "int64", "Water area, m² (0 when the file lacks it)"),
    ("INTPTLAT", "str", "Census internal point latitude, text as in the file (`+30.3003039`)"),
    ("INTPTLON", "str", "Census internal point longitude, text as in the file (`-097.7429433`)"),
    ("geometry", "geometry", "Block-group boundary, MultiPolygon in EPSG:4269 (NAD83)"),
)

# --- per-month aggregates (what the models read) -------------------------------------------------

_ITEM = "; NULL when unknown (the call then has no such item)"
RULE_TRANSACTIONS = _columns(
    (
        "time",
        "str",
        "Time-of-day item: `Time_Night` (<6), `Time_Morning`, `Time_Afternoon`, "
        f"`Time_Evening` (≥18){_ITEM}",
    ),
    ("week", "str", f"`Weekday` or `Weekend`{_ITEM}"),
    ("priority", "str", f"`Priority_0`..`Priority_3`{_ITEM}"),
    ("incident", "str", f"`Incident_<first word of final_problem_category>`{_ITEM}"),
    ("festival", "bool", "Linked to a permitted event (fact_event_incidents)"),
    ("alcohol", "bool", "Linked to an event that serves alcohol"),
    (
        "calls",
        "int64",
        "Calls of the month with exactly these items (all calls counted, also "
        "those with fewer than 2 items, which mining leaves out)",
    ),
)
CALLS_BY_DAY = _columns(
    ("date", "datetime64[ns]", "Local calendar date (response_date) with at least one call"),
    ("calls", "int64", "Calls that day"),
)
BLOCK_GROUP_CALL_SUMS = _columns(
    ("geo_id", "str", "Block group (dim_geo GEOID) with at least one located call that month"),
    ("latitude", "float64", "Census internal point latitude of the block group (degrees)"),
    ("longitude", "float64", "Census internal point longitude of the block group (degrees)"),
    ("calls", "int64", "Located calls of the month in the block group"),
    ("priority_sum", "float64", "Sum of the known priorities 0..3 of those calls"),
    ("priority_calls", "int64", "Calls with a known priority 0..3"),
    ("response_time_sum", "float64", "Sum of the known response times, seconds"),
    ("response_time_calls", "int64", "Calls with a known response time"),
    ("hour_sum", "float64", "Sum of the local response hours"),
    ("hour_calls", "int64", "Calls with a known response hour"),
)
HOT_SPOT_CALL_COUNTS = _columns(
    ("geo_id", "str", "Matched block group (enriched dim_geo_id); NULL when unmatched"),
    ("category", "str", "final_problem_category; `Unknown` when blank"),
    (
        "hour_band",
        "Int64",
        "First local hour of the 6-hour band (0, 6, 12, 18); NULL when the hour is unknown",
    ),
    ("is_weekend", "boolean", "The calls fall on a Saturday or Sunday; NULL when unknown"),
    ("calls", "int64", "Calls of the month in this block group, category, band and day type"),
)
CALLS_BY_BLOCK_GROUP_HOUR = _columns(
    ("geo_id", "str", "Matched block group (enriched dim_geo_id); NULL when unmatched"),
    ("date", "datetime64[ns]", "Local calendar date of the calls (response_date)"),
    ("hour", "int64", "Local hour 0..23 of the calls (response_hour)"),
    ("priority_numeric", "Int64", "Priority of the calls as delivered; NULL when unknown"),
    ("final_problem_category", "str", "final_problem_category of the calls; NULL when blank"),
    ("calls", "int64", "Calls of the month with exactly these values"),
    ("unit_time_on_scene_sum", "float64", "Sum of the known unit times on scene, seconds"),
    ("unit_time_on_scene_calls", "int64", "Calls with a known unit time on scene"),
    ("number_of_units_arrived_sum", "float64", "Sum of the known numbers of units arrived"),
    ("number_of_units_arrived_calls", "int64", "Calls with a known number of units arrived"),
)
BASELINE_CALL_COUNTS = _columns(
    ("geo_id", "str", "Matched block group (enriched dim_geo_id)"),
    ("day_of_week_index", "int64", "Weekday of the calls, 0 = Monday .. 6 = Sunday"),
    *(
        (
            f"hour_{hour:02d}",
            "int32",
            f"Located calls of the month in local hour {hour} on "
            "this weekday's days without an event at the block group",
        )
        for hour in range(24)
    ),
)
EVENT_DAY_CALL_CELLS = CALLS_BY_BLOCK_GROUP_HOUR
# The same keys and measures as the cells, summed over every block group, date and hour.
CALLS_BY_PRIORITY_CATEGORY = {
    **{k: CALLS_BY_BLOCK_GROUP_HOUR[k] for k in ("priority_numeric", "final_problem_category")},
    "calls": ColumnDoc("int64", "Calls of the month with this priority and category"),
    **{k: v for k, v in CALLS_BY_BLOCK_GROUP_HOUR.items() if k.endswith(("_sum", "_calls"))},
}

# --- models -------------------------------------------------------------------------------------

RULES = _columns(
    (
        "antecedents",
        "str",
        "Left-hand items, sorted and comma-joined, e.g. `Time_Night, Weekend`",
    ),
    ("consequents", "str", "Right-hand items, sorted and comma-joined, e.g. `Priority_2`"),
    ("antecedent_len", "int64", "Number of antecedent items"),
    ("consequent_len", "int64", "Number of consequent items"),
    (
        "support",
        "float64",
        "Share of transactions (calls with at least 2 items) holding all of the rule's items",
    ),
    ("confidence", "float64", "support(rule) / support(antecedents)"),
    ("lift", "float64", "confidence / support(consequents); above 1 = more often than chance"),
    ("leverage", "float64", "support(rule) − support(antecedents) · support(consequents)"),
    (
        "conviction",
        "float64",
        "(1 − support(consequents)) / (1 − confidence); NULL where infinite (confidence 1)",
    ),
    ("zhangs_metric", "float64", "Zhang's metric, −1 (dissociation) .. 1 (association)"),
    ("jaccard", "float64", "support(rule) / support(antecedents or consequents)"),
    ("certainty", "float64", "Certainty factor, −1 .. 1"),
    ("kulczynski", "float64", "Mean of the confidences in both directions"),
    ("is_incident_rule", "bool", "A consequent is an `Incident_…` (final category) item"),
    (
        "rank",
        "int64",
        "1 = highest lift (ties: higher confidence, higher support, then rule text)",
    ),
)

# zone_clusters; zone_risk_scores is a subset of these columns.
ZONES = _columns(
    ("geo_id", "str", "Block group (dim_geo GEOID) with at least one located call"),
    ("latitude", "float64", "Census internal point latitude of the block group (degrees)"),
    ("longitude", "float64", "Census internal point longitude of the block group (degrees)"),
    ("incident_count", "int64", "Calls located in the block group"),
    (
        "avg_priority",
        "float64",
        "Mean priority (0..3) of its calls with a known one; NULL when none is known",
    ),
    (
        "avg_response_time",
        "float64",
        "Mean response_time of its calls, seconds; NULL when none is known",
    ),
    ("avg_hour", "float64", "Mean local response hour of its calls"),
    ("log_incidents", "float64", "ln(1 + incident_count)"),
    (
        "location_risk",
        "float64",
        "Weighted sum of log call volume, urgency (4 − avg_priority) and response time in "
        "10-minute units; a NULL average replaced by the mean over all located calls",
    ),
    ("cluster_id", "int64", "KMeans cluster; 0 is the cluster with the highest mean location_risk"),
    (
        "risk_zone",
        "str",
        "Tertile of the cluster's mean location_risk among all clusters: `HIGH_RISK` (top), "
        "`MEDIUM_RISK` (middle) or `LOW_RISK` (bottom)",
    ),
)

FORECAST = _columns(
    ("date", "datetime64[ns]", "Day the row is about (a date)"),
    (
        "kind",
        "str",
        "`backtest` (a day of the test window) or `forecast` (a day after the latest call)",
    ),
    ("actual_calls", "float64", "Calls observed that day; NULL for forecast rows"),
    ("predicted_calls", "float64", "Predicted calls that day (recursive forecast, at least 0)"),
    (
        "baseline_calls",
        "float64",
        "Seasonal-naive baseline: the calls 7 days earlier (beyond the data, the last observed "
        "week repeats)",
    ),
    ("model", "str", "`ridge`, `gradient_boosting` or `historical_mean` (the fallback)"),
    (
        "is_fallback",
        "bool",
        "Too little data to fit a model: predicted_calls is the flat historical mean",
    ),
)

# event_impact_model: one row per historical event-day; the model itself is in the summary.
EVENT_IMPACT = _columns(
    ("event_id", "int64", EVENTS["event_id"].description),
    ("event_name", "str", EVENTS["event_name"].description),
    ("date", "datetime64[ns]", "The event-day (a date within the event's dates and the history)"),
    ("tier", "int64", "Event tier (event-days of events without one are left out)"),
    ("has_alcohol", "bool", EVENTS["has_alcohol"].description),
    ("has_amplified_sound", "bool", EVENTS["has_amplified_sound"].description),
    ("has_road_closure", "bool", EVENTS["has_road_closure"].description),
    ("expected_attendance", "Int64", EVENTS["expected_attendance"].description),
    ("linked_calls", "int64", "Calls linked to the event that day (fact_event_incidents)"),
    (
        "baseline_calls",
        "float64",
        "Calls expected that weekday without an event: call_baseline_rates summed over the block "
        "groups within the link radius and all 24 hours (> 0: event-days without are left out)",
    ),
    ("uplift", "float64", "linked_calls − baseline_calls"),
    (
        "predicted_calls",
        "float64",
        "The served model's prediction for the event-day (what the planner returns for it)",
    ),
    (
        "naive_predicted_calls",
        "float64",
        "Naive model: baseline_calls + the mean uplift of the tier's training event-days "
        "(all event-days without a backtest), at least 0",
    ),
    (
        "backtest_predicted_calls",
        "float64",
        "Backtest rows: the prediction of the model fitted on the training rows only; NULL on "
        "training rows",
    ),
    (
        "split",
        "str",
        "`train` (the earliest ~80 % of event-days, whole dates) or `backtest` (the rest)",
    ),
)

# --- the daily report (JSON): its top-level keys and their JSON types ---------------------------

REPORT_KEYS = _columns(
    (
        "report_metadata",
        "object",
        "pipeline, version, run_id, job_name, generated_at, report_date, city (its title, "
        "e.g. `Austin, Texas`), city_name (SAFEBEAT_CITY's value), status "
        "(`SUCCESS` / `PARTIAL` / `FAILED`), skipped_or_failed (parts not built) and message "
        "(why the run failed; null otherwise)",
    ),
    (
        "parts",
        "array",
        "Each pipeline part: part, assets, state (`built` / `skipped` / `failed` / `missing`), "
        "summary, reason, check, measured, threshold, error, last_built; in a FAILED report, the "
        "failed steps",
    ),
    (
        "failures",
        "array",
        "Why the status is not SUCCESS: kind (`part` / `check`), name, assets, state, message; "
        "a failed pre-check already named by the part it skipped is not repeated",
    ),
    (
        "data_processing",
        "object",
        "calls_processed, calls_quarantined, geo_match_rate (0..1), events_tracked, events_linked, "
        "events_source (`landing`, or `none` for a city without a permit feed) and events_note "
        "(what the event sections say instead of a table when there is no feed)",
    ),
    (
        "database_stats",
        "object",
        "calls_in_warehouse, calls_on_latest_date, latest_data_date, events, risk_scores",
    ),
    (
        "ml_models",
        "object",
        "Summary of the models: rule, zone and scored-event counts, silhouette, forecast model, "
        "MAE, skill vs baseline, R², risk distribution",
    ),
    ("top_rules", "array", "The 10 best-ranked association rules"),
    ("forecast", "array", "Forecast days: date, weekday, predicted_calls, baseline_calls, model"),
    ("top_risky_events", "array", "The 10 events with the highest risk_score"),
    ("alerts", "array", "Alerts that fired: severity, type, message, action_required"),
    ("checks", "array", "Asset check results: name, asset, passed, severity, description, …"),
    ("outputs_generated", "array", "Report files written, relative to the reports bucket"),
)

# The stored value of raw_911_calls: which landing files make up the export, by month. The
# rows themselves are in immutable per-file fragments (RAW_CALL_COLUMNS + PROVENANCE).
RAW_CALLS_MANIFEST = _columns(
    ("source_file", "str", "Name of a landing file of the export (no folder)"),
    ("source_sha256", "str", "SHA-256 (hex) of that file's bytes: its fragments' folder"),
    (
        "month",
        "str",
        "Month the rows are dated in (`YYYY-MM-01`, from the response datetime text), or "
        "`unreadable`",
    ),
    ("rows", "int64", "Rows of that file dated in that month"),
    ("fingerprint", "str", "Content hash of those rows in file order (provenance excluded)"),
    (
        "parts",
        "str",
        "Comma-separated fragment objects holding the rows: the raw call columns as text plus "
        "source_file, source_sha256, source_row",
    ),
)

# --- per asset ----------------------------------------------------------------------------------

_RAW_PROVENANCE = {k: PROVENANCE[k] for k in ("source_file", "source_sha256")}

CONTRACTS: dict[str, dict[str, ColumnDoc]] = {
    names.RAW_CALLS: RAW_CALLS_MANIFEST,
    names.RAW_EVENTS: {**RAW_EVENTS, **PROVENANCE},
    names.RAW_BLOCK_GROUPS: {**RAW_BLOCK_GROUPS, **_RAW_PROVENANCE},
    names.CLEANED_CALLS: CALLS,
    names.QUARANTINED_CALLS: {**RAW_CALL_COLUMNS, **PROVENANCE, **QUARANTINE},
    names.CLEANED_EVENTS: EVENTS,
    names.ENRICHED_CALLS: {**CALLS, **ENRICHMENT},
    names.RULE_TRANSACTIONS: RULE_TRANSACTIONS,
    names.CALLS_BY_DAY: CALLS_BY_DAY,
    names.BLOCK_GROUP_CALL_SUMS: BLOCK_GROUP_CALL_SUMS,
    names.HOT_SPOT_CALL_COUNTS: HOT_SPOT_CALL_COUNTS,
    names.CALLS_BY_BLOCK_GROUP_HOUR: CALLS_BY_BLOCK_GROUP_HOUR,
    names.BASELINE_CALL_COUNTS: BASELINE_CALL_COUNTS,
    names.EVENT_DAY_CALL_CELLS: EVENT_DAY_CALL_CELLS,
    names.CALLS_BY_PRIORITY_CATEGORY: CALLS_BY_PRIORITY_CATEGORY,
    names.ASSOCIATION_RULES: RULES,
    names.ZONE_CLUSTERS: ZONES,
    names.CALL_FORECAST: FORECAST,
    names.EVENT_IMPACT_MODEL: EVENT_IMPACT,
    names.DAILY_REPORT: REPORT_KEYS,
}

# The texts storage/tables.py reuses for the warehouse columns that mean the same.
CALL_DESCRIPTIONS = _texts(CALLS)
ENRICHMENT_DESCRIPTIONS = _texts(ENRICHMENT)
EVENT_DESCRIPTIONS = _texts(EVENTS)
BLOCK_GROUP_DESCRIPTIONS = _texts(RAW_BLOCK_GROUPS)
ZONE_DESCRIPTIONS = _texts(ZONES)


def column_descriptions(asset_name: str) -> dict[str, str]:
    """Column name -> description for any SafeBeat asset; {} for an unknown one."""
    if asset_name in CONTRACTS:
        return _texts(CONTRACTS[asset_name])
    # Deferred: tables.py imports this module (and pyarrow); only warehouse names need it.
    from safebeat_assets.storage.tables import TABLES

    spec = TABLES.get(asset_name)
    if spec is None:
        return {}
    texts = {column.name: column.description for column in spec.columns}
    texts.update({geometry.name: geometry.description for geometry in spec.geometry})
    return texts


# --- docs/data-contracts.md -------------------------------------------------------------------

_BLOCK = re.compile(
    r"(?P<begin><!-- BEGIN columns (?P<name>\w+) -->\n)(?P<body>.*?)(?P<end><!-- END columns "
    r"(?P=name) -->)",
    re.DOTALL,
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _lake_markdown(name: str) -> list[str]:
    kind = "JSON type" if name == "daily_report" else "pandas dtype"
    first = "key" if name == "daily_report" else "column"
    rows = [(f"`{c}`", doc.dtype, doc.description) for c, doc in CONTRACTS[name].items()]
    return _table((first, kind, "description"), rows)


def _warehouse_markdown(spec: TableSpec) -> list[str]:
    facts = [f"Primary key ({', '.join(spec.primary_key)})"]
    for fk in spec.foreign_keys:
        facts.append(
            f"foreign key ({', '.join(fk.columns)}) -> {fk.ref_table} "
            f"({', '.join(fk.ref_columns)}) ON DELETE {fk.on_delete}"
        )
    if spec.partition_column:
        facts.append(f"monthly partitions by {spec.partition_column}")
    rows = [
        (f"`{c.name}`", c.pg_type if c.nullable else f"{c.pg_type} NOT NULL", c.description)
        for c in spec.columns
    ]
    rows += [
        (
            f"`{g.name}`",
            f"geometry({g.geometry_type}, 4326), generated, PostGIS only",
            g.description,
        )
        for g in spec.geometry
    ]
    return ["; ".join(facts) + ".", "", *_table(("column", "Postgres type", "description"), rows)]


def columns_markdown(asset_name: str) -> str:
    """The generated column table of one asset, as it appears in docs/data-contracts.md."""
    if asset_name in CONTRACTS:
        lines = _lake_markdown(asset_name)
    else:
        from safebeat_assets.storage.tables import TABLES

        if asset_name not in TABLES:
            raise KeyError(f"no column contract for asset {asset_name!r}")
        lines = _warehouse_markdown(TABLES[asset_name])
    return "\n".join(lines) + "\n"


def documented_assets() -> list[str]:
    """Every asset whose columns the doc must show: the lake ones here, then the warehouse."""
    from safebeat_assets.storage.tables import TABLES

    return [*CONTRACTS, *TABLES]


def render_docs(text: str) -> str:
    """`text` (the doc) with every generated column block rewritten from the code.

    Raises ValueError when an asset has no block, a block names an unknown asset or appears
    twice: the doc must show every asset exactly once."""
    expected = documented_assets()
    found = [m.group("name") for m in _BLOCK.finditer(text)]
    problems = []
    if missing := [n for n in expected if n not in found]:
        problems.append(f"no column block for {missing}")
    if unknown := sorted(set(found) - set(expected)):
        problems.append(f"column blocks for unknown assets {unknown}")
    if repeated := sorted({n for n in found if found.count(n) > 1}):
        problems.append(f"column blocks repeated for {repeated}")
    if problems:
        raise ValueError("docs/data-contracts.md: " + "; ".join(problems))
    return _BLOCK.sub(
        lambda m: m.group("begin") + columns_markdown(m.group("name")) + m.group("end"), text
    )


def main(argv: Sequence[str] | None = None) -> int:
    import argparse  # only the command line needs it

    parser = argparse.ArgumentParser(
        prog="python -m safebeat_assets.contracts",
        description="Generate the column tables of docs/data-contracts.md from the code.",
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write-docs", action="store_true", help="rewrite the doc's tables")
    action.add_argument("--check", action="store_true", help="exit 1 if the doc is outdated")
    parser.add_argument("--doc", type=Path, default=DOC_PATH, help="path of the contracts doc")
    args = parser.parse_args(argv)
    current = args.doc.read_text(encoding="utf-8")
    rendered = render_docs(current)
    if args.check:
        if rendered != current:
            print(f"{args.doc} is out of date; run: {DOC_COMMAND}", file=sys.stderr)
            return 1
        return 0
    if rendered != current:
        args.doc.write_text(rendered, encoding="utf-8")
        print(f"rewrote the column tables of {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Synthetic APD 911 calls for service (`e687-fx2y` 25-column content, all text).

Fully vectorised: every attribute is drawn for all calls at once from the value sets in
``vocabulary``; joint shapes (category x time of day, category x priority, category x
disposition) are fitted with iterative proportional fitting so the documented marginals hold.
Calls rise in block groups near a running event (see ``EVENT_RADIUS_KM``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .events import event_schedule
from .formatting import day_names, format_apd_datetimes, format_ints, format_thousands, pick
from .geography import haversine_km
from .locations import block_group_profile, unmatched_geo_ids, unmatched_hosts
from .sampling import (
    STREAM_CALLS,
    choice_by_group,
    conditional_rows,
    ipf,
    normalized,
    rng_for,
    segment_choice,
)
from .temporal import (
    daily_weights,
    day_range,
    epoch_seconds,
    hour_probabilities,
    spring_forward_days,
    time_of_day_bucket,
)
from .vocabulary import (
    AIRPORT_DESCRIPTION_SHARE,
    AIRPORT_DESCRIPTIONS,
    CALLS_HEADER_25,
    CATEGORIES,
    CATEGORY_TABLE,
    DESCRIPTIONS,
    DISPOSITION_AFFINITY,
    DISPOSITION_SHARES,
    EVENT_ALCOHOL_CATEGORY_AFFINITY,
    EVENT_CATEGORY_AFFINITY,
    EVENT_HOUR_WEIGHTS,
    EVENT_HOUR_WEIGHTS_ALCOHOL,
    INCIDENT_TYPE,
    MASS_INCIDENT_SHARE,
    MENTAL_HEALTH_NO,
    MENTAL_HEALTH_SHARE,
    MENTAL_HEALTH_YES,
    MH_DISPOSITIONS,
    PRIORITIES,
    PRIORITY_SHARES,
    REPORT_DISPOSITIONS,
    RESPONSE_TIME_LOGNORMAL,
    RESPONSE_TIME_MAX,
    SCENE_TIME_MEDIAN,
    SCENE_TIME_SIGMA,
    SHARE_OF_CALLS_KEEPING_INITIAL_CATEGORY,
    UNITS_WEIGHTS,
)

EVENT_RADIUS_KM = 1.5
EVENT_BOOST_RANGE = (0.15, 0.30)  # relative rise of calls near a running event
EVENT_BOOST_ALCOHOL = 0.10
EVENT_BOOST_TIER4 = 0.08

BLANK_GEO_SHARE = 0.010
UNMATCHED_GEO_SHARE = 0.003
FLOAT_GEO_SHARE = 5e-5
YES_NO_REPORT_SHARE_OF_RANGE = 0.06  # the oldest calls carry Yes/No instead of 1/0
DUPLICATE_NUMBER_SHARE = 3e-5  # different calls sharing an incident number
EXACT_DUPLICATE_SHARE = 1.5e-5
ORDER_VIOLATION_SHARE = 1e-4  # first unit "arrived" before the call started

ARRIVAL_LAG_MEDIAN = 57.0  # response time starts ~1 min before the entry screen opens
ARRIVAL_LAG_SIGMA = 0.78
ARRIVAL_LAG_ZERO_SHARE = 0.06


@dataclass(frozen=True)
class _Vocab:
    """Index tables derived once from the vocabulary."""

    descriptions: tuple[str, ...]
    desc_initial: np.ndarray  # (n_categories, n_descriptions) P(description | category)
    desc_final: np.ndarray
    desc_airport: np.ndarray
    airport_categories: np.ndarray  # bool per category


def _vocab() -> _Vocab:
    names: list[str] = []
    for cat in CATEGORIES:
        names += [d for d, _, _ in DESCRIPTIONS[cat]]
    for cat in AIRPORT_DESCRIPTIONS:
        names += [d for d, _ in AIRPORT_DESCRIPTIONS[cat]]
    index = {d: i for i, d in enumerate(names)}
    k, m = len(CATEGORIES), len(names)
    di, df, da = np.zeros((k, m)), np.zeros((k, m)), np.zeros((k, m))
    airport = np.zeros(k, dtype=bool)
    for c, cat in enumerate(CATEGORIES):
        for d, wi, wf in DESCRIPTIONS[cat]:
            di[c, index[d]] = wi
            df[c, index[d]] = wf
        if cat in AIRPORT_DESCRIPTIONS:
            airport[c] = True
            for d, w in AIRPORT_DESCRIPTIONS[cat]:
                da[c, index[d]] = w
        else:
            da[c] = di[c]
    return _Vocab(
        tuple(names), conditional_rows(di), conditional_rows(df), conditional_rows(da), airport
    )


def _category_arrays() -> dict[str, np.ndarray]:
    rows = [CATEGORY_TABLE[c] for c in CATEGORIES]
    return {
        "initial": normalized([r[0] for r in rows]),
        "final": normalized([r[1] for r in rows]),
        "tod": np.array([r[2] for r in rows], dtype=float),
        "priority": np.array([r[3] for r in rows], dtype=float),
        "mh": np.array([r[4] for r in rows], dtype=float),
        "scene": np.array([r[5] for r in rows], dtype=float),
    }


# ----------------------------------------------------------------------------------------------
# event boost
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _EventPairs:
    day: np.ndarray  # day index of each (event, day) pair
    event: np.ndarray  # event row of each pair
    expected: np.ndarray  # expected extra calls per pair, relative to one base call share
    alcohol: np.ndarray  # per event
    offsets: np.ndarray  # CSR offsets of near block groups per event
    near_bg: np.ndarray  # block-group index, concatenated per event
    near_weight: np.ndarray  # sampling weight of each near block group


def _event_pairs(
    schedule: pd.DataFrame,
    days: pd.DatetimeIndex,
    p_day: np.ndarray,
    profile: pd.DataFrame,
    rng: np.random.Generator,
) -> _EventPairs:
    empty = np.zeros(0, dtype=np.int64)
    none = _EventPairs(
        empty, empty, np.zeros(0), np.zeros(0, bool), np.zeros(1, np.int64), empty, np.zeros(0)
    )
    if len(schedule) == 0:
        return none
    first, last = days[0], days[-1]
    sched = schedule[(schedule["end_date"] >= first) & (schedule["start_date"] <= last)]
    if len(sched) == 0:
        return none
    lat, lon = profile["lat"].to_numpy(), profile["lon"].to_numpy()
    weight = profile["weight"].to_numpy()
    dist = haversine_km(
        sched["lat"].to_numpy()[:, None],
        sched["lon"].to_numpy()[:, None],
        lat[None, :],
        lon[None, :],
    )
    near = (dist <= EVENT_RADIUS_KM) & (weight[None, :] > 0)
    w_share = (near * weight[None, :]).sum(axis=1)  # share of base calls near each event
    alcohol = sched["has_alcohol"].to_numpy(dtype=bool)
    boost = (
        rng.uniform(*EVENT_BOOST_RANGE, size=len(sched))
        + EVENT_BOOST_ALCOHOL * alcohol
        + EVENT_BOOST_TIER4 * (sched["tier"].to_numpy() >= 4)
    )
    d0 = np.clip((sched["start_date"] - first).dt.days.to_numpy(), 0, len(days) - 1)
    d1 = np.clip((sched["end_date"] - first).dt.days.to_numpy(), 0, len(days) - 1)
    n_days = d1 - d0 + 1
    event = np.repeat(np.arange(len(sched)), n_days)
    starts = np.repeat(np.cumsum(n_days) - n_days, n_days)
    day = d0[event] + (np.arange(event.shape[0]) - starts)
    expected = boost[event] * w_share[event] * p_day[day]
    ev_idx, bg_idx = np.nonzero(near)
    decay = 1.0 - 0.5 * dist[ev_idx, bg_idx] / EVENT_RADIUS_KM
    offsets = np.concatenate([[0], np.cumsum(near.sum(axis=1))]).astype(np.int64)
    return _EventPairs(day, event, expected, alcohol, offsets, bg_idx, weight[bg_idx] * decay)


# ----------------------------------------------------------------------------------------------
# main generator
# ----------------------------------------------------------------------------------------------
def generate_calls(
    n: int,
    block_groups: pd.DataFrame,
    events: pd.DataFrame | None = None,
    seed: int = 42,
    start: str = "2023-01-01",
    end: str = "2025-12-31",
) -> pd.DataFrame:
    """``n`` calls between start and end (inclusive), sorted by Response Datetime.

    Returns the 25 APD columns (``vocabulary.CALLS_HEADER_25``) as text exactly as they are
    written to CSV (blank cells are ""). ``events`` is the ACE text table from
    ``generate_events`` (or None for no event effect).
    """
    if n < 1:
        raise ValueError("n must be >= 1")
    rng = rng_for(seed, STREAM_CALLS)
    days = day_range(start, end)
    profile = block_group_profile(block_groups, seed)
    p_day = daily_weights(days, rng)

    n_exact = int(round(n * EXACT_DUPLICATE_SHARE))
    n_exact = max(n_exact, 2 if n >= 1_000 else 0)
    n_unique = n - n_exact

    pairs = _event_pairs(event_schedule(events), days, p_day, profile, rng)
    extra_share = float(pairs.expected.sum())
    n_extra = int(round(n_unique * extra_share / (1.0 + extra_share)))
    n_base = n_unique - n_extra

    # --- when and where ---------------------------------------------------------------------
    day_counts = rng.multinomial(n_base, p_day)
    day_idx = np.repeat(np.arange(len(days)), day_counts)
    is_weekend = days.dayofweek.to_numpy()[day_idx] >= 5
    hour = choice_by_group(rng, is_weekend.astype(np.int64), hour_probabilities())
    bg = rng.choice(len(profile), size=n_base, p=profile["weight"].to_numpy())
    kind = np.zeros(n_base, dtype=np.int64)  # 0 base, 1 event, 2 alcohol event

    if n_extra > 0:
        pair_counts = rng.multinomial(n_extra, normalized(pairs.expected))
        pair_of_row = np.repeat(np.arange(pair_counts.shape[0]), pair_counts)
        ev_of_row = pairs.event[pair_of_row]
        alcohol = pairs.alcohol[ev_of_row]
        ev_hours = np.vstack(
            [normalized(EVENT_HOUR_WEIGHTS), normalized(EVENT_HOUR_WEIGHTS_ALCOHOL)]
        )
        pos = segment_choice(rng, ev_of_row, pairs.offsets, pairs.near_weight)
        day_idx = np.concatenate([day_idx, pairs.day[pair_of_row]])
        hour = np.concatenate([hour, choice_by_group(rng, alcohol.astype(np.int64), ev_hours)])
        bg = np.concatenate([bg, pairs.near_bg[pos]])
        kind = np.concatenate([kind, 1 + alcohol.astype(np.int64)])

    spring = spring_forward_days(days)[day_idx] & (hour == 2)
    hour = np.where(spring, 3, hour)
    t0 = epoch_seconds(days)[day_idx] + hour * 3600 + rng.integers(0, 3600, size=n_unique)
    order = np.argsort(t0, kind="stable")
    t0, hour, bg, kind, day_idx = t0[order], hour[order], bg[order], kind[order], day_idx[order]

    # --- where: geo id text (unmatched ids stand for a fixed host block group) ---------------
    unmatched = unmatched_geo_ids(block_groups, seed)
    geo_table, cbg_table = _geo_tables(profile, unmatched)
    geo_code, bg = _geo_codes(rng, bg, profile, unmatched)

    # --- what ---------------------------------------------------------------------------------
    cats = _category_arrays()
    voc = _vocab()
    bucket = time_of_day_bucket(hour)
    bucket_share = np.bincount(bucket, minlength=4) + 1.0
    joint = ipf(cats["tod"], cats["initial"], bucket_share)  # (category, bucket)
    p_cat_given_bucket = conditional_rows(joint.T)  # (bucket, category)
    ev_aff = np.array([EVENT_CATEGORY_AFFINITY.get(c, 1.0) for c in CATEGORIES])
    alc_aff = ev_aff * np.array([EVENT_ALCOHOL_CATEGORY_AFFINITY.get(c, 1.0) for c in CATEGORIES])
    cat_probs = np.vstack(
        [
            p_cat_given_bucket,
            conditional_rows(p_cat_given_bucket * ev_aff[None, :]),
            conditional_rows(p_cat_given_bucket * alc_aff[None, :]),
        ]
    )
    init_cat = choice_by_group(rng, kind * 4 + bucket, cat_probs)

    keep = SHARE_OF_CALLS_KEEPING_INITIAL_CATEGORY
    reclass = np.clip((cats["final"] - keep * cats["initial"]) / (1 - keep), 0, None) + 1e-7
    final_cat = np.where(
        rng.random(n_unique) < keep,
        init_cat,
        rng.choice(len(CATEGORIES), size=n_unique, p=normalized(reclass)),
    )

    sector = profile["sector"].to_numpy()[bg]
    airport = sector == "Airport"
    init_desc = _descriptions(rng, init_cat, voc.desc_initial, voc, airport)
    redraw = _descriptions(rng, final_cat, voc.desc_final, voc, airport)
    same = (final_cat == init_cat) & (rng.random(n_unique) < 0.65)
    final_desc = np.where(same, init_desc, redraw)

    # priority | final category
    prio_joint = ipf(cats["priority"], cats["final"], np.asarray(PRIORITY_SHARES))
    priority = choice_by_group(rng, final_cat, conditional_rows(prio_joint))

    # mental health | final category
    mh_aff = cats["mh"][final_cat]
    scale = MENTAL_HEALTH_SHARE / max(float(mh_aff.mean()), 1e-9)
    mh = rng.random(n_unique) < np.clip(mh_aff * scale, 0, 0.85)

    # disposition | final category (+ MH variants)
    disp_names = list(DISPOSITION_SHARES)
    disp_aff = np.ones((len(CATEGORIES), len(disp_names)))
    for c, cat in enumerate(CATEGORIES):
        for d, f in DISPOSITION_AFFINITY.get(cat, {}).items():
            disp_aff[c, disp_names.index(d)] = f
    false_alarm = disp_names.index("False Alarm")
    not_alarm = np.array([c != "Alarms" for c in CATEGORIES])
    disp_aff[not_alarm, false_alarm] *= 0.01
    observed_final = np.bincount(final_cat, minlength=len(CATEGORIES)) + 1e-3
    disp_joint = ipf(disp_aff, observed_final, np.array(list(DISPOSITION_SHARES.values())))
    disp = choice_by_group(rng, final_cat, conditional_rows(disp_joint))
    disp_table = disp_names + [v[0] for v in MH_DISPOSITIONS.values()]
    for k, (src, (_, share)) in enumerate(MH_DISPOSITIONS.items()):
        convert = mh & (disp == disp_names.index(src)) & (rng.random(n_unique) < share)
        disp = np.where(convert, len(disp_names) + k, disp)
    report = np.isin(disp, [i for i, d in enumerate(disp_table) if d in REPORT_DISPOSITIONS])

    # --- how long -----------------------------------------------------------------------------
    units_p = np.array([normalized(UNITS_WEIGHTS[p]) for p in range(4)])
    units = choice_by_group(rng, priority, units_p) + 1
    mass = rng.random(n_unique) < MASS_INCIDENT_SHARE
    units = np.where(mass, rng.integers(13, 102, size=n_unique), units)

    med = np.array([RESPONSE_TIME_LOGNORMAL[p][0] for p in range(4)])[priority]
    sig = np.array([RESPONSE_TIME_LOGNORMAL[p][1] for p in range(4)])[priority]
    load = np.where(kind > 0, 1.15, 1.0) * np.where(bucket == 0, 0.85, 1.0)
    response_time = np.exp(np.log(med * load) + sig * rng.standard_normal(n_unique))
    response_time = np.clip(np.round(response_time), 5, RESPONSE_TIME_MAX).astype(np.int64)

    lag = rng.lognormal(np.log(ARRIVAL_LAG_MEDIAN), ARRIVAL_LAG_SIGMA, n_unique)
    lag = np.where(rng.random(n_unique) < ARRIVAL_LAG_ZERO_SHARE, 0.0, lag)
    lag = np.minimum(np.round(lag), response_time).astype(np.int64)
    t_arrive = t0 + response_time - lag
    violate = rng.random(n_unique) < ORDER_VIOLATION_SHARE
    t_arrive = np.where(violate, t0 - rng.integers(1, 600, size=n_unique), t_arrive)

    scene = (
        rng.lognormal(np.log(SCENE_TIME_MEDIAN), SCENE_TIME_SIGMA, n_unique)
        * cats["scene"][final_cat]
    )
    scene = np.clip(np.round(scene), 20, 900_000).astype(np.int64)
    t_closed = t_arrive + scene
    unit_time = scene * (1.0 + (units - 1) * rng.uniform(0.5, 1.0, size=n_unique))
    unit_time = np.maximum(np.round(unit_time).astype(np.int64), scene)

    injured_officer = mh & (rng.random(n_unique) < 2e-5)
    injured_subject = mh & (rng.random(n_unique) < 5e-5)

    # --- incident numbers ---------------------------------------------------------------------
    dts = days[day_idx]
    incident = _incident_numbers(rng, day_idx, dts)

    geo_id, cbg = geo_table[geo_code], cbg_table[geo_code]

    # --- report written flag: 0/1 (e687) but Yes/No in the oldest exports ---------------------
    cutoff = t0[0] + (t0[-1] - t0[0]) * YES_NO_REPORT_SHARE_OF_RANGE
    yes_no = t0 <= cutoff
    flag_idx = report.astype(np.int64) + 2 * yes_no
    report_flag = pick(("0", "1", "No", "Yes"), flag_idx)

    cat_names = np.asarray(CATEGORIES, dtype=object)
    frame = pd.DataFrame(
        {
            "Incident Number": incident.astype(str).astype(object),
            "Incident Type": pick((INCIDENT_TYPE,), np.zeros(n_unique, dtype=np.int64)),
            "Mental Health Flag": pick((MENTAL_HEALTH_NO, MENTAL_HEALTH_YES), mh.astype(np.int64)),
            "Priority Level": pick(PRIORITIES, priority),
            "Response Datetime": format_apd_datetimes(t0),
            "Response Day of Week": day_names(t0),
            "Response Hour": pick([str(h) for h in range(24)], ((t0 % 86_400) // 3600)),
            "First Unit Arrived Datetime": format_apd_datetimes(t_arrive),
            "Call Closed Datetime": format_apd_datetimes(t_closed),
            "Sector": sector,
            "Initial Problem Description": pick(voc.descriptions, init_desc),
            "Initial Problem Category": cat_names[init_cat],
            "Final Problem Description": pick(voc.descriptions, final_desc),
            "Final Problem Category": cat_names[final_cat],
            "Number of Units Arrived": format_ints(units),
            "Unit Time on Scene": format_thousands(unit_time),
            "Call Disposition Description": pick(disp_table, disp),
            "Report Written Flag": report_flag,
            "Response Time": format_thousands(response_time),
            "Officer Injured/Killed Count": pick(("0", "1"), injured_officer.astype(np.int64)),
            "Subject Injured/Killed Count": pick(("0", "1"), injured_subject.astype(np.int64)),
            "Other Injured/Killed Count": pick(("0",), np.zeros(n_unique, dtype=np.int64)),
            "Geo ID": geo_id,
            "Census Block Group": cbg,
            "Council District": pick(
                [str(d) for d in range(11)], profile["council_district"].to_numpy()[bg]
            ),
        },
        columns=list(CALLS_HEADER_25),
    )
    return _add_exact_duplicates(rng, frame, n_exact)


def _descriptions(
    rng: np.random.Generator,
    category: np.ndarray,
    table: np.ndarray,
    voc: _Vocab,
    airport: np.ndarray,
) -> np.ndarray:
    desc = choice_by_group(rng, category, table)
    use_airport = airport & voc.airport_categories[category]
    use_airport &= rng.random(category.shape[0]) < AIRPORT_DESCRIPTION_SHARE
    if use_airport.any():
        desc[use_airport] = choice_by_group(rng, category[use_airport], voc.desc_airport)
    return desc


def _incident_numbers(
    rng: np.random.Generator, day_idx: np.ndarray, dts: pd.DatetimeIndex
) -> np.ndarray:
    """yy + day-of-year + a 4-digit sequence that grows through the day (with gaps for the
    incidents not in the dispatched export); a handful of numbers reused by another call."""
    n = day_idx.shape[0]
    per_day = np.bincount(day_idx)
    calls_today = per_day[day_idx]
    # CAD numbers ~2.3 incidents per dispatched call at full volume; stay below 9999
    mean_gap = np.clip(
        1800.0 / np.maximum(calls_today, 1), 1.0, 9000.0 / np.maximum(calls_today, 1)
    )
    gaps = 1 + rng.poisson(np.maximum(mean_gap - 1.0, 0.0))
    csum = np.cumsum(gaps)
    day_start = np.r_[0, np.nonzero(np.diff(day_idx))[0] + 1]
    before = np.zeros(n, dtype=np.int64)
    before[day_start] = csum[day_start] - gaps[day_start]
    before = np.maximum.accumulate(before)
    seq = np.minimum(csum - before, 9999)
    yy = (dts.year.to_numpy() % 100).astype(np.int64)
    doy = dts.dayofyear.to_numpy().astype(np.int64)
    number = yy * 10_000_000 + doy * 10_000 + seq

    k = int(round(n * DUPLICATE_NUMBER_SHARE))
    k = max(k, 2 if n >= 1_000 else 0)
    if k > 0:
        candidates = np.nonzero(day_idx[1:] == day_idx[:-1])[0]
        if candidates.shape[0] >= k:
            a = rng.choice(candidates, size=k, replace=False)
            b = np.minimum(a + rng.integers(5, 200, size=k), n - 1)
            b = np.where(day_idx[b] == day_idx[a], b, a + 1)  # same day, a later call
            number[b] = number[a]
    return number


def _geo_tables(profile: pd.DataFrame, unmatched: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Geo ID texts: the ids, the same ids float-looking ('...0.0'), unmatched ids, blank."""
    ids = profile["geo_id"].to_numpy(dtype=object)
    floaty = np.array([g + ".0" for g in ids], dtype=object)
    table = np.concatenate([ids, floaty, unmatched, np.array([""], dtype=object)])
    return table, np.array([t[2:] for t in table], dtype=object)


def _geo_codes(
    rng: np.random.Generator, bg: np.ndarray, profile: pd.DataFrame, unmatched: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Index into ``_geo_tables`` per call, and the (possibly re-hosted) block group."""
    n = bg.shape[0]
    n_ids = len(profile)
    u = rng.random(n)
    blank = u < BLANK_GEO_SHARE
    unmatched_rows = (u >= BLANK_GEO_SHARE) & (u < BLANK_GEO_SHARE + UNMATCHED_GEO_SHARE)
    unmatched_rows &= unmatched.shape[0] > 0
    floaty_rows = u >= 1 - FLOAT_GEO_SHARE
    if n >= 1_000 and not floaty_rows.any():
        floaty_rows[rng.integers(n)] = True
    which = rng.integers(0, max(unmatched.shape[0], 1), size=n)
    code = np.where(floaty_rows, n_ids + bg, bg)
    code = np.where(unmatched_rows, 2 * n_ids + which, code)
    code = np.where(blank, 2 * n_ids + unmatched.shape[0], code)
    if unmatched.shape[0] > 0:
        bg = np.where(unmatched_rows, unmatched_hosts(unmatched, profile)[which], bg)
    return code, bg


def _add_exact_duplicates(rng: np.random.Generator, frame: pd.DataFrame, k: int) -> pd.DataFrame:
    if k <= 0:
        return frame.reset_index(drop=True)
    src = np.sort(rng.choice(len(frame), size=k, replace=False))
    idx = np.sort(np.concatenate([np.arange(len(frame)), src]), kind="stable")
    return frame.iloc[idx].reset_index(drop=True)

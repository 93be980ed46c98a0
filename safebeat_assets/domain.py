"""Facts about the city that several layers share, declared once and free of imports.

The readers, cleaning, linkage, partitions, warehouse and settings all use them; keeping them
here (not in the pandas-heavy modules that own their use) lets `settings.py` read its defaults
without importing the pipeline.
"""

# The default city's (Austin's) zone: calls are delivered in local time; months and dates are
# local. Another city's zone comes from its adapter (SAFEBEAT_CITY) through the settings.
LOCAL_TZ = "America/Chicago"

# Texas: a 3-digit county code with no state is one of Texas's (the codes APD Geo IDs carry).
DEFAULT_STATE_FP = "48"
# Travis, Hays, Williamson: every county APD Geo IDs fall in (Bastrop, 48021, is optional).
DEFAULT_COUNTY_FIPS: tuple[str, ...] = ("48453", "48209", "48491")
# Austin's validity box for coordinates (min/max latitude, min/max longitude), as its adapter's.
AUSTIN_BOX: tuple[float, float, float, float] = (29.9, 30.9, -98.3, -97.3)

# A call links to an event within this distance of its block group's internal point.
DEFAULT_LINK_RADIUS_KM = 1.5
EARTH_RADIUS_KM = 6371.0

# A city may publish no special-event permits: the event assets then hold no rows, and what
# shows events (report, checks, planner) says so in these words rather than showing nothing.
NO_EVENTS_SOURCE = "none"  # `events_source` in the event assets' metadata and the report
NO_EVENTS_SOURCE_TEXT = "No events source for this city"


def full_county_fips(codes, state_fp: str = DEFAULT_STATE_FP) -> tuple[str, ...]:
    """County FIPS codes as 5-digit state+county text: `453` (a county of `state_fp`) and
    `48453` both become `48453`; order kept, repeats dropped. Anything else is a ValueError."""
    out: list[str] = []
    for code in codes:
        text = str(code).strip()
        if text.isdigit() and len(text) <= 3:
            text = state_fp + text.zfill(3)
        if not (text.isdigit() and len(text) == 5):
            raise ValueError(f"county FIPS {code!r}: expected 3 digits (with a state) or 5 digits")
        if text not in out:
            out.append(text)
    return tuple(out)

"""Facts about the city that several layers share, declared once and free of imports.

The readers, cleaning, linkage, partitions, warehouse and settings all use them; keeping them
here (not in the pandas-heavy modules that own their use) lets `settings.py` read its defaults
without importing the pipeline.
"""

# Calls are delivered in Austin local time; months and dates are local.
LOCAL_TZ = "America/Chicago"

# Travis, Hays, Williamson: every county APD Geo IDs fall in (Bastrop, 021, is optional).
DEFAULT_COUNTY_FPS: tuple[str, ...] = ("453", "209", "491")

# A call links to an event within this distance of its block group's internal point.
DEFAULT_LINK_RADIUS_KM = 1.5
EARTH_RADIUS_KM = 6371.0

# A city may publish no special-event permits: the event assets then hold no rows, and what
# shows events (report, checks, planner) says so in these words rather than showing nothing.
NO_EVENTS_SOURCE = "none"  # `events_source` in the event assets' metadata and the report
NO_EVENTS_SOURCE_TEXT = "No events source for this city"

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

"""Tunables that several assets and checks share, as one Dagster resource."""

import dagster as dg

from ..analytics import requirements
from ..analytics.alerts import DEFAULT_THRESHOLDS, AlertThresholds
from ..domain import AUSTIN_BOX, DEFAULT_COUNTY_FIPS, DEFAULT_LINK_RADIUS_KM, LOCAL_TZ
from ..guards import RemovalBounds
from ..transform.point_in_polygon import ValidityBox


class PipelineSettings(dg.ConfigurableResource):
    """Set from settings.py by `build_resources`; overridable in the launchpad. The defaults are
    the ones of the modules that own each number."""

    # The city (SAFEBEAT_CITY): its name and title for the report and dashboard, the zone its
    # exports' wall-clock times are in, and its counties (5-digit state+county FIPS).
    city: str = "austin"
    city_title: str = "Austin, Texas"
    time_zone: str = LOCAL_TZ
    county_fips: list[str] = list(DEFAULT_COUNTY_FIPS)
    # Where a call's coordinates are plausible: min/max latitude, min/max longitude (degrees).
    box: list[float] = list(AUSTIN_BOX)
    # False for a city that publishes no special-event permits: the event assets then hold
    # zero rows and say "no events source" instead of failing on an empty landing folder.
    events_source: bool = True
    link_radius_km: float = DEFAULT_LINK_RADIUS_KM
    min_calls_for_rules: int = requirements.MIN_CALLS_FOR_RULES
    min_geolocated_calls_for_zones: int = requirements.MIN_GEOLOCATED_CALLS_FOR_ZONES
    min_days_for_forecast: int = requirements.MIN_DAYS_FOR_FORECAST
    min_warehouse_calls: int = DEFAULT_THRESHOLDS.min_warehouse_calls
    min_zones_clustered: int = DEFAULT_THRESHOLDS.min_zones
    max_high_risk_events: int = DEFAULT_THRESHOLDS.max_high_events
    min_geo_match_rate: float = DEFAULT_THRESHOLDS.min_geo_match_rate
    forecast_horizon_days: int = requirements.FORECAST_HORIZON_DAYS
    # No destructive success (safebeat_assets.guards): shares of rows a new load may remove.
    max_removed_fraction_per_month: float = RemovalBounds.per_month
    max_removed_fraction_overall: float = RemovalBounds.overall

    def validity_box(self) -> ValidityBox:
        return ValidityBox(*self.box)

    def removal_bounds(self) -> RemovalBounds:
        return RemovalBounds(
            per_month=self.max_removed_fraction_per_month,
            overall=self.max_removed_fraction_overall,
        )

    def alert_thresholds(self) -> AlertThresholds:
        """The alert rules' thresholds as configured here (checks and report share them)."""
        return AlertThresholds(
            min_warehouse_calls=self.min_warehouse_calls,
            min_zones=self.min_zones_clustered,
            max_high_events=self.max_high_risk_events,
            min_geo_match_rate=self.min_geo_match_rate,
            forecast_horizon_days=self.forecast_horizon_days,
            min_days_for_forecast=self.min_days_for_forecast,
        )

"""The declarative source adapter: one TOML file per 911 export layout, mapping a city's columns
onto SafeBeat's canonical call schema.

An adapter names the columns (by header, as exported) of each canonical field, with how to parse
them: datetime formats and the zone they are written in, a priority table onto our 0-3 scale,
category and description as columns, a table or a split of one column, and the location as a
block-group GEOID, latitude/longitude inside a validity box, or nothing (every call unlocated).
The city block says where the adapter applies: time zone, county FIPS codes, bounding box,
the first month of history and whether the city publishes event permits.

Files are validated here, before any data is read; every problem of a file is reported at once
with its place in the file (`fields.priority.mapping: ...`).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from ...errors import DataError
from ...transform.point_in_polygon import ValidityBox
from ..columns import canonical_name

PRIORITY_MIN, PRIORITY_MAX = 0, 3
Header = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
CountyFips = Annotated[str, StringConstraints(pattern=r"^[0-9]{5}$")]
Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]


class AdapterSpecError(DataError):
    """An adapter file that cannot be used; the message lists every problem with its place."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Box(_Strict):
    min_latitude: float = Field(ge=-90, le=90)
    max_latitude: float = Field(ge=-90, le=90)
    min_longitude: float = Field(ge=-180, le=180)
    max_longitude: float = Field(ge=-180, le=180)

    @model_validator(mode="after")
    def _ordered(self) -> Box:
        if self.min_latitude >= self.max_latitude or self.min_longitude >= self.max_longitude:
            raise ValueError("the box's minimum must lie below its maximum on both axes")
        return self

    def validity_box(self) -> ValidityBox:
        return ValidityBox(
            self.min_latitude, self.max_latitude, self.min_longitude, self.max_longitude
        )


class City(_Strict):
    """Where an adapter applies: selected together with it by SAFEBEAT_CITY."""

    title: Header
    time_zone: str
    county_fips: tuple[CountyFips, ...] = Field(min_length=1)
    box: Box
    partition_start: dt.date
    # The city publishes special-event permits in ACE's layout; without them the graph runs
    # with no events ("no events source").
    event_permits: bool = False

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @field_validator("partition_start")
    @classmethod
    def _first_of_month(cls, value: dt.date) -> dt.date:
        if value.day != 1:
            raise ValueError("monthly partitions start on the first day of a month")
        return value


class Datetime(_Strict):
    """A datetime column: strptime formats tried in order, read as local time of the city's
    zone."""

    column: Header
    formats: tuple[Header, ...] = Field(min_length=1)

    @field_validator("formats")
    @classmethod
    def _formats_parse_something(cls, formats: tuple[str, ...]) -> tuple[str, ...]:
        for fmt in formats:
            if "%" not in fmt:
                raise ValueError(f"{fmt!r} is not a strptime format (no % directive)")
        return formats


class IncidentId(_Strict):
    """The call's identifier: a column, or (for feeds without one) a hash of the columns that
    identify a call, so a re-export yields the same ids."""

    column: Header | None = None
    hash_of: tuple[Header, ...] = ()

    @model_validator(mode="after")
    def _one_way(self) -> IncidentId:
        if (self.column is None) == (not self.hash_of):
            raise ValueError("give exactly one of `column` or `hash_of`")
        return self


class Priority(_Strict):
    """Priority text onto SafeBeat's 0 (most urgent) .. 3 scale; values not in `mapping` become
    null and are counted as unknown. Keys match case-insensitively, trimmed, with runs of spaces
    read as one (list spelling variants such as `Priority0` as keys of their own)."""

    column: Header
    mapping: dict[str, int] = Field(min_length=1)

    @field_validator("mapping")
    @classmethod
    def _on_scale(cls, mapping: dict[str, int]) -> dict[str, int]:
        off = {k: v for k, v in mapping.items() if not PRIORITY_MIN <= v <= PRIORITY_MAX}
        if off:
            raise ValueError(f"priorities outside {PRIORITY_MIN}-{PRIORITY_MAX}: {off}")
        return mapping


class SplitColumn(_Strict):
    """One column holding both: `"EMS: BACK PAINS/INJURY"` split at the first `separator`."""

    column: Header
    separator: str = Field(min_length=1)


class Classification(_Strict):
    """Category and description: direct columns, a split of one column, and optionally a table
    renaming categories (unmapped ones are kept as written)."""

    category: Header | None = None
    description: Header | None = None
    split: SplitColumn | None = None
    category_mapping: dict[str, Header] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_way(self) -> Classification:
        direct = self.category is not None or self.description is not None
        if direct and self.split is not None:
            raise ValueError("give either `category`/`description` columns or `split`, not both")
        if not direct and self.split is None:
            raise ValueError("give `category` (and `description`) columns or a `split`")
        return self


class GeoIdLocation(_Strict):
    kind: Literal["geo_id"]
    column: Header


class CoordinateLocation(_Strict):
    kind: Literal["coordinates"]
    latitude: Header
    longitude: Header


class TextLocation(_Strict):
    """An address only: calls are kept, unlocated, and counted."""

    kind: Literal["text"]
    column: Header | None = None


Location = Annotated[GeoIdLocation | CoordinateLocation | TextLocation, Field(discriminator="kind")]


class Duration(_Strict):
    column: Header
    unit: Literal["seconds", "minutes"]


class Fields(_Strict):
    incident_id: IncidentId
    call_datetime: Datetime
    classification: Classification
    location: Location
    priority: Priority | None = None
    arrived_datetime: Datetime | None = None
    closed_datetime: Datetime | None = None
    response_time: Duration | None = None
    units: Header | None = None
    district: Header | None = None  # a named area: sector, township, precinct


class Layout(_Strict):
    """The header that identifies the layout: a dropped file is this adapter's when it has every
    `required` column; `optional` ones may be absent."""

    required: tuple[Header, ...] = Field(min_length=1)
    optional: tuple[Header, ...] = ()

    @model_validator(mode="after")
    def _distinct(self) -> Layout:
        both = set(self.required) & set(self.optional)
        if both:
            raise ValueError(f"columns both required and optional: {sorted(both)}")
        return self


class AdapterSpec(_Strict):
    name: Name
    documentation: tuple[Header, ...] = Field(min_length=1)  # where the format was verified
    city: City
    layout: Layout
    fields: Fields

    @model_validator(mode="after")
    def _fields_use_layout_columns(self) -> AdapterSpec:
        known = set(self.layout.required) | set(self.layout.optional)
        unknown = sorted(used_columns(self.fields) - known)
        if unknown:
            raise ValueError(f"fields name columns that the layout does not list: {unknown}")
        return self

    def missing_columns(self, header: Sequence[str]) -> list[str]:
        """The layout's required columns absent from `header` (empty: the file fits). Headers
        compare by canonical name (`Incident Number` = `incident_number`), as every reader
        binds them."""
        present = {canonical_name(h) for h in header}
        return [c for c in self.layout.required if canonical_name(c) not in present]


# Keys whose value is a header (a str) or, for `hash_of`, a list of headers.
_COLUMN_KEYS = frozenset(
    {"column", "category", "description", "latitude", "longitude", "units", "district"}
)


def used_columns(fields: BaseModel) -> set[str]:
    """Every header an adapter's fields (or one field) read."""
    used: set[str] = set()
    for key in type(fields).model_fields:
        value = getattr(fields, key)
        if key in _COLUMN_KEYS and isinstance(value, str):
            used.add(value)
        elif key == "hash_of":
            used.update(value)
        elif isinstance(value, BaseModel):
            used |= used_columns(value)
    return used


def _place(location: tuple) -> str:
    return ".".join(str(part) for part in location)


def parse_adapter(text: str, source: str) -> AdapterSpec:
    """An adapter from TOML text; AdapterSpecError naming `source` and every problem."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AdapterSpecError(f"{source}: not valid TOML: {exc}") from exc
    try:
        return AdapterSpec.model_validate(document)
    except ValidationError as exc:
        problems = [
            f"  {_place(error['loc']) or '(top level)'}: {error['msg']}" for error in exc.errors()
        ]
        raise AdapterSpecError(
            f"{source}: {len(problems)} problem(s) in the adapter file:\n" + "\n".join(problems)
        ) from None


def load_adapter(path: Path) -> AdapterSpec:
    return parse_adapter(Path(path).read_text(encoding="utf-8"), str(path))

"""The filters every page shares, and the SQL conditions they become (values as parameters)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from psycopg2 import sql

ALCOHOL_ANY = "Any"
ALCOHOL_SERVED = "Alcohol served"
ALCOHOL_NONE = "No alcohol"
ALCOHOL_CHOICES = (ALCOHOL_ANY, ALCOHOL_SERVED, ALCOHOL_NONE)


@dataclass(frozen=True)
class Filters:
    """Date range (inclusive), call categories and priorities (empty = all), event tiers (empty =
    all) and alcohol. Calls are filtered by the first three; events and event links by all."""

    start: dt.date
    end: dt.date
    categories: tuple[str, ...] = ()
    priorities: tuple[int, ...] = ()
    tiers: tuple[int, ...] = ()
    alcohol: str = ALCOHOL_ANY

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"the date range ends ({self.end}) before it starts ({self.start})")
        if self.alcohol not in ALCOHOL_CHOICES:
            raise ValueError(f"alcohol filter {self.alcohol!r} is not one of {ALCOHOL_CHOICES}")

    @property
    def key(self) -> tuple:
        """Hashable identity, for caches."""
        return (self.start, self.end, self.categories, self.priorities, self.tiers, self.alcohol)

    def call_conditions(
        self, alias: str = "f", date_column: str = "response_date"
    ) -> tuple[sql.Composed, dict]:
        """A condition over a fact_911_calls alias (or a table with its date column): date range,
        categories, priorities. Composed SQL with `%(name)s` parameters."""
        clauses = [_column(alias, date_column) + sql.SQL(" BETWEEN %(start)s AND %(end)s")]
        params: dict = {"start": self.start, "end": self.end}
        if self.categories:
            clauses.append(
                _column(alias, "final_problem_category") + sql.SQL(" = ANY(%(categories)s)")
            )
            params["categories"] = list(self.categories)
        if self.priorities:
            clauses.append(_column(alias, "priority_numeric") + sql.SQL(" = ANY(%(priorities)s)"))
            params["priorities"] = [int(p) for p in self.priorities]
        return sql.SQL(" AND ").join(clauses), params

    def event_conditions(self, alias: str = "e") -> tuple[sql.Composed, dict]:
        """A condition over a dim_event alias: overlaps the date range, tiers, alcohol."""
        clauses = [
            _column(alias, "start_date")
            + sql.SQL(" <= %(end)s AND ")
            + _column(alias, "end_date")
            + sql.SQL(" >= %(start)s")
        ]
        params: dict = {"start": self.start, "end": self.end}
        if self.tiers:
            clauses.append(_column(alias, "tier") + sql.SQL(" = ANY(%(tiers)s)"))
            params["tiers"] = [int(t) for t in self.tiers]
        if self.alcohol == ALCOHOL_SERVED:
            clauses.append(_column(alias, "has_alcohol"))
        elif self.alcohol == ALCOHOL_NONE:
            clauses.append(sql.SQL("NOT ") + _column(alias, "has_alcohol"))
        return sql.SQL(" AND ").join(clauses), params


def _column(alias: str, name: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(alias), sql.Identifier(name))

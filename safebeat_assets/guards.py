"""No destructive success: how many rows a new load may remove compared with the last good one.

An empty or truncated export must not silently delete history. A load that removes more than
the configured share of a month's rows, or of all rows, is refused with a clear message (and
nothing is deleted) unless the run carries the explicit override tag.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .errors import DestructiveChangeError

# Set this run tag to "true" to accept a load that removes more rows than the bounds allow
# (for example a deliberate purge): `dagster job launch ... --tags '{"safebeat/allow-shrink":
# "true"}'` or the launchpad's tags.
ALLOW_SHRINK_TAG = "safebeat/allow-shrink"
# Months this small are compared by count only above this many removed rows, so a correction
# in a nearly empty month is not a "sharp shrink".
MIN_REMOVED_ROWS_TO_REFUSE = 20


@dataclass(frozen=True)
class RemovalBounds:
    per_month: float = 0.2
    overall: float = 0.05


def allows_shrink(tags: Mapping[str, str]) -> bool:
    return str(tags.get(ALLOW_SHRINK_TAG, "")).strip().lower() in {"1", "true", "yes"}


def removes_enough_to_refuse(removed: int) -> bool:
    """Whether `removed` rows are enough for a bound to apply at all (below it no month, and no
    total, is refused: the rest of a table need not be counted)."""
    return removed > MIN_REMOVED_ROWS_TO_REFUSE


def removal_violations(
    previous: Mapping[str, int],
    new: Mapping[str, int],
    bounds: RemovalBounds,
) -> list[str]:
    """Human-readable reasons why replacing `previous` row counts (per month) with `new` ones
    removes too much; empty when the change is within bounds.

    Only months present in `previous` can lose rows; a month absent from `new` has 0 rows.
    """
    problems: list[str] = []
    before_total = sum(previous.values())
    after_total = sum(new.get(month, 0) for month in previous) + sum(
        count for month, count in new.items() if month not in previous
    )
    for month in sorted(previous):
        before, after = previous[month], new.get(month, 0)
        removed = before - after
        if removes_enough_to_refuse(removed) and removed > bounds.per_month * before:
            problems.append(
                f"{month}: {before:,} -> {after:,} rows ({removed / before:.0%} removed; "
                f"the bound is {bounds.per_month:.0%} per month)"
            )
    removed_total = before_total - after_total
    if (
        before_total
        and removes_enough_to_refuse(removed_total)
        and removed_total > bounds.overall * before_total
    ):
        problems.append(
            f"overall: {before_total:,} -> {after_total:,} rows "
            f"({removed_total / before_total:.0%} removed; the bound is {bounds.overall:.0%})"
        )
    return problems


def refuse_destructive_change(
    what: str,
    previous: Mapping[str, int],
    new: Mapping[str, int],
    bounds: RemovalBounds,
    tags: Mapping[str, str],
) -> list[str]:
    """Raise DestructiveChangeError when the change removes too much and the run has no
    override; return the (overridden) problems otherwise, for the run's log."""
    problems = removal_violations(previous, new, bounds)
    if problems and not allows_shrink(tags):
        raise DestructiveChangeError(
            f"{what}: refusing a load that removes too many rows compared with the last good "
            f"load; nothing was changed. "
            + "; ".join(problems[:12])
            + (f"; and {len(problems) - 12} more" if len(problems) > 12 else "")
            + f". If this is intended, re-run with the run tag {ALLOW_SHRINK_TAG}=true."
        )
    return problems

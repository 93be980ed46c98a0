"""The built-in adapters (the TOML files beside this module) and the choice among adapters: by
name (SAFEBEAT_CITY) or by a dropped file's header."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

from ...errors import DataError
from .spec import AdapterSpec, AdapterSpecError, load_adapter

ADAPTER_FOLDER = Path(__file__).parent


class NoAdapterMatchesError(DataError):
    """A file whose header fits no adapter; the message lists what each adapter missed."""


@cache
def builtin_adapters() -> tuple[AdapterSpec, ...]:
    """Every adapter shipped with SafeBeat, by name."""
    adapters = tuple(load_adapter(path) for path in sorted(ADAPTER_FOLDER.glob("*.toml")))
    names = [a.name for a in adapters]
    if len(set(names)) != len(names):
        raise AdapterSpecError(f"two built-in adapters share a name: {sorted(names)}")
    return adapters


def builtin_adapter(name: str) -> AdapterSpec:
    """The built-in adapter called `name` (SAFEBEAT_CITY's value)."""
    for adapter in builtin_adapters():
        if adapter.name == name:
            return adapter
    known = ", ".join(a.name for a in builtin_adapters())
    raise AdapterSpecError(f"no built-in adapter named {name!r} (known: {known})")


def detect_adapter(
    header: Sequence[str], source: str, adapters: Sequence[AdapterSpec] | None = None
) -> AdapterSpec:
    """The adapter whose layout `header` fits. Several fitting: the one requiring the most
    columns (the most specific). None: NoAdapterMatchesError listing every adapter tried and
    the columns it missed."""
    tried = list(adapters if adapters is not None else builtin_adapters())
    fitting = [a for a in tried if not a.missing_columns(header)]
    if fitting:
        return max(fitting, key=lambda a: (len(a.layout.required), a.name))
    lines = [
        f"  {a.name}: missing {', '.join(repr(c) for c in a.missing_columns(header))}"
        for a in tried
    ]
    raise NoAdapterMatchesError(
        f"{source}: the header fits no adapter ({len(tried)} tried):\n" + "\n".join(lines)
    )

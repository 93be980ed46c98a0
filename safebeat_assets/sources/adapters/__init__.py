"""Declarative adapters for 911 export layouts (one TOML file per layout) and the choice of
adapter by configuration or by a file's header."""

from .registry import (
    ADAPTER_FOLDER,
    NoAdapterMatchesError,
    builtin_adapter,
    builtin_adapters,
    detect_adapter,
)
from .spec import AdapterSpec, AdapterSpecError, load_adapter, parse_adapter
from .translate import AdaptedCalls, adapt_calls

__all__ = [
    "ADAPTER_FOLDER",
    "AdaptedCalls",
    "AdapterSpec",
    "AdapterSpecError",
    "NoAdapterMatchesError",
    "adapt_calls",
    "builtin_adapter",
    "builtin_adapters",
    "detect_adapter",
    "load_adapter",
    "parse_adapter",
]

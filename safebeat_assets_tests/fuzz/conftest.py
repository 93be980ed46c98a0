"""Hypothesis profiles of the fuzz tests, and the summary of how every generated input ended.

`CI=true` selects the `ci` profile: 1,000 inputs per source, derandomized, so every CI run (and
a local run with CI=true) sees the same inputs and a failure reproduces. Otherwise `dev`: 100
random inputs per source, so `make test` stays quick. No example database either way: it would
write `.hypothesis/` into the working tree and replay old failures in CI.

The summary goes to test-artifacts/fuzz-summary.json (per source: inputs run, outcomes, the
errors' types, seconds) for the closing notes of a change to quote.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections import Counter

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir

from safebeat_assets_tests.helpers import TEST_ARTIFACTS

ARTIFACTS = TEST_ARTIFACTS
# Hypothesis keeps caches even without an example database: in the ignored artifacts folder,
# not as `.hypothesis/` in the working tree.
set_hypothesis_home_dir(str(ARTIFACTS / "hypothesis"))
PROFILE = "ci" if os.environ.get("CI", "").strip().lower() == "true" else "dev"
_COMMON = {
    "deadline": None,
    "database": None,
    # Inputs are files written and read back: some are legitimately slow or large to build.
    "suppress_health_check": [
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
    "print_blob": True,
}
settings.register_profile("ci", max_examples=1_000, derandomize=True, **_COMMON)
settings.register_profile("dev", max_examples=100, **_COMMON)
settings.load_profile(PROFILE)

SUMMARY_PATH = ARTIFACTS / "fuzz-summary.json"


@pytest.fixture(scope="session")
def fuzz_summary():
    """Source name -> its Tally's summary; written to SUMMARY_PATH when the session ends."""
    sources: dict[str, dict] = {}
    started = time.perf_counter()
    yield sources
    if not sources:
        return
    SUMMARY_PATH.parent.mkdir(parents=True, exist_ok=True)
    totals: Counter[str] = Counter()
    for source in sources.values():
        totals["cases"] += source["cases"]
        totals.update(source["outcomes"])
    summary = {
        "profile": PROFILE,
        "max_examples_per_source": settings.get_profile(PROFILE).max_examples,
        "derandomized": settings.get_profile(PROFILE).derandomize,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "seconds_total": round(time.perf_counter() - started, 1),
        "totals": dict(totals),
        "sources": sources,
    }
    SUMMARY_PATH.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")

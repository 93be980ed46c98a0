"""SafeBeat's commands show no Dagster API-status warnings, and only those are filtered."""

import os
import subprocess
import sys
import warnings

import dagster as dg
import pytest

from safebeat_assets import quiet
from safebeat_assets.settings import ENV_DATA_DIR

# What a code server does with the code location, after what the CLI does before `demo`.
LOAD_DEFINITIONS = """
import dagster as dg
from safebeat_assets.definitions import build_definitions
dg.Definitions.validate_loadable(build_definitions())
"""
CLI_THEN_LOAD = (
    """
import sys
from safebeat_assets import cli
assert "safebeat_assets.definitions" not in sys.modules, "the CLI must import them after install"
cli.quiet.install()
"""
    + LOAD_DEFINITIONS
)


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in env.items() if k != "PYTHONWARNINGS"}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def child_env(tmp_path) -> dict[str, str]:
    return {**os.environ, ENV_DATA_DIR: str(tmp_path / "data")}


def test_cli_loads_the_definitions_without_warnings(child_env):
    done = run_python(CLI_THEN_LOAD, child_env)
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr


def test_child_processes_install_the_filter_at_start_up(child_env, tmp_path):
    env = quiet.child_environment(child_env, tmp_path / "hook")
    done = run_python(LOAD_DEFINITIONS, env)
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr


def shown_after_install(monkeypatch, warnoptions: list[str]) -> list[str]:
    monkeypatch.setattr(sys, "warnoptions", warnoptions)
    beta = "Parameter `x` of function `asset` is currently in beta, and may have breaking changes"
    preview = "Function `y` is currently in preview, and may have breaking changes in patch"
    superseded = "`dagster dev` is superseded and its usage is discouraged."
    raised = [
        (dg.BetaWarning, "dagster._core.decorator_utils", beta),
        (dg.PreviewWarning, "safebeat_assets.definitions", preview),
        (dg.SupersessionWarning, "click.core", superseded),
        (DeprecationWarning, "dagster._core.execution.context.init", "old"),
        (DeprecationWarning, "dagster_postgres.utils", "old"),
        (DeprecationWarning, "dagsterfake", "old"),
        (DeprecationWarning, "pandas.core.frame", "old"),
        (FutureWarning, "pandas.core.frame", "is currently in beta"),
        (UserWarning, "dagster._core.definitions", "old"),
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet.install()
        for category, module, message in raised:
            warnings.warn_explicit(message, category, "f.py", 1, module=module)
    return [f"{w.category.__name__} {w.message}" for w in caught]


def test_only_dagster_notices_are_filtered(monkeypatch):
    assert shown_after_install(monkeypatch, []) == [
        "DeprecationWarning old",  # dagsterfake: not a Dagster module
        "DeprecationWarning old",  # pandas
        "FutureWarning is currently in beta",  # not Dagster's wording of a notice
        "UserWarning old",
    ]


def test_explicit_warning_options_win(monkeypatch):
    assert len(shown_after_install(monkeypatch, ["default"])) == 9

"""Keep library notices (Dagster's API-status warnings, the runtime-directory fallback) out of the
output of SafeBeat's own commands.

Dagster reports beta, preview and superseded APIs (and deprecations it trips over internally) as
Python warnings: at every import of the definitions and in every run. They are notes for whoever
upgrades Dagster, who sees them in the test suite; someone running `make demo`, `make ui` or
`safebeat bench` should see progress and results. `install()` filters exactly those warnings in
the current process; `child_environment()` makes Python child processes (`dagster dev` and what
it starts, benchmark scenarios) install the same filter at start-up.

An explicit `-W` option or `PYTHONWARNINGS` wins: then nothing is filtered.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path

# Warnings are attributed to the module of the calling frame; Dagster's own deprecation notices
# about its internals come from dagster, dagster_shared, dagster_postgres, ...
DAGSTER_MODULES = r"dagster(_\w+)?(\.|$)"

# PYTHONWARNINGS cannot name Dagster's categories: Python resolves them before site-packages is
# on sys.path ("invalid module name: 'dagster'"). A sitecustomize module runs after that.
_HOOK = """\
# Written by safebeat_assets.quiet.child_environment: Python processes started with this
# directory on PYTHONPATH install SafeBeat's warning filter first.
from safebeat_assets.quiet import install

install()
"""


# Dagster's wording of its API-status notices (BetaWarning, PreviewWarning, SupersessionWarning).
# Matched by message rather than by category so that the start-up hook need not import Dagster:
# importing it that early (from sitecustomize) made every later run step measurably slower.
DAGSTER_NOTICES = (
    r".* is currently in beta, and may have breaking changes",
    r".* is currently in preview, and may have breaking changes",
    r".* is superseded and its usage is discouraged",
)


def install() -> None:
    """Ignore Dagster's beta/preview/supersession warnings and its own DeprecationWarnings."""
    if sys.warnoptions:
        return
    for notice in DAGSTER_NOTICES:
        warnings.filterwarnings("ignore", message=notice)
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=DAGSTER_MODULES)
    # The embedded PostgreSQL keeps its lock file under the user's runtime directory; without
    # XDG_RUNTIME_DIR (root, containers) platformdirs says it falls back to /tmp, every run.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set", module="platformdirs")


def child_environment(env: Mapping[str, str], hook_dir: Path) -> dict[str, str]:
    """`env` plus a start-up hook (written to `hook_dir`) that calls `install()`; `hook_dir` must
    outlive the child processes."""
    hook_dir.mkdir(parents=True, exist_ok=True)
    (hook_dir / "sitecustomize.py").write_text(_HOOK)
    paths = [str(hook_dir), env.get("PYTHONPATH", "")]
    return {**env, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}

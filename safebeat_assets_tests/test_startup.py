"""Start-up stays light: loading the Dagster definitions imports no heavy library, and
`safebeat --help` imports neither Dagster nor pandas.

Each check runs in a fresh interpreter (this one has imported everything already). Times are
not asserted here (`python -m safebeat_assets.benchmark.startup` measures them); what is
asserted is the cause of a slow start: a module-level import of a heavy library in a module the
definitions or the CLI import. The fix is to import it in the function that uses it.
"""

import json
import os
import subprocess
import sys

from safebeat_assets.benchmark.startup import DEFINITIONS_SCRIPT, HEAVY_MODULES
from safebeat_assets.settings import ENV_DATA_DIR, ENV_PROFILE

HELP_SCRIPT = """\
import json, sys
from safebeat_assets.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""
# What `safebeat --help` (and `safebeat sample --help`) must not load.
NOT_FOR_HELP = ("dagster", "pandas", "numpy", "pyarrow", "psycopg2", *HEAVY_MODULES)


def _run(tmp_path, *args: str) -> str:
    env = {**os.environ, ENV_DATA_DIR: str(tmp_path / "data"), ENV_PROFILE: "local"}
    done = subprocess.run(
        [sys.executable, "-c", *args], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def test_definitions_import_no_heavy_library(tmp_path):
    report = json.loads(_run(tmp_path, DEFINITIONS_SCRIPT, json.dumps(HEAVY_MODULES)))
    assert report["heavy"] == [], (
        f"loading the definitions imported {report['heavy']}: import them where they are used"
    )


def test_help_imports_neither_dagster_nor_pandas(tmp_path):
    for argv in (["--help"], ["sample", "--help"], ["dashboard", "--help"]):
        imported = set(json.loads(_run(tmp_path, HELP_SCRIPT, *argv)))
        leaked = sorted(imported & set(NOT_FOR_HELP))
        assert leaked == [], f"safebeat {' '.join(argv)} imported {leaked}"


def test_sample_package_still_exports_every_name():
    # The package resolves its names on first use (so that `sample.cli` stays light).
    import safebeat_assets.sample as sample

    for name in sample.__all__:
        assert getattr(sample, name) is not None, name
    assert set(sample.__all__) <= set(dir(sample))

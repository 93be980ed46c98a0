"""`make ui`: the Dagster UI and daemon (`dagster dev`) on the embedded local profile.

Generates sample data first when the landing zone is empty, prepares the local Dagster home
(`SAFEBEAT_DATA_DIR/dagster_home`, telemetry off) exactly like `safebeat demo`, then runs
`dagster dev -h 127.0.0.1 -p 3000 -w workspace.local.yaml` in the foreground. Ctrl-C stops it;
the embedded warehouse, if a run from the UI started it, is stopped afterwards.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from . import quiet
from .cli import DEMO_CALLS
from .settings import PROJECT_ROOT, load_settings
from .storage.embedded import stop_embedded_server

WORKSPACE = PROJECT_ROOT / "workspace.local.yaml"
STOP_TIMEOUT_S = 15


def dagster_dev_command(host: str, port: int) -> list[str]:
    dagster = Path(sys.executable).with_name("dagster")
    return [str(dagster), "dev", "-h", host, "-p", str(port), "-w", str(WORKSPACE)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m safebeat_assets.ui", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--calls", type=int, default=DEMO_CALLS, help="sample size if no input")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    quiet.install()  # before the definitions are imported: their decorators warn
    from .demo import ensure_inputs, local_instance

    settings = load_settings()
    ensure_inputs(settings, args.calls, args.seed)
    local_instance(settings).dispose()  # creates dagster_home/dagster.yaml, sets DAGSTER_HOME
    print(
        f"Dagster UI on http://{args.host}:{args.port} (DAGSTER_HOME={os.environ['DAGSTER_HOME']}); "
        "Ctrl-C stops it",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="safebeat-ui-") as hook_dir:
        # Its webserver, daemon, code server and run workers are Python processes of their own.
        env = quiet.child_environment(os.environ, Path(hook_dir))
        proc = subprocess.Popen(
            dagster_dev_command(args.host, args.port), cwd=PROJECT_ROOT, env=env
        )
        try:
            return proc.wait()
        except KeyboardInterrupt:
            # The terminal sent SIGINT to dagster dev as well; give it time to shut down cleanly.
            try:
                return proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                return proc.wait()
        finally:
            if settings.uses_embedded_warehouse:
                stop_embedded_server(settings.data_dir)


if __name__ == "__main__":
    sys.exit(main())

"""`make dashboard` / `safebeat dashboard`: the analysts' dashboard on http://127.0.0.1:8501.

On the local profile it starts the embedded warehouse if it is not running and, when the
warehouse holds no calls yet, runs the demo first (sample data, the whole graph), so a fresh
clone shows real pages. In production (`SAFEBEAT_ENV=prod`, the compose `dashboard` service)
it only starts Streamlit: the pipeline fills the warehouse, and the pages say what is missing
until it has. Then `streamlit run` in the foreground; Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .. import quiet
from ..asset_names import FACT_CALLS
from ..settings import Settings, load_settings

APP = Path(__file__).with_name("app.py")
DEFAULT_PORT = 8501


def streamlit_command(host: str, port: int) -> list[str]:
    streamlit = Path(sys.executable).with_name("streamlit")
    return [
        str(streamlit),
        "run",
        str(APP),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        # Nothing to reload in a deployed or demo dashboard; watching the tree costs CPU.
        "--server.fileWatcherType",
        "none",
        "--client.toolbarMode",
        "viewer",
    ]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--calls", type=int, default=None, help="demo sample size if no data")
    parser.add_argument("--seed", type=int, default=42)


def local_warehouse_has_calls(settings: Settings) -> bool:
    """Whether the warehouse holds calls, asked with the pipeline's DSN (embedded: its owner) (the read-only role gets
    its grants only once the schema exists). Starts the embedded server if needed."""
    import psycopg2
    from psycopg2 import sql

    from ..storage.embedded import ensure_embedded_server

    if settings.uses_embedded_warehouse:
        dsn = ensure_embedded_server(settings.data_dir)
    else:
        dsn = os.environ[settings.warehouse_url_env]
    fact = f"{settings.warehouse_schema}.{FACT_CALLS}"
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass(%s) IS NOT NULL", (fact,))
            if not cur.fetchone()[0]:
                return False
            cur.execute(
                sql.SQL("SELECT EXISTS (SELECT 1 FROM {}.{})").format(
                    sql.Identifier(settings.warehouse_schema),
                    sql.Identifier(FACT_CALLS),
                )
            )
            return bool(cur.fetchone()[0])
    finally:
        conn.close()


def prepare_local_data(calls: int | None, seed: int) -> None:
    """Embedded warehouse running, and holding a run's results."""
    if local_warehouse_has_calls(load_settings()):
        return
    print("The warehouse holds no calls yet: running the demo first.", flush=True)
    from ..cli import DEMO_CALLS
    from ..demo import run_demo

    status = run_demo(calls=calls or DEMO_CALLS, seed=seed, keep_warehouse=True)
    if status != 0:
        raise SystemExit(f"the demo run failed (exit {status}); see its summary above")


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    if settings.profile == "local":
        prepare_local_data(args.calls, args.seed)
    print(f"SafeBeat dashboard on http://{args.host}:{args.port} (Ctrl-C stops it)", flush=True)
    with tempfile.TemporaryDirectory(prefix="safebeat-dashboard-") as hook_dir:
        # Streamlit runs in a Python process of its own: quiet it the same way.
        env = quiet.child_environment(os.environ, Path(hook_dir))
        proc = subprocess.Popen(streamlit_command(args.host, args.port), env=env)
        try:
            return proc.wait()
        except KeyboardInterrupt:
            return proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m safebeat_assets.dashboard", description=__doc__
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

"""A headless Chromium driven over the DevTools protocol (as the UI tests drive it), and a
`streamlit run` of the dashboard as a subprocess on a loopback port.

Streamlit draws a page after the websocket delivers it, so a one-shot `--screenshot` would catch
a half-drawn page: instead the page is polled until the script has stopped running and the
expected elements are drawn, then captured."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from safebeat_assets_tests.helpers import CHROMIUM_HEADLESS_FLAGS

from .conftest import APP

CHROMIUM_TIMEOUT_S = 60
STARTUP_TIMEOUT_S = 60
STOP_TIMEOUT_S = 15


class Chromium:
    """One headless browser with one tab; `call` sends a DevTools command and returns its
    result."""

    def __init__(self, executable: str, profile: Path, width: int = 1400, height: int = 1000):
        self.executable, self.profile = executable, profile
        self.width, self.height = width, height
        self.proc: subprocess.Popen | None = None
        self.ws = None
        self._ids = iter(range(1, 1_000_000))
        self.console: list[str] = []  # errors the page logged or threw, oldest first

    def __enter__(self) -> Chromium:
        from websockets.sync.client import connect

        self.proc = subprocess.Popen(
            [
                self.executable,
                *CHROMIUM_HEADLESS_FLAGS,
                "--remote-debugging-port=0",
                f"--user-data-dir={self.profile}",
                f"--window-size={self.width},{self.height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        endpoint = None
        deadline = time.monotonic() + CHROMIUM_TIMEOUT_S
        while endpoint is None and time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line and self.proc.poll() is not None:
                break
            found = re.search(r"DevTools listening on ws://([^/]+)/", line or "")
            endpoint = found.group(1) if found else None
        assert endpoint, "Chromium did not open its DevTools endpoint"
        with urllib.request.urlopen(f"http://{endpoint}/json/list", timeout=10) as response:
            page = next(t for t in json.load(response) if t["type"] == "page")
        self.ws = connect(page["webSocketDebuggerUrl"], max_size=None)
        self.call("Runtime.enable")
        self.call("Log.enable")
        return self

    def __exit__(self, *exc) -> None:
        if self.ws is not None:
            self.ws.close()
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def call(self, method: str, **params) -> dict:
        number = next(self._ids)
        self.ws.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=CHROMIUM_TIMEOUT_S))
            self._note(message)
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def _note(self, message: dict) -> None:
        """Keep the page's errors (console.error, uncaught exceptions, browser log errors)."""
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            args = params.get("args", [])
            self.console.append(
                " ".join(str(a.get("value", a.get("description", ""))) for a in args)[:500]
            )
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text")
            self.console.append(str(text)[:500])
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            self.console.append(f"{entry.get('text', '')[:500]} {entry.get('url', '')}".strip())

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    def open(self, url: str) -> None:
        """Navigate and wait until the new document is the one loaded (not the last page's)."""
        self.call("Page.navigate", url=url)
        check = f"location.href === {json.dumps(url)} && document.readyState === 'complete'"
        deadline = time.monotonic() + CHROMIUM_TIMEOUT_S
        while not self.evaluate(check):
            assert time.monotonic() < deadline, f"{url} did not load"
            time.sleep(0.2)

    def wait_for(
        self, expression: str, timeout: float = CHROMIUM_TIMEOUT_S, give_up=lambda: False
    ) -> dict:
        """Evaluate `expression` (returning an object with `ready`) until ready, or until
        `give_up()` (e.g. the page threw); the last state."""
        state: dict = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.evaluate(expression) or {}
            if state.get("ready") or give_up():
                return state
            time.sleep(0.5)
        return state

    def screenshot(self, path: Path) -> None:
        """The whole page, not just the window: Streamlit scrolls inside its main section, so
        the window is grown to that section's height first."""
        height = self.evaluate(
            "Math.max(document.body.scrollHeight, ...[...document.querySelectorAll("
            "'[data-testid=stMain], [data-testid=stMainBlockContainer]')].map(e => e.scrollHeight))"
        )
        height = min(max(int(height or self.height), self.height), 8000)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=self.width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        time.sleep(1)  # let the charts re-layout to the new size
        shot = self.call("Page.captureScreenshot", format="png")
        self.call("Emulation.clearDeviceMetricsOverride")
        path.write_bytes(base64.b64decode(shot["data"]))


class StreamlitServer:
    """`streamlit run app.py` headless on loopback with the given environment."""

    def __init__(self, port: int, env: dict[str, str], log_path: Path):
        self.port, self.env, self.log_path = port, env, log_path
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(APP),
            "--server.headless",
            "true",
            "--server.port",
            str(self.port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ]

    def __enter__(self) -> StreamlitServer:
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                self.command(),
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited:\n{self.log_path.read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as answer:
                    if answer.read().strip() == b"ok":
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        self.__exit__()
        raise TimeoutError(f"streamlit did not answer:\n{self.log_path.read_text()[-4000:]}")

    def __exit__(self, *exc) -> None:
        """SIGINT to its process group (a clean stop), SIGKILL if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGINT)
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except ProcessLookupError:
            pass

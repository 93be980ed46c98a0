"""Reading the production stack's files the way docker compose does, without a Docker engine:
`${VAR}` interpolation, environment and command lists, .env files, the Dockerfile, ports."""

import re
import shlex
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
DAGSTER_YAML = ROOT / "dagster.yaml"
DEPLOY = ROOT / "deploy"

SECRET_NAME = re.compile(r"PASSWORD|SECRET|ACCESS_KEY|TOKEN|ROOT_USER")
REQUIRED_REF = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*):\?[^}]+\}")
_BRACED = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
_BARE = re.compile(r"\$(?P<name>[A-Za-z_][A-Za-z0-9_]*)")


# --- compose interpolation -----------------------------------------------------------------------


class MissingVariable(KeyError):
    """A `${VAR:?msg}` / `${VAR?msg}` reference whose variable is unset: compose refuses to start."""


def _references(text: str) -> Iterator[tuple[re.Match[str] | None, int, int]]:
    """Yield (match, start, end) for each `$...` token; `$$` (an escaped dollar) yields None."""
    i = 0
    while i < len(text):
        if text[i] != "$":
            i += 1
            continue
        if text.startswith("$$", i):
            yield None, i, i + 2
            i += 2
            continue
        m = _BRACED.match(text, i) or _BARE.match(text, i)
        if m is None:
            raise AssertionError(f"malformed variable reference at {text[i : i + 30]!r}")
        yield m, i, m.end()
        i = m.end()


def variable_refs(text: str) -> list[tuple[str, str | None]]:
    """(name, operator) of every interpolated reference in a string; escaped `$$` excluded."""
    return [(m["name"], m.groupdict().get("op")) for m, _, _ in _references(text) if m]


def interpolate(text: str, env: Mapping[str, str]) -> str:
    out, last = [], 0
    for m, start, end in _references(text):
        out.append(text[last:start])
        last = end
        if m is None:
            out.append("$")
            continue
        name, op, arg = m["name"], m.groupdict().get("op"), m.groupdict().get("arg")
        value = env.get(name)
        if op in (":-", "-"):
            use_default = value is None or (op == ":-" and value == "")
            out.append(arg if use_default else value)
        elif op in (":?", "?"):
            if value is None or (op == ":?" and value == ""):
                raise MissingVariable(f"{name}: {arg}")
            out.append(value)
        else:
            out.append(value or "")
    out.append(text[last:])
    return "".join(out)


def resolve(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [resolve(v, env) for v in node]
    if isinstance(node, dict):
        return {k: resolve(v, env) for k, v in node.items()}
    return node


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for v in node:
            yield from strings(v)
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from strings(k)
            yield from strings(v)


# --- small parsers ------------------------------------------------------------------------------


def env_of(service: Mapping[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {k: str(v) for k, v in raw.items()}


def command_of(service: Mapping[str, Any]) -> list[str]:
    cmd = service.get("command") or []
    return shlex.split(cmd) if isinstance(cmd, str) else [str(c) for c in cmd]


def option(cmd: list[str], *flags: str) -> str:
    """The value following one of `flags` in an argv list (exactly one occurrence)."""
    values = [cmd[i + 1] for i, arg in enumerate(cmd[:-1]) if arg in flags]
    assert len(values) == 1, f"expected one of {flags} in {cmd}, found {values}"
    return values[0]


def dagster_yaml_env_names(node: Any) -> set[str]:
    """Every NAME in an `{env: NAME}` value of dagster.yaml, at any depth."""
    found: set[str] = set()
    if isinstance(node, dict):
        if set(node) == {"env"}:
            found.add(node["env"])
        for v in node.values():
            found |= dagster_yaml_env_names(v)
    elif isinstance(node, list):
        for v in node:
            found |= dagster_yaml_env_names(v)
    return found


def parse_env_file(path: Path) -> tuple[dict[str, str], set[str]]:
    """Active `NAME=value` assignments, and every name mentioned as `NAME=` or `# NAME=`."""
    active: dict[str, str] = {}
    documented: set[str] = set()
    for line in path.read_text().splitlines():
        m = re.match(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$", line.strip())
        if not m:
            continue
        documented.add(m[2])
        if not m[1]:
            assert m[2] not in active, f"{m[2]} is assigned twice in {path.name}"
            active[m[2]] = m[3].strip()
    return active, documented


def dockerfile_instructions() -> list[tuple[str, str]]:
    logical, buf = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            buf += stripped[:-1] + " "
            continue
        logical.append(buf + stripped)
        buf = ""
    out = []
    for instr in logical:
        keyword, _, args = instr.partition(" ")
        out.append((keyword.upper(), args.strip()))
    return out


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, args in dockerfile_instructions():
        if keyword == "ENV":
            for token in shlex.split(args):
                name, _, value = token.partition("=")
                env[name] = value
    return env


def published_ports(service: Mapping[str, Any]) -> dict[int, int]:
    """host port -> container port of the short `[addr:]host:container` syntax."""
    ports: dict[int, int] = {}
    for spec in service.get("ports") or []:
        parts = interpolate(str(spec), {}).split(":")
        assert len(parts) in (2, 3), f"unexpected port spec {spec!r}"
        ports[int(parts[-2])] = int(parts[-1].split("/")[0])
    return ports

"""The production stack is right by construction: docker-compose.yml, .env.example, workspace.yaml,
workspace.local.yaml, the Dockerfile, dagster.yaml and safebeat_assets/settings.py agree.

No Docker engine is needed: the compose file is parsed with PyYAML and its `${VAR}` references
are resolved here the way `docker compose config` resolves them (see compose.py). The one-shot
scripts and the proxy have tests of their own beside this file.
"""

import ast
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from safebeat_assets import settings as sb_settings

from .compose import (
    COMPOSE_FILE,
    DAGSTER_YAML,
    DOCKERFILE,
    ENV_EXAMPLE,
    REQUIRED_REF,
    ROOT,
    SECRET_NAME,
    MissingVariable,
    command_of,
    dagster_yaml_env_names,
    dockerfile_env,
    dockerfile_instructions,
    env_of,
    interpolate,
    option,
    parse_env_file,
    published_ports,
    resolve,
    strings,
    variable_refs,
)

DAGSTER_SERVICES = ("code-server", "webserver", "daemon", "dagster-init")
# Built from the same image as the Dagster services, with an environment of its own.
IMAGE_SERVICES = (*DAGSTER_SERVICES, "dashboard")
LONG_RUNNING = (
    "postgis",
    "dagster-postgres",
    "minio",
    "code-server",
    "webserver",
    "daemon",
    "dashboard",
    "proxy",
)
ONE_SHOT = ("check-secrets", "warehouse-init", "minio-init", "dagster-init")
HEALTHY = "service_healthy"
COMPLETED = "service_completed_successfully"
CHECKED = {"check-secrets": COMPLETED}
EXPECTED_DEPENDS_ON = {
    "check-secrets": {},
    "postgis": CHECKED,
    "warehouse-init": {**CHECKED, "postgis": HEALTHY},
    "dagster-postgres": CHECKED,
    "minio": CHECKED,
    "minio-init": {**CHECKED, "minio": HEALTHY},
    "dagster-init": {**CHECKED, "dagster-postgres": HEALTHY},
    "code-server": {
        **CHECKED,
        "postgis": HEALTHY,
        "warehouse-init": COMPLETED,
        "minio-init": COMPLETED,
        "dagster-init": COMPLETED,
    },
    "webserver": {**CHECKED, "code-server": HEALTHY, "dagster-init": COMPLETED},
    "daemon": {**CHECKED, "code-server": HEALTHY, "dagster-init": COMPLETED},
    "dashboard": {**CHECKED, "warehouse-init": COMPLETED, "minio-init": COMPLETED},
    "proxy": {**CHECKED, "webserver": HEALTHY, "dashboard": HEALTHY},
}
# host port -> (service, container port)
EXPECTED_PUBLISHED = {
    3000: ("proxy", 3000),
    8501: ("proxy", 8501),
    9000: ("minio", 9000),
    9001: ("minio", 9001),
    5432: ("postgis", 5432),
    5433: ("dagster-postgres", 5432),
}
# Services behind the proxy: reachable inside the compose network only.
UNPUBLISHED = ("webserver", "code-server", "dashboard")


# --- services, images, commands -----------------------------------------------------------------


def test_expected_services(services):
    assert set(services) == set(EXPECTED_DEPENDS_ON)


def test_images_and_builds(services):
    assert services["postgis"]["image"] == "postgis/postgis:15-3.4"
    # psql of the server's own major version (init-roles.sh needs psql >= 15 for \getenv).
    assert services["warehouse-init"]["image"] == services["postgis"]["image"]
    assert services["dagster-postgres"]["image"] == "postgres:15"
    # check-secrets only needs a POSIX shell: no extra image to pull.
    assert services["check-secrets"]["image"] == services["dagster-postgres"]["image"]
    assert services["minio"]["image"].split(":")[0] == "minio/minio"
    assert services["minio-init"]["image"].split(":")[0] == "minio/mc"
    assert re.fullmatch(r"caddy:2\.\d+-alpine", services["proxy"]["image"])
    for name in set(services) - set(IMAGE_SERVICES):
        assert "build" not in services[name], name
    images = set()
    for name in IMAGE_SERVICES:
        build = services[name]["build"]
        assert build == {"context": ".", "dockerfile": "Dockerfile"}, name
        assert (ROOT / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
        images.add(services[name]["image"])
    assert len(images) == 1, f"the Dagster services should share one image, got {images}"


def test_code_server_command(services):
    cmd = command_of(services["code-server"])
    assert cmd[:3] == ["dagster", "code-server", "start"]
    assert option(cmd, "-h", "--host") == "0.0.0.0"
    assert option(cmd, "-p", "--port") == "4000"
    module = option(cmd, "-m", "--module-name")
    attribute = option(cmd, "-a", "--attribute")
    assert module == "safebeat_assets.definitions"
    assert attribute == "defs"
    # The module exists and binds that attribute at top level (checked without importing it).
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin
    tree = ast.parse(Path(spec.origin).read_text())
    top_level = {
        t.id
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(t, ast.Name)
    }
    assert attribute in top_level


def test_webserver_and_daemon_commands(services, dagster_home):
    workspace_in_image = f"{dagster_home}/workspace.yaml"
    web = command_of(services["webserver"])
    assert web[0] == "dagster-webserver"
    assert option(web, "-h", "--host") == "0.0.0.0"
    assert option(web, "-p", "--port") == "3000"
    assert option(web, "-w", "--workspace") == workspace_in_image
    daemon = command_of(services["daemon"])
    assert daemon[:2] == ["dagster-daemon", "run"]
    # Explicit: without -w the daemon would look for pyproject.toml / workspace.yaml in its cwd.
    assert option(daemon, "-w", "--workspace") == workspace_in_image
    assert command_of(services["dagster-init"]) == ["dagster", "instance", "migrate"]


def test_minio_commands_create_the_lake_buckets(services):
    assert command_of(services["minio"]) == ["server", "/data", "--console-address", ":9001"]
    init = services["minio-init"]
    assert init["entrypoint"][0] == "/bin/sh"
    script = "\n".join(command_of(init))
    lines = [shlex.split(line) for line in script.splitlines() if line.strip()]
    alias = next(line for line in lines if line[:3] == ["mc", "alias", "set"])
    alias_name, endpoint = alias[3], alias[4]
    assert endpoint == "http://minio:9000"
    # Credentials come from the container's environment ($$ = a literal $ for the shell).
    assert alias[5:] == ["$${MINIO_ROOT_USER}", "$${MINIO_ROOT_PASSWORD}"]
    mb = next(line for line in lines if line[:2] == ["mc", "mb"])
    assert "--ignore-existing" in mb
    buckets = [t.removeprefix(f"{alias_name}/") for t in mb[2:] if not t.startswith("-")]
    assert sorted(buckets) == sorted(sb_settings.LAKE_BUCKETS)
    user_add = next(line for line in lines if line[:4] == ["mc", "admin", "user", "add"])
    assert user_add[4:] == [alias_name, "$${AWS_ACCESS_KEY_ID}", "$${AWS_SECRET_ACCESS_KEY}"]
    attach = next(line for line in lines if line[:4] == ["mc", "admin", "policy", "attach"])
    assert attach[4:] == [alias_name, "readwrite", "--user", "$${AWS_ACCESS_KEY_ID}"]


# --- environment ---------------------------------------------------------------------------------


def test_dagster_services_share_the_anchor_environment(compose, services):
    shared = compose["x-safebeat-env"]
    for name in DAGSTER_SERVICES:
        assert services[name]["environment"] == shared, name


def test_dashboard_reads_as_the_read_only_role(services, sentinel_env):
    """The dashboard gets the reader's credentials, never the pipeline's warehouse password,
    and runs the package's own launcher on the port the proxy forwards to."""
    env = env_of(resolve(services["dashboard"], sentinel_env))
    roles_env = env_of(resolve(services["warehouse-init"], sentinel_env))
    url = urlsplit(env["SAFEBEAT_WAREHOUSE_URL"])
    assert url.username == roles_env["SAFEBEAT_READER_USER"]
    assert url.password == roles_env["SAFEBEAT_READER_PASSWORD"]
    assert url.hostname == "postgis"
    assert "SAFEBEAT_WAREHOUSE_PASSWORD" not in services["dashboard"]["environment"]
    assert env["SAFEBEAT_ENV"] == "prod"
    assert command_of(services["dashboard"])[:2] == ["safebeat", "dashboard"]
    assert option(command_of(services["dashboard"]), "--port") == "8501"
    missing = [n for n in sb_settings.PROD_REQUIRED_ENV if not env.get(n)]
    assert not missing, f"the dashboard's settings need {missing}"


def test_required_env_is_provided_to_the_dagster_services(services, dagster_home):
    dagster_names = dagster_yaml_env_names(yaml.safe_load(DAGSTER_YAML.read_text()))
    assert {"DAGSTER_PG_HOST", "DAGSTER_PG_PASSWORD"} <= dagster_names  # the walk finds them
    needed = (
        set(sb_settings.PROD_REQUIRED_ENV)
        | set(sb_settings.PROD_OPTIONAL_ENV)
        | dagster_names
        | {"DAGSTER_HOME"}
    )
    for name in ("code-server", "webserver", "daemon", "dagster-init"):
        env = env_of(services[name])
        missing = needed - set(env)
        assert not missing, f"{name} lacks {sorted(missing)}"
        assert all(env[k].strip() for k in needed), name  # raw text: "${VAR:-}" counts
        assert env[sb_settings.ENV_PROFILE] == "prod"
        assert env["DAGSTER_HOME"] == dagster_home
        assert env[sb_settings.ENV_DATA_DIR] == dockerfile_env()[sb_settings.ENV_DATA_DIR]


def test_prod_settings_load_from_the_compose_environment(resolved):
    """What code-server would see with .env copied from .env.example passes settings.py."""
    env = env_of(resolved["services"]["code-server"])
    loaded = sb_settings.load_settings(env)
    assert loaded.profile == "prod"
    assert loaded.uses_object_storage
    assert not loaded.uses_embedded_warehouse
    assert loaded.s3_endpoint_url == "http://minio:9000"
    assert loaded.landing_prefix == "landing"
    assert loaded.warehouse_schema == "safebeat"


def test_service_addresses_match_the_services(services, sentinel_env):
    env = env_of(resolve(services["code-server"], sentinel_env))
    minio_cmd = command_of(services["minio"])
    s3 = urlsplit(env[sb_settings.ENV_S3_ENDPOINT_URL])
    assert (s3.scheme, s3.hostname) == ("http", "minio")
    assert "--address" not in minio_cmd  # so MinIO serves the S3 API on its default port 9000
    assert s3.port == 9000
    assert 9000 in published_ports(services["minio"]).values()

    # Warehouse URL: the postgis service's database, with the pipeline role warehouse-init
    # creates there (by variable name), never the server's superuser.
    postgis_env = env_of(resolve(services["postgis"], sentinel_env))
    roles_env = env_of(resolve(services["warehouse-init"], sentinel_env))
    url = urlsplit(env[sb_settings.ENV_WAREHOUSE_URL])
    assert url.scheme == "postgresql"  # a libpq URI: the warehouse connects with psycopg2
    assert (url.hostname, url.port) == ("postgis", 5432)
    assert url.username == roles_env["SAFEBEAT_WAREHOUSE_USER"]
    assert url.password == roles_env["SAFEBEAT_WAREHOUSE_PASSWORD"]
    assert url.path.lstrip("/") == postgis_env["POSTGRES_DB"] == roles_env["PGDATABASE"]
    assert (url.username, url.password) != (
        postgis_env["POSTGRES_USER"],
        postgis_env["POSTGRES_PASSWORD"],
    )
    assert env[sb_settings.ENV_WAREHOUSE_SCHEMA] == roles_env["SAFEBEAT_WAREHOUSE_SCHEMA"]
    assert 5432 in published_ports(services["postgis"]).values()
    # warehouse-init logs in to that server as its superuser.
    assert (roles_env["PGHOST"], int(roles_env["PGPORT"])) == ("postgis", 5432)
    assert roles_env["PGUSER"] == postgis_env["POSTGRES_USER"]
    assert roles_env["PGPASSWORD"] == postgis_env["POSTGRES_PASSWORD"]

    # Dagster instance DB: dagster.yaml's variables name the dagster-postgres service's database.
    meta_env = env_of(resolve(services["dagster-postgres"], sentinel_env))
    assert env["DAGSTER_PG_HOST"] == "dagster-postgres"
    assert int(env["DAGSTER_PG_PORT"]) in published_ports(services["dagster-postgres"]).values()
    assert env["DAGSTER_PG_USER"] == meta_env["POSTGRES_USER"]
    assert env["DAGSTER_PG_PASSWORD"] == meta_env["POSTGRES_PASSWORD"]
    assert env["DAGSTER_PG_DB"] == meta_env["POSTGRES_DB"]
    # The two databases are separate servers with separate credentials.
    assert meta_env["POSTGRES_PASSWORD"] != postgis_env["POSTGRES_PASSWORD"]

    # minio-init creates exactly the S3 user the code authenticates with.
    init_env = env_of(resolve(services["minio-init"], sentinel_env))
    for key in (sb_settings.ENV_S3_ACCESS_KEY_ID, sb_settings.ENV_S3_SECRET_ACCESS_KEY):
        assert init_env[key] == env[key]
    minio_env = env_of(resolve(services["minio"], sentinel_env))
    for key in ("MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"):
        assert init_env[key] == minio_env[key]


def test_every_compose_variable_is_in_env_example(used_variables, env_example):
    missing = used_variables - set(env_example)
    assert not missing, f".env.example lacks {sorted(missing)}"


def test_env_example_documents_everything_the_stack_reads(used_variables):
    active, documented = parse_env_file(ENV_EXAMPLE)
    dagster_names = dagster_yaml_env_names(yaml.safe_load(DAGSTER_YAML.read_text()))
    expected = (
        set(sb_settings.PROD_REQUIRED_ENV)
        | set(sb_settings.PROD_OPTIONAL_ENV)
        | dagster_names
        | {"DAGSTER_HOME", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"}
    )
    assert not expected - documented, f"undocumented: {sorted(expected - documented)}"
    # An active line that compose never reads would mislead whoever edits .env.
    assert not set(active) - used_variables, f"unused: {sorted(set(active) - used_variables)}"
    for name, value in active.items():
        if SECRET_NAME.search(name) and name not in ("AWS_ACCESS_KEY_ID", "MINIO_ROOT_USER"):
            allowed = {"change-me", ""} if name in sb_settings.ALERT_ENV else {"change-me"}
            assert value in allowed, f"{name} must be a placeholder, not {value!r}"
    assert active["AWS_ACCESS_KEY_ID"] != active["MINIO_ROOT_USER"]


def test_no_literal_secrets(compose, services, sentinel_env):
    # Alert-channel secrets are optional: an empty default switches the channel off.
    optional = set(sb_settings.ALERT_ENV)
    for svc_name, svc in services.items():
        for key, value in env_of(svc).items():
            if SECRET_NAME.search(key):
                if key in optional:
                    assert value == f"${{{key}:-}}", f"{svc_name}.{key}: only an empty default"
                    continue
                m = REQUIRED_REF.fullmatch(value)
                assert m and SECRET_NAME.search(m["name"]), (
                    f"{svc_name}.{key} must be a required ${{VAR:?...}} reference, not {value!r}"
                )
    for text in strings(compose):
        # Every secret-looking variable is required, never defaulted.
        for name, op in variable_refs(text):
            if SECRET_NAME.search(name) and name not in optional:
                assert op == ":?", f"${{{name}}} must use :? (found {op!r})"
        assert "change-me" not in text
    # A password inside a URL comes from a secret variable: resolved with a distinct value per
    # variable, it must be the value of one of them.
    secret_values = {v for k, v in sentinel_env.items() if SECRET_NAME.search(k)}
    url_passwords = [
        urlsplit(m[0]).password
        for text in strings(resolve(compose, sentinel_env))
        for m in re.finditer(r"[a-z][a-z0-9+.-]*://[^\s/]*@[^\s/]+", text)
    ]
    assert url_passwords, "expected the warehouse URL to carry a password reference"
    for password in url_passwords:
        assert password in secret_values, f"literal password {password!r} in a URL"


def test_env_example_resolves_every_reference(resolved):
    # Would raise MissingVariable for an unset :? variable; a few spot checks of the result.
    env = env_of(resolved["services"]["postgis"])
    assert env["POSTGRES_PASSWORD"] == "change-me"
    for name, svc in resolved["services"].items():
        for key, value in env_of(svc).items():
            assert "${" not in value, f"{name}.{key} = {value!r}"
            # Only the optional alert channels (channel off) and the overrides of the city's
            # counties and first month (the city's own) may resolve empty.
            optional = (*sb_settings.ALERT_ENV, *sb_settings.CITY_OVERRIDE_ENV)
            assert value or key in optional, f"{name}.{key} = {value!r}"


def test_dagster_yaml_loads_with_the_compose_environment(resolved, tmp_path, monkeypatch):
    """dagster.yaml passes Dagster's instance schema, and with the code-server environment its
    storage config resolves to the dagster-postgres service (no connection is opened)."""
    from dagster._config import process_config
    from dagster._core.instance.config import dagster_instance_config
    from dagster_postgres.storage import DagsterPostgresStorage
    from dagster_postgres.utils import pg_url_from_config

    (tmp_path / "dagster.yaml").write_text(DAGSTER_YAML.read_text())
    for key, value in env_of(resolved["services"]["code-server"]).items():
        monkeypatch.setenv(key, value)
    config, _ = dagster_instance_config(str(tmp_path))
    storage = process_config(DagsterPostgresStorage.config_type(), config["storage"]["postgres"])
    assert storage.success, storage.errors
    url = urlsplit(pg_url_from_config(storage.value))
    meta = env_of(resolved["services"]["dagster-postgres"])
    assert url.scheme == "postgresql+psycopg2"
    assert (url.hostname, url.port) == ("dagster-postgres", 5432)
    assert (url.username, url.password) == (meta["POSTGRES_USER"], meta["POSTGRES_PASSWORD"])
    assert url.path.lstrip("/") == meta["POSTGRES_DB"]


def test_secrets_are_required(compose):
    with pytest.raises(MissingVariable, match="SAFEBEAT_WAREHOUSE_ADMIN_PASSWORD"):
        resolve(compose["services"]["postgis"], {})
    with pytest.raises(MissingVariable, match="SAFEBEAT_PROXY_USER"):
        resolve(compose["services"]["proxy"], {})
    with pytest.raises(MissingVariable, match="SAFEBEAT_PROXY_PASSWORD"):
        resolve(compose["services"]["proxy"], {"SAFEBEAT_PROXY_USER": "ops"})
    with pytest.raises(MissingVariable, match="DAGSTER_PG_PASSWORD"):
        resolve(compose["services"]["dagster-postgres"], {})
    with pytest.raises(MissingVariable, match="MINIO_ROOT_USER"):
        resolve(compose["services"]["minio"], {})


# --- dependencies, health, volumes, ports ---------------------------------------------------------


def test_depends_on_targets_and_conditions(services):
    for name, svc in services.items():
        deps = svc.get("depends_on") or {}
        assert isinstance(deps, dict), f"{name}: use the long form with conditions"
        conditions = {target: spec["condition"] for target, spec in deps.items()}
        assert conditions == EXPECTED_DEPENDS_ON[name], name
        for target, condition in conditions.items():
            assert target in services, f"{name} depends on unknown {target}"
            if condition == HEALTHY:
                assert "healthcheck" in services[target], f"{target} has no healthcheck"
            if condition == COMPLETED:
                assert target in ONE_SHOT


def test_everything_waits_for_the_secrets_check(services):
    for name, svc in services.items():
        if name != "check-secrets":
            deps = svc.get("depends_on") or {}
            assert deps.get("check-secrets", {}).get("condition") == COMPLETED, name


def test_dependency_graph_is_acyclic(services):
    done: set[str] = set()
    remaining = dict(services)
    while remaining:
        ready = [n for n, s in remaining.items() if set(s.get("depends_on") or {}) <= done]
        assert ready, f"dependency cycle among {sorted(remaining)}"
        for n in ready:
            done.add(n)
            del remaining[n]


def test_healthchecks_and_restart_policies(services):
    for name in LONG_RUNNING:
        hc = services[name].get("healthcheck")
        assert hc and hc.get("test") and not hc.get("disable"), f"{name} needs a healthcheck"
        assert services[name]["restart"] == "unless-stopped", name
    for name in ONE_SHOT:
        assert services[name]["restart"] == "no", name
        assert "healthcheck" not in services[name]
    for name in ("postgis", "dagster-postgres"):
        assert "pg_isready" in " ".join(services[name]["healthcheck"]["test"])
    code_port = option(command_of(services["code-server"]), "-p", "--port")
    assert services["code-server"]["healthcheck"]["test"] == [
        "CMD",
        "dagster",
        "api",
        "grpc-health-check",
        "-p",
        code_port,
    ]
    web_port = option(command_of(services["webserver"]), "-p", "--port")
    assert f"127.0.0.1:{web_port}/" in " ".join(services["webserver"]["healthcheck"]["test"])
    assert services["minio"]["healthcheck"]["test"] == ["CMD", "mc", "ready", "local"]
    assert services["daemon"]["healthcheck"]["test"] == ["CMD", "dagster-daemon", "liveness-check"]


def test_named_volumes(compose, services, dagster_home):
    declared = set(compose.get("volumes") or {})
    used: dict[str, set[tuple[str, str]]] = {}
    for name, svc in services.items():
        for spec in svc.get("volumes") or []:
            source, target = str(spec).split(":")[:2]
            if not source.startswith((".", "/", "~", "$")):
                used.setdefault(source, set()).add((name, target))
    assert set(used) <= declared, f"undeclared volumes {sorted(set(used) - declared)}"
    assert declared <= set(used), f"unused volumes {sorted(declared - set(used))}"
    mounts = {(svc, target): vol for vol, pairs in used.items() for svc, target in pairs}
    pgdata = "/var/lib/postgresql/data"
    assert mounts[("postgis", pgdata)] != mounts[("dagster-postgres", pgdata)]
    assert mounts[("minio", command_of(services["minio"])[1])]  # the `server <dir>` directory
    # One volume for $DAGSTER_HOME/storage (compute logs) on every long-running Dagster service.
    storage = {mounts.get((svc, f"{dagster_home}/storage")) for svc in DAGSTER_SERVICES[:3]}
    assert len(storage) == 1 and None not in storage, storage


def test_published_ports(services):
    seen: dict[int, tuple[str, int]] = {}
    for name, svc in services.items():
        for host, container in published_ports(svc).items():
            assert host not in seen, f"host port {host} published twice"
            seen[host] = (name, container)
    assert seen == EXPECTED_PUBLISHED
    # Published on this machine only unless SAFEBEAT_BIND_ADDRESS says otherwise.
    for svc in services.values():
        for spec in svc.get("ports") or []:
            assert interpolate(str(spec), {}).startswith("127.0.0.1:"), spec
    # The login proxy is loopback whatever .env says: its Basic auth travels in clear text.
    for spec in services["proxy"]["ports"]:
        assert str(spec).startswith("127.0.0.1:") and "$" not in str(spec), spec
    # The UI has no login of its own: reachable only through the proxy.
    for name in UNPUBLISHED:
        assert "ports" not in services[name], name
    assert "4000" in [str(p) for p in services["code-server"].get("expose", [])]
    web_port = option(command_of(services["webserver"]), "-p", "--port")
    assert web_port in [str(p) for p in services["webserver"].get("expose", [])]


def test_bind_mounts_exist_read_only(services):
    for name, svc in services.items():
        for spec in svc.get("volumes") or []:
            source, target, *mode = str(spec).split(":")
            if source.startswith("."):
                assert (ROOT / source).is_file(), f"{name}: {source} is missing"
                assert mode == ["ro"], f"{name}: mount {source} read-only"


# --- workspace files ---------------------------------------------------------------------------


def test_workspace_points_at_the_code_server(services):
    location = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["dagster"][
        "code_location_name"
    ]
    entries = yaml.safe_load((ROOT / "workspace.yaml").read_text())["load_from"]
    assert len(entries) == 1 and set(entries[0]) == {"grpc_server"}
    grpc = entries[0]["grpc_server"]
    cmd = command_of(services["code-server"])
    assert grpc["host"] == "code-server" and grpc["host"] in services
    assert str(grpc["port"]) == option(cmd, "-p", "--port")
    assert grpc["location_name"] == location

    local = yaml.safe_load((ROOT / "workspace.local.yaml").read_text())["load_from"]
    assert local == [
        {
            "python_module": {
                "module_name": option(cmd, "-m", "--module-name"),
                "attribute": option(cmd, "-a", "--attribute"),
                "location_name": location,
            }
        }
    ]


# --- image ----------------------------------------------------------------------------------------


def test_dockerfile(dagster_home):
    instructions = dockerfile_instructions()
    froms = [args for kw, args in instructions if kw == "FROM"]
    assert froms and froms[0].split()[0] == "python:3.11-slim"
    runs = [args for kw, args in instructions if kw == "RUN"]
    make_uv = re.search(r"^UV_VERSION\s*:=\s*(\S+)", (ROOT / "Makefile").read_text(), re.M)
    assert make_uv and any(f"uv=={make_uv[1]}" in r for r in runs), "uv pinned like the Makefile"
    syncs = [r for r in runs if "uv sync" in r]
    assert syncs and all("--frozen" in r and "--no-dev" in r for r in syncs), syncs
    assert any("--no-install-project" not in r for r in syncs), "the project itself is installed"

    env = dockerfile_env()
    assert dagster_home == "/opt/dagster/dagster_home"
    venv = env["UV_PROJECT_ENVIRONMENT"]
    assert env["PATH"].split(":")[0] == f"{venv}/bin"
    assert env.get("UV_COMPILE_BYTECODE") == "1"

    copied_to_home: set[str] = set()
    for kw, args in instructions:
        if kw == "COPY" and not args.startswith("--from"):
            *sources, dest = shlex.split(args)
            dest = dest.replace("${DAGSTER_HOME}", dagster_home).replace(
                "$DAGSTER_HOME", dagster_home
            )
            if dest.rstrip("/") == dagster_home:
                copied_to_home |= {Path(s).name for s in sources}
    assert {"dagster.yaml", "workspace.yaml"} <= copied_to_home

    users = [args for kw, args in instructions if kw == "USER"]
    assert users and users[-1] not in ("root", "0"), "the containers must not run as root"


def test_ignore_files():
    dockerignore = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    for entry in (".env", ".git/", ".venv/", ".tools/", "data/", ".pytest_cache/"):
        assert entry in dockerignore, entry
    for needed in ("pyproject.toml", "uv.lock", "README.md", "safebeat_assets", "dagster.yaml"):
        assert not any(line.strip("/") == needed for line in dockerignore), needed
    gitignore = {line.strip() for line in (ROOT / ".gitignore").read_text().splitlines()}
    assert ".env" in gitignore


# --- the real compose, where installed ---------------------------------------------------------


def test_docker_compose_config_agrees(resolved):
    """`docker compose config` (v2; needs no engine) accepts the file and resolves it the same way.
    Skipped on machines without the compose plugin (CI)."""
    docker = shutil.which("docker")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    if (
        not docker
        or subprocess.run([docker, "compose", "version"], capture_output=True, env=env).returncode
    ):
        pytest.skip("docker compose v2 is not installed")
    out = subprocess.run(
        [docker, "compose", "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE_FILE)]
        + ["config", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    config = json.loads(out.stdout)
    for name, svc in resolved["services"].items():
        assert config["services"][name]["environment"] == env_of(svc), name

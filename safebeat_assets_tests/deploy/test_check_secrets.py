"""deploy/check-secrets.sh, the one-shot service every other service waits for: it is wired to
every credential of the stack, and refuses placeholders without ever printing a value."""

import shutil
import subprocess

import pytest

from .compose import (
    DEPLOY,
    ENV_EXAMPLE,
    REQUIRED_REF,
    SECRET_NAME,
    command_of,
    env_of,
    parse_env_file,
    strings,
    variable_refs,
)

SCRIPT = DEPLOY / "check-secrets.sh"
PLACEHOLDER = "change-me"


@pytest.fixture(scope="module")
def checked(services) -> dict[str, int]:
    """NAME -> minimum length, as the service passes them to the script."""
    out = {}
    for spec in command_of(services["check-secrets"]):
        name, _, minimum = spec.partition(":")
        out[name] = int(minimum or 16)
    return out


def good_env(names) -> dict[str, str]:
    # Distinct, long, URL-safe.
    return {
        name: f"Good-{i:02d}-{name.lower().replace('_', '.')}-9f3k" for i, name in enumerate(names)
    }


def run(args, env, shell="sh") -> subprocess.CompletedProcess:
    return subprocess.run(
        [shell, str(SCRIPT), *args],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_service_runs_the_script_on_the_example_file(services):
    svc = services["check-secrets"]
    assert svc["entrypoint"] == ["/bin/sh", "/deploy/check-secrets.sh", "/deploy/.env.example"]
    mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in svc["volumes"]}
    assert mounts == {
        "/deploy/check-secrets.sh": "./deploy/check-secrets.sh",
        "/deploy/.env.example": "./.env.example",
    }
    assert svc["network_mode"] == "none"  # it reads its environment, nothing else


def test_every_placeholder_credential_is_checked(compose, services, checked):
    active, _ = parse_env_file(ENV_EXAMPLE)
    placeholders = {name for name, value in active.items() if PLACEHOLDER in value}
    assert placeholders, "expected change-me placeholders in .env.example"
    assert set(checked) == placeholders
    # Checked as the service receives them: required references to the same variable.
    env = env_of(services["check-secrets"])
    assert set(env) == set(checked)
    for name, value in env.items():
        m = REQUIRED_REF.fullmatch(value)
        assert m and m["name"] == name, f"{name}: {value!r}"
    # Every secret compose requires anywhere is checked (AWS_ACCESS_KEY_ID is a user name with a
    # usable example value, not a placeholder).
    required = {
        name
        for text in strings(compose)
        for name, op in variable_refs(text)
        if op == ":?" and SECRET_NAME.search(name)
    }
    assert required - set(checked) == {"AWS_ACCESS_KEY_ID"}
    assert all(length >= 16 for name, length in checked.items() if "PASSWORD" in name)


def test_placeholders_are_refused_by_name_without_the_value(checked):
    active, _ = parse_env_file(ENV_EXAMPLE)
    env = {name: active[name] for name in checked}
    result = run([str(ENV_EXAMPLE), *[f"{n}:{m}" for n, m in checked.items()]], env)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    for name in checked:
        assert f"check-secrets: {name} still has its placeholder value from .env.example" in lines
    assert PLACEHOLDER not in result.stderr
    assert f"{len(checked)} problem(s)" in lines[-1]


def test_good_values_pass(checked):
    env = good_env(checked)
    result = run([str(ENV_EXAMPLE), *[f"{n}:{m}" for n, m in checked.items()]], env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    for value in env.values():
        assert value not in result.stdout


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "is not set"),
        ("", "is not set"),
        ("Sh0rtPassw0rd", "is shorter than 16 characters"),
        ("my-Change-Me-password-2024", "still contains the placeholder text 'change-me'"),
        ("a-long-enough-p@ssword/with:url-chars", "may only use letters, digits and - _ . ~"),
        ("a long enough password with spaces", "may only use letters, digits and - _ . ~"),
        ("pässwörd-long-enough-1234", "may only use letters, digits and - _ . ~"),
        ("long-enough-password-1234\n", "may only use letters, digits and - _ . ~"),
    ],
)
def test_each_weakness_is_named_without_the_value(value, message):
    env = good_env(["SAFEBEAT_WAREHOUSE_PASSWORD"])
    if value is None:
        del env["SAFEBEAT_WAREHOUSE_PASSWORD"]
    else:
        env["SAFEBEAT_WAREHOUSE_PASSWORD"] = value
    result = run([str(ENV_EXAMPLE), "SAFEBEAT_WAREHOUSE_PASSWORD"], env)
    assert result.returncode == 1
    assert f"check-secrets: SAFEBEAT_WAREHOUSE_PASSWORD {message}" in result.stderr
    if value:
        assert value not in result.stderr + result.stdout
        for part in value.split("-"):
            if len(part) > 4:
                assert part not in result.stderr + result.stdout


def test_a_password_shared_by_two_roles_is_refused():
    shared = "Same-password-for-both-0123"
    env = {
        "SAFEBEAT_WAREHOUSE_PASSWORD": shared,
        "SAFEBEAT_READER_PASSWORD": shared,
        "MINIO_ROOT_USER": "admin",
        "SAFEBEAT_PROXY_USER": "admin",  # user names may repeat
    }
    names = ["SAFEBEAT_WAREHOUSE_PASSWORD", "SAFEBEAT_READER_PASSWORD"]
    result = run([str(ENV_EXAMPLE), *names, "MINIO_ROOT_USER:3", "SAFEBEAT_PROXY_USER:3"], env)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        "check-secrets: SAFEBEAT_READER_PASSWORD has the same value as "
        "SAFEBEAT_WAREHOUSE_PASSWORD; give each its own"
    )
    assert "1 problem(s)" in result.stderr
    assert shared not in result.stderr


def test_usage_errors():
    assert run([], {}).returncode == 2
    assert run([str(ENV_EXAMPLE)], {}).returncode == 2
    assert run(["/nonexistent/.env.example", "X"], {}).returncode == 2
    bad_name = run([str(ENV_EXAMPLE), "X;rm -rf /"], {})
    assert bad_name.returncode == 2 and "not a variable name" in bad_name.stderr
    assert run([str(ENV_EXAMPLE), "X:many"], {}).returncode == 2


@pytest.mark.parametrize("shell", ["dash", "bash", "busybox"])
def test_posix_shells_agree(shell, checked):
    """The image's /bin/sh is dash; the script must not rely on any one shell."""
    path = shutil.which(shell)
    if path is None:
        pytest.skip(f"{shell} is not installed")
    cmd = [path, "sh"] if shell == "busybox" else [path, "--posix"] if shell == "bash" else [path]
    args = [str(ENV_EXAMPLE), *[f"{n}:{m}" for n, m in checked.items()]]
    env = {"PATH": "/usr/bin:/bin"}
    ok = subprocess.run(
        [*cmd, str(SCRIPT), *args], env={**env, **good_env(checked)}, capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    active, _ = parse_env_file(ENV_EXAMPLE)
    placeholders = {name: active[name] for name in checked}
    bad = subprocess.run(
        [*cmd, str(SCRIPT), *args], env={**env, **placeholders}, capture_output=True, text=True
    )
    assert bad.returncode == 1 and bad.stderr.count("placeholder value") == len(checked)

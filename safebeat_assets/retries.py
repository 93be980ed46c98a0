"""Retries for transient failures only, in Dagster terms.

Every step that talks to the warehouse, the lake or the landing zone carries a `RetryPolicy`
(3 retries, exponential backoff from the profile's delay: 5 minutes in production, seconds
locally). Dagster's policy would retry *any* exception, so the steps and the IO managers turn
every failure that `errors.is_transient` does not recognise (a schema error, an unparseable
file, a refused destructive load, a bug) into `dg.Failure(allow_retries=False)`: it fails at
once with its own message.

The delay is read from the environment when the definitions are imported (the policy is part
of each op's definition); `SAFEBEAT_RETRY_DELAY_SECONDS` overrides the profile's default.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg

from .errors import is_transient
from .settings import RETRY_ATTEMPTS, RETRY_DELAY_SECONDS, SettingsError, load_settings


def retry_policy(delay_seconds: float) -> dg.RetryPolicy:
    return dg.RetryPolicy(
        max_retries=RETRY_ATTEMPTS, delay=delay_seconds, backoff=dg.Backoff.EXPONENTIAL
    )


def _policy_from_environment() -> dg.RetryPolicy:
    try:
        return retry_policy(load_settings().retry_delay_seconds)
    except SettingsError:
        # A broken environment is reported by the definitions' own settings load, with its
        # message; the policy alone falls back to the local default.
        return retry_policy(RETRY_DELAY_SECONDS["local"])


TRANSIENT_RETRY = _policy_from_environment()


def _permanent(exc: BaseException) -> dg.Failure:
    return dg.Failure(
        description=f"{type(exc).__name__}: {exc}",
        metadata={"error_type": type(exc).__name__, "retried": False},
        allow_retries=False,
    )


@contextmanager
def fail_fast_unless_transient() -> Iterator[None]:
    """Re-raise transient failures (retried by the step's policy); anything else becomes a
    `dg.Failure` that bypasses the policy."""
    try:
        yield
    except (dg.Failure, dg.RetryRequested, dg.DagsterError):
        raise
    except Exception as exc:
        if is_transient(exc):
            raise
        raise _permanent(exc) from exc


def fail_fast_unless_transient_fn(compute: Callable[..., Any]) -> Callable[..., Any]:
    """`compute` (a plain or generator asset body) under `fail_fast_unless_transient`; the
    signature Dagster inspects is preserved."""
    if inspect.isgeneratorfunction(compute):

        @functools.wraps(compute)
        def generate(*args: Any, **kwargs: Any):
            with fail_fast_unless_transient():
                yield from compute(*args, **kwargs)

        return generate

    @functools.wraps(compute)
    def call(*args: Any, **kwargs: Any):
        with fail_fast_unless_transient():
            return compute(*args, **kwargs)

    return call

"""Transient failures are retried by the step's policy; everything else fails at once."""

import dagster as dg
import psycopg2
import psycopg2.errors
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from safebeat_assets.errors import (
    DataError,
    DestructiveChangeError,
    SourceFormatError,
    WarehouseUnavailableError,
    is_transient,
)
from safebeat_assets.retries import fail_fast_unless_transient, fail_fast_unless_transient_fn
from safebeat_assets.retries import retry_policy as build_policy
from safebeat_assets.settings import RETRY_ATTEMPTS, load_settings


def _client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "PutObject",
    )


@pytest.mark.parametrize(
    "error",
    [
        psycopg2.OperationalError("could not connect to server: Connection refused"),
        psycopg2.OperationalError("server closed the connection unexpectedly"),
        psycopg2.errors.SerializationFailure(),
        psycopg2.errors.CannotConnectNow(),
        psycopg2.errors.AdminShutdown(),
        WarehouseUnavailableError("warehouse at 127.0.0.1:5432/safebeat did not answer in 3 s"),
        _client_error("SlowDown", 503),
        _client_error("InternalError", 500),
        EndpointConnectionError(endpoint_url="http://127.0.0.1:9000"),
        ConnectionResetError(),
    ],
    ids=repr,
)
def test_transient_failures_are_recognised(error):
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        SourceFormatError("calls.csv", "not UTF-8", row=3),
        DestructiveChangeError("fact_911_calls: refusing"),
        DataError("schema"),
        psycopg2.errors.UniqueViolation(),
        psycopg2.errors.NumericValueOutOfRange(),
        _client_error("NoSuchKey", 404),
        _client_error("AccessDenied", 403),
        KeyError("column"),
        ValueError("bad"),
    ],
    ids=repr,
)
def test_deterministic_failures_are_not_retried(error):
    assert not is_transient(error)


def test_a_data_error_caused_by_a_connection_error_is_still_not_retried():
    try:
        try:
            raise ConnectionResetError("reset")
        except ConnectionResetError as reset:
            raise SourceFormatError("calls.csv", "truncated") from reset
    except SourceFormatError as error:
        assert not is_transient(error)


def test_non_transient_errors_become_failures_that_bypass_the_policy():
    with pytest.raises(dg.Failure) as raised, fail_fast_unless_transient():
        raise SourceFormatError("calls.csv", "not UTF-8", column="Incident Number", row=2)
    assert raised.value.allow_retries is False
    assert "calls.csv, column 'Incident Number', row 2: not UTF-8" in raised.value.description
    with pytest.raises(psycopg2.OperationalError), fail_fast_unless_transient():
        raise psycopg2.OperationalError("could not connect to server: Connection refused")


def test_policy_follows_the_profile():
    assert load_settings({"SAFEBEAT_ENV": "local"}).retry_delay_seconds == 2.0
    prod = {
        "SAFEBEAT_ENV": "prod",
        "SAFEBEAT_WAREHOUSE_URL": "postgresql://x",
        "AWS_ACCESS_KEY_ID": "a",
        "AWS_SECRET_ACCESS_KEY": "b",
    }
    assert load_settings(prod).retry_delay_seconds == 300.0
    policy = build_policy(300.0)
    assert policy.max_retries == RETRY_ATTEMPTS == 3
    assert [policy.calculate_delay(n) for n in (1, 2, 3)] == [
        300.0,
        900.0,
        2100.0,
    ]  # Dagster's exponential backoff


def _flaky_asset(error: Exception, failures: int):
    attempts = []

    @dg.asset(retry_policy=build_policy(0.0))
    @fail_fast_unless_transient_fn
    def flaky():
        attempts.append(1)
        if len(attempts) <= failures:
            raise error
        return 1

    return flaky, attempts


def test_a_step_retries_a_transient_failure_and_then_succeeds():
    flaky, attempts = _flaky_asset(psycopg2.OperationalError("connection refused"), failures=2)
    result = dg.materialize([flaky], raise_on_error=False)
    assert result.success
    assert len(attempts) == 3


def test_a_step_gives_up_after_three_retries():
    flaky, attempts = _flaky_asset(ConnectionResetError("reset by peer"), failures=10)
    result = dg.materialize([flaky], raise_on_error=False)
    assert not result.success
    assert len(attempts) == 1 + RETRY_ATTEMPTS


def test_a_data_error_fails_the_step_at_once():
    flaky, attempts = _flaky_asset(SourceFormatError("calls.csv", "not a workbook"), failures=10)
    result = dg.materialize([flaky], raise_on_error=False)
    assert not result.success
    assert len(attempts) == 1
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "calls.csv: not a workbook" in failure.step_failure_data.error.message

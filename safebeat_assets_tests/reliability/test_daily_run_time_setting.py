"""The daily schedule's time of day: 03:00 UTC unless set, the report due two hours later, and a
clear error for a value that is not a time."""

from datetime import UTC, datetime

import pytest

from safebeat_assets.benchmark.daemon import daemon_environment
from safebeat_assets.defs.automation import report_deadline_cron
from safebeat_assets.defs.schedules import daily_cron
from safebeat_assets.settings import ENV_DAILY_RUN_UTC, SettingsError, daily_run_utc


def test_default_is_three_in_the_morning_utc_with_the_report_due_at_five():
    assert daily_run_utc({}) == (3, 0)
    assert daily_cron({}) == "0 3 * * *"
    assert report_deadline_cron({}) == "0 5 * * *"


def test_another_time_moves_the_schedule_and_the_report_deadline_together():
    env = {ENV_DAILY_RUN_UTC: " 23:30 "}
    assert daily_run_utc(env) == (23, 30)
    assert daily_cron(env) == "30 23 * * *"
    assert report_deadline_cron(env) == "30 1 * * *"


@pytest.mark.parametrize("value", ["24:00", "3", "03:60", "3pm", "03:00:00"])
def test_a_value_that_is_not_a_time_of_day_is_refused_by_name(value):
    with pytest.raises(SettingsError, match="is not a time of day as HH:MM") as raised:
        daily_run_utc({ENV_DAILY_RUN_UTC: value})
    assert ENV_DAILY_RUN_UTC in str(raised.value)


def test_the_daemon_measurements_keep_the_daily_run_out_of_their_way(tmp_path):
    # Twelve hours from now: a daemon-driven test or benchmark that crossed 03:00 UTC saw the
    # daily run re-read the landing zone and counted its raw assets twice.
    hour, minute = daily_run_utc(daemon_environment({}, tmp_path))
    now = datetime.now(UTC)
    away = ((hour * 60 + minute) - (now.hour * 60 + now.minute)) % (24 * 60)
    assert 11 * 60 <= away <= 13 * 60

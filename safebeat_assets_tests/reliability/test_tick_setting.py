"""The sensors' tick interval: a setting with a floor, and a clear error otherwise."""

import pytest

from safebeat_assets.settings import (
    ENV_AUTOMATION_TICK_SECONDS,
    SettingsError,
    automation_tick_seconds,
)


def test_production_default_and_override():
    assert automation_tick_seconds({}) == 30
    assert automation_tick_seconds({ENV_AUTOMATION_TICK_SECONDS: " 5 "}) == 5


@pytest.mark.parametrize(
    ("value", "message"), [("4", "at least 5, got 4"), ("fast", "is not a whole number")]
)
def test_bad_values_are_refused_by_name(value, message):
    with pytest.raises(SettingsError, match=message) as raised:
        automation_tick_seconds({ENV_AUTOMATION_TICK_SECONDS: value})
    assert ENV_AUTOMATION_TICK_SECONDS in str(raised.value)

"""Durations as people write them (3600, '90d', '1h30m') and times as modules return them."""
import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.durations import InvalidDuration, format_duration, iso_time, parse_duration


@pytest.mark.parametrize("given,seconds", [
    (3600, 3600), ("3600", 3600), ("90s", 90), ("15m", 900), ("1h", 3600), ("7d", 604800), ("2w", 1209600),
    ("1h30m", 5400), ("1H30M", 5400), (0, 0), ("0", 0),
])
def test_durations_that_may_be_zero(given, seconds):
    assert parse_duration('expiration', given, allow_zero=True) == seconds


@pytest.mark.parametrize("given", ["soon", "1y", "h", "", "1.5h", -1, True, "1h soon"])
def test_bad_durations(given):
    with pytest.raises(InvalidDuration):
        parse_duration('expiration', given, allow_zero=True)


@pytest.mark.parametrize("value,seconds", [
    (3600, 3600), ("3600", 3600), ("90d", 90 * 86400), ("12h", 43200), ("30m", 1800), ("45s", 45), ("2w", 1209600),
    ("1h30m", 5400), ("1d12h", 129600), (" 1D ", 86400), ("1w2d3h4m5s", 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5),
])
def test_durations(value, seconds):
    assert parse_duration("max_age", value) == seconds


@pytest.mark.parametrize("value", ["", "abc", "-5", "0", 0, -1, "1.5h", "h", "30m1h", "1 h", True, None, 1.5, "1y"])
def test_bad_durations_name_the_option(value):
    with pytest.raises(InvalidDuration, match="^grace_period: expected a positive number of seconds"):
        parse_duration("grace_period", value)


def test_format_duration_reads_like_the_options():
    assert format_duration(5400) == "1h30m"
    assert format_duration(90 * 86400) == "90d"
    assert format_duration(0) == "0s"
    assert format_duration(None) == "unknown"
    assert parse_duration("x", format_duration(1234567)) == 1234567


def test_iso_times_are_utc():
    assert iso_time(0) == "1970-01-01T00:00:00Z"
    assert iso_time(None) is None

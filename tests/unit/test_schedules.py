"""labkit.schedules: EventBridge cron/rate/at expressions and their next firing times.

Plain expressions are checked against croniter (an independent implementation of Unix cron)
through to_unix_cron; the EventBridge-only wildcards (L, W, #, year) against dates worked
out by hand from the calendar.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from croniter import croniter

from labkit.errors import LabKitError
from labkit.schedules import (
    eventbridge_day_of_week,
    next_firings,
    parse_cron,
    parse_rate,
    to_unix_cron,
)

UTC = timezone.utc
T0 = datetime(2026, 11, 26, 4, 30, tzinfo=UTC)  # a Thursday


def test_weekly_monday_six_utc() -> None:
    fires = next_firings("cron(0 6 ? * MON *)", T0, count=3)
    assert fires == [
        datetime(2026, 11, 30, 6, 0, tzinfo=UTC),
        datetime(2026, 12, 7, 6, 0, tzinfo=UTC),
        datetime(2026, 12, 14, 6, 0, tzinfo=UTC),
    ]
    assert all(f.weekday() == 0 for f in fires)


def test_firing_is_strictly_after() -> None:
    at_six = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    assert next_firings("cron(0 6 ? * MON *)", at_six, count=1)[0] == at_six + timedelta(days=7)


def test_day_of_week_numbers_count_from_sunday() -> None:
    assert eventbridge_day_of_week(datetime(2026, 11, 29).date()) == 1  # Sunday
    assert eventbridge_day_of_week(datetime(2026, 11, 30).date()) == 2  # Monday
    assert eventbridge_day_of_week(datetime(2026, 12, 5).date()) == 7  # Saturday
    assert next_firings("cron(0 6 ? * 2 *)", T0, 4) == next_firings("cron(0 6 ? * MON *)", T0, 4)


@pytest.mark.parametrize("expression", [
    "cron(0 6 ? * MON *)",
    "cron(0/15 * * * ? *)",
    "cron(30 8-17 ? * MON-FRI *)",
    "cron(0 0 1 * ? *)",
    "cron(5,35 */6 ? * SUN,WED *)",
    "cron(0 12 15 JAN,JUL ? *)",
    "cron(10 3 ? * 1/2 *)",
    "cron(0 0 29 2 ? *)",
])
def test_matches_croniter(expression: str) -> None:
    unix = to_unix_cron(expression)
    it = croniter(unix, T0)
    expected = [it.get_next(datetime) for _ in range(12)]
    assert next_firings(expression, T0, count=12) == expected


def test_conversion_shifts_day_of_week() -> None:
    assert to_unix_cron("cron(0 6 ? * MON *)") == "0 6 * * 1"
    assert to_unix_cron("cron(0 6 ? * 1-7 *)") == "0 6 * * 0-6"
    assert to_unix_cron("cron(0 6 1 JAN ? *)") == "0 6 1 1 *"


def test_last_day_and_last_weekday_of_month() -> None:
    assert [f.date().isoformat() for f in next_firings("cron(0 0 L * ? *)", T0, 3)] == [
        "2026-11-30", "2026-12-31", "2027-01-31"]
    # 31 Jan 2027 is a Sunday, so LW is Friday 29 Jan; 28 Feb 2027 is a Sunday -> Fri 26.
    assert [f.date().isoformat() for f in next_firings("cron(0 0 LW * ? 2027)", T0, 2)] == [
        "2027-01-29", "2027-02-26"]


def test_nearest_weekday_does_not_leave_the_month() -> None:
    # 1 Aug 2027 is a Sunday -> Monday 2 Aug; 1 May 2027 is a Saturday -> Monday 3 May.
    fires = next_firings("cron(0 9 1W * ? 2027)", T0, 12)
    days = {f.month: f.day for f in fires}
    assert days[8] == 2 and days[5] == 3


def test_nth_and_last_weekday_of_week() -> None:
    # second Tuesday (3#2) and last Friday (6L) of December 2026
    assert next_firings("cron(0 9 ? 12 3#2 2026)", T0, 5) == [
        datetime(2026, 12, 8, 9, 0, tzinfo=UTC)]
    assert next_firings("cron(0 9 ? 12 6L 2026)", T0, 5) == [
        datetime(2026, 12, 25, 9, 0, tzinfo=UTC)]


def test_year_field_limits_firings() -> None:
    assert next_firings("cron(0 6 ? * MON 2026)", T0, 10)[-1] == datetime(
        2026, 12, 28, 6, 0, tzinfo=UTC)
    assert len(next_firings("cron(0 6 ? * MON 2026)", T0, 10)) == 5


def test_time_zone_is_respected() -> None:
    fires = next_firings("cron(0 6 ? * MON *)", T0, 1, timezone="Europe/Berlin")
    assert fires[0].utcoffset() == timedelta(hours=1)
    assert fires[0].astimezone(UTC).hour == 5


def test_rate_and_at() -> None:
    assert parse_rate("rate(7 days)") == timedelta(days=7)
    assert parse_rate("rate(1 hour)") == timedelta(hours=1)
    start = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    assert next_firings("rate(7 days)", T0, 2, start=start) == [
        datetime(2026, 11, 27, 6, 0, tzinfo=UTC), datetime(2026, 12, 4, 6, 0, tzinfo=UTC)]
    assert next_firings("at(2026-12-01T06:00:00)", T0) == [datetime(2026, 12, 1, 6, tzinfo=UTC)]
    assert next_firings("at(2020-12-01T06:00:00)", T0) == []


@pytest.mark.parametrize("bad", [
    "cron(0 6 * * MON *)",        # both day fields set
    "cron(0 6 ? * ? *)",          # neither day field set
    "cron(0 6 * * *)",            # Unix five fields
    "cron(60 6 ? * MON *)",       # minute out of range
    "cron(0 6 ? * 0 *)",          # 0 is not a day of week in EventBridge
    "cron(0 6 ? * FRI-MON *)",    # backwards range
    "cron(0 6 L * MON *)",
    "rate(1 days)",
    "rate(0 minutes)",
    "rate(5 weeks)",
])
def test_invalid_expressions_raise(bad: str) -> None:
    with pytest.raises(LabKitError) as info:
        next_firings(bad, T0)
    assert "What to do" in str(info.value)


def test_naive_datetime_refused() -> None:
    with pytest.raises(LabKitError):
        next_firings("cron(0 6 ? * MON *)", datetime(2026, 11, 26))


def test_parse_cron_keeps_source() -> None:
    cron = parse_cron("0 6 ? * MON *")
    assert cron.source == "cron(0 6 ? * MON *)"
    assert cron.days_of_week == frozenset({2}) and cron.days_of_month is None


def test_to_unix_cron_refuses_what_it_cannot_express() -> None:
    with pytest.raises(LabKitError):
        to_unix_cron("cron(0 6 ? * MON 2027)")
    with pytest.raises(LabKitError):
        to_unix_cron("cron(0 0 L * ? *)")

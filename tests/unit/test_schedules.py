"""labkit.standins.schedules: when an EventBridge cron or rate expression fires.

Two independent references, neither of them the code under test:
* plain expressions against croniter, with the Unix cron strings written by hand next to
  them (Unix counts Sunday as 0, EventBridge as 1, so each day-of-week is shifted by hand);
* the EventBridge-only wildcards (L, LW, W, #) against dates typed by hand from a 2027
  calendar. 1 January 2027 is a Friday, so the months start on: Jan Fri, Feb Mon, Mar Mon,
  Apr Thu, May Sat, Jun Tue, Jul Thu, Aug Sun, Sep Wed, Oct Fri, Nov Mon, Dec Wed.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from croniter import croniter

from labkit.errors import LabKitError
from labkit.standins.schedules import (
    eventbridge_day_of_week,
    next_firings,
    parse_rate,
)

UTC = timezone.utc
T0 = datetime(2026, 11, 26, 4, 30, tzinfo=UTC)  # a Thursday
NEW_YEAR_2027 = datetime(2027, 1, 1, 0, 0, tzinfo=UTC)  # a Friday, before 09:00


def days_in_2027(expression: str) -> list[str]:
    """Every day ``expression`` fires in 2027 (it must fire at most once a day)."""
    fires = next_firings(expression, NEW_YEAR_2027 - timedelta(seconds=1), count=400)
    return [f.date().isoformat() for f in fires if f.year == 2027]


def dates(month_days: list[tuple[int, int]]) -> list[str]:
    return [date(2027, m, d).isoformat() for m, d in month_days]


# ----------------------------------------------------------------------------- hand-worked 2027
def test_last_friday_6L_for_a_whole_year() -> None:
    assert days_in_2027("cron(0 9 ? * 6L 2027)") == dates([
        (1, 29), (2, 26), (3, 26), (4, 30), (5, 28), (6, 25),
        (7, 30), (8, 27), (9, 24), (10, 29), (11, 26), (12, 31)])


def test_second_tuesday_3_hash_2_for_a_whole_year() -> None:
    assert days_in_2027("cron(0 9 ? * 3#2 2027)") == dates([
        (1, 12), (2, 9), (3, 9), (4, 13), (5, 11), (6, 8),
        (7, 13), (8, 10), (9, 14), (10, 12), (11, 9), (12, 14)])


def test_fifth_monday_exists_only_in_four_months_of_2027() -> None:
    assert days_in_2027("cron(0 9 ? * MON#5 2027)") == dates([
        (3, 29), (5, 31), (8, 30), (11, 29)])


def test_first_sunday_1_hash_1() -> None:
    assert days_in_2027("cron(0 9 ? * 1#1 2027)") == dates([
        (1, 3), (2, 7), (3, 7), (4, 4), (5, 2), (6, 6),
        (7, 4), (8, 1), (9, 5), (10, 3), (11, 7), (12, 5)])


def test_last_day_of_month_L() -> None:
    assert days_in_2027("cron(0 0 L * ? 2027)") == dates([
        (1, 31), (2, 28), (3, 31), (4, 30), (5, 31), (6, 30),
        (7, 31), (8, 31), (9, 30), (10, 31), (11, 30), (12, 31)])


def test_last_weekday_of_month_LW() -> None:
    assert days_in_2027("cron(0 0 LW * ? 2027)") == dates([
        (1, 29), (2, 26), (3, 31), (4, 30), (5, 31), (6, 30),
        (7, 30), (8, 31), (9, 30), (10, 29), (11, 30), (12, 31)])


def test_nearest_weekday_to_the_first_1W_never_leaves_the_month() -> None:
    # 1 May 2027 is a Saturday: the nearest weekday in May is Monday 3 (not Friday 30 April);
    # 1 Aug is a Sunday -> Monday 2; 1 Jan is a Friday; 1 Feb a Monday.
    days = days_in_2027("cron(0 9 1W * ? 2027)")
    assert days == dates([(1, 1), (2, 1), (3, 1), (4, 1), (5, 3), (6, 1),
                          (7, 1), (8, 2), (9, 1), (10, 1), (11, 1), (12, 1)])


def test_L_alone_in_day_of_week_is_saturday() -> None:
    assert days_in_2027("cron(0 9 ? 1 L 2027)") == dates([(1, 2), (1, 9), (1, 16), (1, 23),
                                                            (1, 30)])


# ----------------------------------------------------------------------------- against croniter
@pytest.mark.parametrize(("eventbridge", "unix"), [
    ("cron(0 6 ? * MON *)", "0 6 * * 1"),
    ("cron(0/15 * * * ? *)", "*/15 * * * *"),
    ("cron(30 8-17 ? * MON-FRI *)", "30 8-17 * * 1-5"),
    ("cron(0 0 1 * ? *)", "0 0 1 * *"),
    ("cron(5,35 */6 ? * SUN,WED *)", "5,35 */6 * * 0,3"),
    ("cron(0 12 15 JAN,JUL ? *)", "0 12 15 1,7 *"),
    ("cron(10 3 ? * 1/2 *)", "10 3 * * 0,2,4,6"),
    ("cron(0 0 29 2 ? *)", "0 0 29 2 *"),
    ("cron(0 6 ? * 1-7 *)", "0 6 * * 0-6"),
    ("cron(0 9 ? * 3#2 *)", "0 9 * * 2#2"),
    ("cron(0 9 ? * 6L *)", "0 9 * * L5"),
    ("cron(0 9 L * ? *)", "0 9 L * *"),
])
def test_matches_croniter(eventbridge: str, unix: str) -> None:
    it = croniter(unix, T0)
    expected = [it.get_next(datetime) for _ in range(15)]
    assert next_firings(eventbridge, T0, count=15) == expected


# ----------------------------------------------------------------------------- the rest
def test_weekly_monday_six_utc() -> None:
    assert next_firings("cron(0 6 ? * MON *)", T0, count=3) == [
        datetime(2026, 11, 30, 6, 0, tzinfo=UTC),
        datetime(2026, 12, 7, 6, 0, tzinfo=UTC),
        datetime(2026, 12, 14, 6, 0, tzinfo=UTC),
    ]


def test_firing_is_strictly_after() -> None:
    at_six = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    assert next_firings("cron(0 6 ? * MON *)", at_six, count=1) == [
        datetime(2026, 12, 7, 6, 0, tzinfo=UTC)]


def test_end_date_stops_firing() -> None:
    # Scheduler's EndDate: four weeks from Thursday 26 Nov 2026 04:30 is 24 Dec 04:30.
    end = T0 + timedelta(weeks=4)
    assert next_firings("cron(0 6 ? * MON *)", T0, count=10, end=end) == [
        datetime(2026, 11, 30, 6, 0, tzinfo=UTC), datetime(2026, 12, 7, 6, 0, tzinfo=UTC),
        datetime(2026, 12, 14, 6, 0, tzinfo=UTC), datetime(2026, 12, 21, 6, 0, tzinfo=UTC)]
    at_end = datetime(2026, 12, 21, 6, 0, tzinfo=UTC)  # nothing fires at the end date itself
    assert len(next_firings("cron(0 6 ? * MON *)", T0, count=10, end=at_end)) == 3


def test_day_of_week_numbers_count_from_sunday() -> None:
    assert eventbridge_day_of_week(date(2026, 11, 29)) == 1  # Sunday
    assert eventbridge_day_of_week(date(2026, 11, 30)) == 2  # Monday
    assert eventbridge_day_of_week(date(2026, 12, 5)) == 7  # Saturday


def test_year_field_limits_firings() -> None:
    fires = next_firings("cron(0 6 ? * MON 2026)", T0, 10)
    assert len(fires) == 5 and fires[-1] == datetime(2026, 12, 28, 6, 0, tzinfo=UTC)


def test_time_zone_is_respected() -> None:
    (fire,) = next_firings("cron(0 6 ? * MON *)", T0, 1, timezone="Europe/Berlin")
    assert fire.utcoffset() == timedelta(hours=1)  # CET in November
    assert fire.astimezone(UTC) == datetime(2026, 11, 30, 5, 0, tzinfo=UTC)


def test_rate() -> None:
    assert parse_rate("rate(7 days)") == timedelta(days=7)
    assert parse_rate("rate(1 hour)") == timedelta(hours=1)
    assert parse_rate("rate(5 minutes)") == timedelta(minutes=5)
    start = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    assert next_firings("rate(7 days)", T0, 2, start=start) == [
        datetime(2026, 11, 27, 6, 0, tzinfo=UTC), datetime(2026, 12, 4, 6, 0, tzinfo=UTC)]
    end = datetime(2026, 12, 4, 6, 0, tzinfo=UTC)
    assert next_firings("rate(7 days)", T0, 5, start=start, end=end) == [
        datetime(2026, 11, 27, 6, 0, tzinfo=UTC)]


@pytest.mark.parametrize("bad", [
    "cron(0 6 * * MON *)",        # both day fields set
    "cron(0 6 ? * ? *)",          # neither day field set
    "cron(0 6 * * *)",            # Unix five fields
    "cron(60 6 ? * MON *)",       # minute out of range
    "cron(0 6 ? * 0 *)",          # 0 is not a day of week in EventBridge
    "cron(0 6 ? * FRI-MON *)",    # backwards range
    "cron(0 6 L * MON *)",
    "cron(0 6 ? * 3#6 *)",        # there is no sixth Tuesday
    "cron(0 6 3#2 * ? *)",        # '#' belongs in day-of-week
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

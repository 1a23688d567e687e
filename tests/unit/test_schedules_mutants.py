"""labkit.standins.schedules: the cases the mutation run found unchecked.

Dates are worked by hand from the 2027 calendar (1 January 2027 is a Friday; the months
start on Fri, Mon, Mon, Thu, Sat, Tue, Thu, Sun, Wed, Fri, Mon, Wed; day ``d`` of a month
falls ``(d - 1) mod 7`` weekdays after the 1st). ``W`` is the weekday nearest the given day
without leaving the month, as EventBridge documents it
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html).
Error messages are the learner's only guide, so each is checked word for word.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from labkit.errors import LabKitError
from labkit.standins.schedules import next_firings

UTC = timezone.utc
NEW_YEAR_2027 = datetime(2027, 1, 1, 0, 0, tzinfo=UTC)
FIX = ("write cron(minutes hours day-of-month month day-of-week year) with '?' in one day "
       "field, e.g. cron(0 6 ? * MON *), or rate(7 days).")


def days_in_2027(expression: str) -> list[str]:
    fires = next_firings(expression, NEW_YEAR_2027 - timedelta(seconds=1), count=400)
    return [f.date().isoformat() for f in fires if f.year == 2027]


def dates(month_days: list[tuple[int, int]]) -> list[str]:
    return [date(2027, m, d).isoformat() for m, d in month_days]


def test_15W_moves_off_weekends_within_the_month() -> None:
    # The 15th has the weekday of the 1st: Sat 15 May -> Fri 14; Sun 15 Aug -> Mon 16.
    assert days_in_2027("cron(0 9 15W * ? 2027)") == dates([
        (1, 15), (2, 15), (3, 15), (4, 15), (5, 14), (6, 15),
        (7, 15), (8, 16), (9, 15), (10, 15), (11, 15), (12, 15)])


def test_2W_on_a_saturday_goes_back_to_friday_the_first() -> None:
    # The 2nd is a Saturday in January and October 2027: Friday the 1st is nearer.
    assert days_in_2027("cron(0 9 2W * ? 2027)") == dates([
        (1, 1), (2, 2), (3, 2), (4, 2), (5, 3), (6, 2),
        (7, 2), (8, 2), (9, 2), (10, 1), (11, 2), (12, 2)])


def test_31W_fires_only_in_months_with_a_31st() -> None:
    # 31st = 1st + 2 weekdays: Jan Sun -> Fri 29; Mar Wed; May Mon; Jul Sat -> Fri 30;
    # Aug Tue; Oct Sun -> Fri 29; Dec Fri.
    assert days_in_2027("cron(0 9 31W * ? 2027)") == dates([
        (1, 29), (3, 31), (5, 31), (7, 30), (8, 31), (10, 29), (12, 31)])


def test_a_list_of_days_of_the_month() -> None:
    assert days_in_2027("cron(0 9 1,15 2 ? 2027)") == dates([(2, 1), (2, 15)])


def test_last_friday_by_name_is_the_same_as_6L() -> None:
    assert days_in_2027("cron(0 9 ? * FRIL 2027)") == days_in_2027("cron(0 9 ? * 6L 2027)")


def test_a_range_with_equal_ends_is_one_value() -> None:
    after = datetime(2027, 3, 1, 0, 0, tzinfo=UTC)
    assert next_firings("cron(0 5-5 1 3 ? 2027)", after, 3) == [
        datetime(2027, 3, 1, 5, 0, tzinfo=UTC)]


def test_a_step_of_one_is_every_value() -> None:
    after = datetime(2027, 3, 1, 0, 0, tzinfo=UTC)
    assert next_firings("cron(0/1 0 1 3 ? 2027)", after, 3) == [
        datetime(2027, 3, 1, 0, m, tzinfo=UTC) for m in (1, 2, 3)]


def test_upper_case_cron_and_bare_fields_are_read_too() -> None:
    after = datetime(2026, 11, 26, 4, 30, tzinfo=UTC)
    expected = next_firings("cron(0 6 ? * MON *)", after, 2)
    assert next_firings("CRON(0 6 ? * MON *)", after, 2) == expected
    assert next_firings("0 6 ? * MON *", after, 2) == expected


def test_five_firings_unless_asked() -> None:
    after = datetime(2026, 11, 26, 4, 30, tzinfo=UTC)
    assert len(next_firings("cron(0 6 ? * MON *)", after)) == 5


def test_cron_days_are_the_time_zones_days() -> None:
    # 04:30 UTC on Thursday 26 Nov 2026 is 20:30 on Wednesday 25 Nov in Los Angeles (PST,
    # UTC-8): a 22:00 daily schedule there fires first at 22:00 PST that same Wednesday.
    after = datetime(2026, 11, 26, 4, 30, tzinfo=UTC)
    (first,) = next_firings("cron(0 22 * * ? *)", after, 1, timezone="America/Los_Angeles")
    assert first.astimezone(UTC) == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    assert first.utcoffset() == timedelta(hours=-8)


def test_rate_firings_are_given_in_the_time_zone() -> None:
    start = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    (first,) = next_firings("rate(1 day)", start, 1, timezone="Europe/Berlin", start=start)
    assert first.utcoffset() == timedelta(hours=1)
    assert first.astimezone(UTC) == datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


def test_a_rate_starting_later_fires_first_at_its_start() -> None:
    after = datetime(2026, 11, 26, 4, 30, tzinfo=UTC)
    start = after + timedelta(minutes=30)
    assert next_firings("rate(1 hour)", after, 2, start=start) == [
        start, start + timedelta(hours=1)]


def test_a_rate_firing_exactly_at_after_is_not_after_it() -> None:
    start = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    after = start + timedelta(days=7)
    assert next_firings("rate(7 days)", after, 1, start=start) == [
        start + timedelta(days=14)]


@pytest.mark.parametrize(("expression", "why"), [
    ("cron(0 6 * * MON *)", "exactly one of day-of-month and day-of-week must be '?'"),
    ("cron(0 6 * *)", "a cron expression has 6 fields, this one has 4"),
    ("cron(60 6 ? * MON *)", "'60' is not a value of the minutes field"),
    ("cron(0/0 6 ? * MON *)", "the step '0' in the minutes field"),
    ("cron(0/x 6 ? * MON *)", "the step 'X' in the minutes field"),  # fields upper-cased
    ("cron(0 9-8 ? * MON *)", "the range '9-8' in the hours field runs backwards"),
    ("cron(0 25-26 ? * MON *)", "'25' is not a value of the hours field"),
    ("cron(0 1-2-3 ? * MON *)", "'2-3' is not a value of the hours field"),
    ("cron(0 6 1L * ? *)", "'1L' is not allowed in the day-of-month field"),
    ("cron(0 6 3#2 * ? *)", "'3#2' is not allowed in the day-of-month field"),
    ("cron(0 6 32W * ? *)", "'32' is not a value of the day-of-month field"),
    ("cron(0 6 32 * ? *)", "'32' is not a value of the day-of-month field"),
    ("cron(0 6 ? * 3#2#1 *)", "'#2#1': the week number must be 1-5"),
    ("cron(0 6 ? * 3#6 *)", "'#6': the week number must be 1-5"),
    ("cron(0 6 ? * 9#1 *)", "'9' is not a value of the day-of-week field"),
    ("cron(0 6 ? * 8L *)", "'8' is not a value of the day-of-week field"),
    ("cron(0 6 ? * 8 *)", "'8' is not a value of the day-of-week field"),
    ("cron(0 6 ? 13 MON *)", "'13' is not a value of the month field"),
    ("rate(0 minutes)", "a rate is rate(value unit), value >= 1, unit minute(s), hour(s) "
                        "or day(s)"),
    ("rate(2 day)", "use rate(1 day) for one, rate(7 days) for more"),
])
def test_each_error_says_what_and_how(expression: str, why: str) -> None:
    with pytest.raises(LabKitError) as info:
        next_firings(expression, NEW_YEAR_2027)
    assert info.value.problem == (
        f"{expression!r} is not a valid EventBridge schedule expression: {why}.")
    assert info.value.fix == FIX


def test_a_naive_time_is_refused_with_advice() -> None:
    with pytest.raises(LabKitError) as info:
        next_firings("rate(1 day)", datetime(2027, 1, 1))
    assert info.value.problem == "next_firings(after=…) got a naive datetime."
    assert info.value.fix == "pass an aware one, e.g. datetime.now(timezone.utc)."

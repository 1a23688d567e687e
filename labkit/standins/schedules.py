"""Stand-in for EventBridge's clock: when a schedule expression would fire.

moto stores EventBridge rules and Scheduler schedules but never fires them, so the labs
compute the firing times from the expression itself. Expressions, as EventBridge reads them
(https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html):

``cron(minutes hours day-of-month month day-of-week year)``
    Day-of-week counts ``1 = SUN`` … ``7 = SAT``; exactly one day field is ``?``. Wildcards
    ``, - * /``, and in the day fields ``L`` (last day; ``6L`` = last Friday), ``W``
    (``15W`` = weekday nearest the 15th, ``LW`` = last weekday) and ``#`` (``3#2`` = second
    Tuesday).
``rate(value unit)``
    Every ``value`` minutes, hours or days from the start.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from labkit.errors import LabKitError

_NAMES = {
    "month": ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV",
              "DEC"],
    "day-of-week": ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
}
_BOUNDS = {"minutes": (0, 59), "hours": (0, 23), "day-of-month": (1, 31), "month": (1, 12),
           "day-of-week": (1, 7), "year": (1970, 2199)}
_FIELDS = tuple(_BOUNDS)
DayRule = Callable[[date], bool]


def _error(expression: str, why: str) -> LabKitError:
    return LabKitError(
        f"{expression!r} is not a valid EventBridge schedule expression: {why}.",
        "write cron(minutes hours day-of-month month day-of-week year) with '?' in one "
        "day field, e.g. cron(0 6 ? * MON *), or rate(7 days).",
    )


def eventbridge_day_of_week(day: date) -> int:
    """EventBridge's day-of-week number: 1 = Sunday, 2 = Monday, … 7 = Saturday."""
    return (day.weekday() + 1) % 7 + 1


def _value(token: str, field: str, expression: str) -> int:
    names = _NAMES.get(field, [])
    if token.upper() in names:
        return names.index(token.upper()) + 1
    low, high = _BOUNDS[field]
    if not token.isdigit() or not low <= int(token) <= high:
        raise _error(expression, f"{token!r} is not a value of the {field} field")
    return int(token)


def _values(part: str, field: str, expression: str) -> set[int]:
    """``*``, ``a``, ``a-b`` and ``x/n`` (from x to the end, every n)."""
    low, high = _BOUNDS[field]
    head, _, step_text = part.partition("/")
    if step_text and (not step_text.isdigit() or int(step_text) == 0):
        raise _error(expression, f"the step {step_text!r} in the {field} field")
    if head == "*":
        start, end = low, high
    elif "-" in head:
        a, b = head.split("-", 1)
        start, end = _value(a, field, expression), _value(b, field, expression)
        if start > end:
            raise _error(expression, f"the range {head!r} in the {field} field runs backwards")
    else:
        start = _value(head, field, expression)
        end = high if step_text else start
    return set(range(start, end + 1, int(step_text or 1)))


def _nearest_weekday(year: int, month: int, day: int) -> date:
    """The Monday-to-Friday day nearest to ``day``, never leaving the month (``W``)."""
    d = date(year, month, day)
    last = calendar.monthrange(year, month)[1]
    if d.weekday() == 5:  # Saturday: Friday, or Monday if Friday is last month
        return d - timedelta(days=1) if day > 1 else d + timedelta(days=2)
    if d.weekday() == 6:  # Sunday: Monday, or Friday if Monday is next month
        return d + timedelta(days=1) if day < last else d - timedelta(days=2)
    return d


def _day_of_month_rule(part: str, expression: str) -> DayRule:
    if part == "L":
        return lambda d: d.day == calendar.monthrange(d.year, d.month)[1]
    if part == "LW":
        return lambda d: d == _nearest_weekday(
            d.year, d.month, calendar.monthrange(d.year, d.month)[1])
    if part.endswith("W"):
        n = _value(part[:-1], "day-of-month", expression)
        return lambda d: n <= calendar.monthrange(d.year, d.month)[1] and d == (
            _nearest_weekday(d.year, d.month, n))
    if "L" in part or "#" in part:
        raise _error(expression, f"{part!r} is not allowed in the day-of-month field")
    days = _values(part, "day-of-month", expression)
    return lambda d: d.day in days


def _day_of_week_rule(part: str, expression: str) -> DayRule:
    if "#" in part:
        day_text, _, n_text = part.partition("#")
        weekday = _value(day_text, "day-of-week", expression)
        if not n_text.isdigit() or not 1 <= int(n_text) <= 5:
            raise _error(expression, f"'#{n_text}': the week number must be 1-5")
        n = int(n_text)
        return lambda d: eventbridge_day_of_week(d) == weekday and (d.day - 1) // 7 + 1 == n
    if part.endswith("L") and part != "L":
        weekday = _value(part[:-1], "day-of-week", expression)
        return lambda d: eventbridge_day_of_week(d) == weekday and (
            d.day + 7 > calendar.monthrange(d.year, d.month)[1])
    days = {7} if part == "L" else _values(part, "day-of-week", expression)
    return lambda d: eventbridge_day_of_week(d) in days


def _parse_cron(expression: str) -> tuple[dict[str, set[int]], list[DayRule]]:
    match = re.fullmatch(r"cron\((.*)\)", expression.strip().lower())
    fields = (match.group(1) if match else expression).split()
    if len(fields) != 6:
        raise _error(expression, f"a cron expression has 6 fields, this one has {len(fields)}")
    text = dict(zip(_FIELDS, (f.upper() for f in fields)))
    dom, dow = text["day-of-month"], text["day-of-week"]
    if (dom == "?") == (dow == "?"):
        raise _error(expression, "exactly one of day-of-month and day-of-week must be '?'")
    plain: dict[str, set[int]] = {}
    for field in ("minutes", "hours", "month", "year"):
        plain[field] = set()
        for part in text[field].split(","):
            plain[field] |= _values(part, field, expression)
    if dom != "?":
        rules = [_day_of_month_rule(p, expression) for p in dom.split(",")]
    else:
        rules = [_day_of_week_rule(p, expression) for p in dow.split(",")]
    return plain, rules


def parse_rate(expression: str) -> timedelta:
    """``rate(7 days)`` → ``timedelta(days=7)``; the singular unit for 1, plural otherwise."""
    match = re.fullmatch(r"rate\(\s*(\d+)\s+(minutes?|hours?|days?)\s*\)", expression.strip())
    if not match or int(match.group(1)) == 0:
        raise _error(expression, "a rate is rate(value unit), value >= 1, unit minute(s), "
                                 "hour(s) or day(s)")
    value, unit = int(match.group(1)), match.group(2)
    if (value == 1) != (not unit.endswith("s")):
        raise _error(expression, "use rate(1 day) for one, rate(7 days) for more")
    return timedelta(**{unit if unit.endswith("s") else unit + "s": value})


def next_firings(expression: str, after: datetime, count: int = 5, timezone: str = "UTC",
                 start: datetime | None = None, end: datetime | None = None) -> list[datetime]:
    """Up to ``count`` times ``expression`` fires strictly after ``after`` (and before ``end``).

    ``after`` must be time-zone aware; cron fields are read in ``timezone`` (EventBridge
    rules: UTC; Scheduler: the schedule's ``ScheduleExpressionTimezone``). A ``rate`` fires
    at ``start + k × period`` (``start`` defaults to ``after``). ``end`` is Scheduler's
    ``EndDate``: nothing fires at or after it.
    """
    if after.tzinfo is None:
        raise LabKitError("next_firings(after=…) got a naive datetime.",
                          "pass an aware one, e.g. datetime.now(timezone.utc).")
    tz = ZoneInfo(timezone)
    out: list[datetime] = []
    if expression.strip().lower().startswith("rate("):
        period = parse_rate(expression)
        first = (start or after).astimezone(tz)
        k = max(0, int((after - first) / period))
        while len(out) < count and (end is None or first + k * period < end):
            if first + k * period > after:
                out.append(first + k * period)
            k += 1
        return out
    plain, rules = _parse_cron(expression)
    times = sorted((h, m) for h in plain["hours"] for m in plain["minutes"])
    local_after = after.astimezone(tz)
    day = local_after.date()
    while len(out) < count and day.year <= max(plain["year"]):
        if day.year in plain["year"] and day.month in plain["month"] and any(
                rule(day) for rule in rules):
            for hour, minute in times:
                when = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
                if end is not None and when >= end:
                    return out
                if when > local_after and len(out) < count:
                    out.append(when)
        day += timedelta(days=1)
    return out

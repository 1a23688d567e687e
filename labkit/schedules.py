"""EventBridge schedule expressions: parse them and compute when they fire.

EventBridge (rules and EventBridge Scheduler) and SageMaker's ``PipelineSchedule`` take three
kinds of expression:

``cron(minutes hours day-of-month month day-of-week year)``
    Six fields, all in UTC for rules (Scheduler can take a time zone). Day-of-week counts
    ``1 = SUN`` … ``7 = SAT`` (not ``0 = SUN`` as in Unix cron), exactly one of day-of-month
    and day-of-week must be ``?``, and there is a year field. Wildcards: ``,`` ``-`` ``*``
    ``/`` everywhere, ``?`` in the two day fields, ``L`` (last day of month, or ``5L`` = last
    Thursday), ``W`` (``15W`` = weekday nearest the 15th, ``LW`` = last weekday) and ``#``
    (``3#2`` = second Tuesday).
``rate(value unit)``
    Every ``value`` minutes, hours or days (``rate(1 day)``, ``rate(7 days)``).
``at(yyyy-mm-ddThh:mm:ss)``
    Once (EventBridge Scheduler only).

On the ``local`` backend moto stores schedules but never fires them; :func:`next_firings`
says when AWS would. :func:`to_unix_cron` turns an EventBridge cron into the five-field form
that crontab and the ``croniter`` package read (the unit tests use croniter as an
independent reference).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

from labkit.errors import LabKitError

_MONTHS = {m: i for i, m in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1)}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}
_FIELDS = ("minutes", "hours", "day-of-month", "month", "day-of-week", "year")
_BOUNDS = {
    "minutes": (0, 59),
    "hours": (0, 23),
    "day-of-month": (1, 31),
    "month": (1, 12),
    "day-of-week": (1, 7),
    "year": (1970, 2199),
}
_DOCS = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html"


def _error(expression: str, why: str) -> LabKitError:
    return LabKitError(
        f"{expression!r} is not a valid EventBridge schedule expression: {why}.",
        "write cron(minutes hours day-of-month month day-of-week year) with a '?' in one of "
        f"the day fields, e.g. cron(0 6 ? * MON *), or rate(7 days); see {_DOCS}",
    )


@dataclass(frozen=True)
class CronExpression:
    """A parsed EventBridge cron expression (build it with :func:`parse_cron`)."""

    source: str
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    days_of_month: frozenset[int] | None
    """Plain days of the month, or None when day-of-month is ``?``."""
    last_day_of_month: bool = False
    nearest_weekday: frozenset[int] = frozenset()
    last_weekday_of_month: bool = False
    days_of_week: frozenset[int] | None = None
    """Plain days of the week (1 = SUN … 7 = SAT), or None when day-of-week is ``?``."""
    last_of_week_day: frozenset[int] = frozenset()
    nth_week_day: frozenset[tuple[int, int]] = frozenset()
    """``(day, n)`` pairs from ``day#n``: the n-th such day of the month."""

    def matches_day(self, day: date) -> bool:
        """True when the expression fires on ``day`` (at some hour and minute)."""
        if day.year not in self.years or day.month not in self.months:
            return False
        if self.days_of_month is not None:
            return self._matches_day_of_month(day)
        return self._matches_day_of_week(day)

    def _matches_day_of_month(self, day: date) -> bool:
        last = calendar.monthrange(day.year, day.month)[1]
        if day.day in (self.days_of_month or ()):
            return True
        if self.last_day_of_month and day.day == last:
            return True
        if self.last_weekday_of_month and day == _nearest_weekday(day.year, day.month, last):
            return True
        return any(
            n <= last and day == _nearest_weekday(day.year, day.month, n)
            for n in self.nearest_weekday
        )

    def _matches_day_of_week(self, day: date) -> bool:
        dow = eventbridge_day_of_week(day)
        if dow in (self.days_of_week or ()):
            return True
        last = calendar.monthrange(day.year, day.month)[1]
        if dow in self.last_of_week_day and day.day + 7 > last:
            return True
        return (dow, (day.day - 1) // 7 + 1) in self.nth_week_day


def eventbridge_day_of_week(day: date) -> int:
    """EventBridge's day-of-week number: 1 = Sunday, 2 = Monday, … 7 = Saturday."""
    return (day.weekday() + 1) % 7 + 1


def _nearest_weekday(year: int, month: int, day_of_month: int) -> date:
    """The weekday (Mon–Fri) nearest to the given day, never leaving the month (``W``)."""
    d = date(year, month, day_of_month)
    last = calendar.monthrange(year, month)[1]
    if d.weekday() == 5:  # Saturday -> Friday, or Monday if Friday is in the previous month
        return d - timedelta(days=1) if day_of_month > 1 else d + timedelta(days=2)
    if d.weekday() == 6:  # Sunday -> Monday, or Friday if Monday is in the next month
        return d + timedelta(days=1) if day_of_month < last else d - timedelta(days=2)
    return d


def _value(token: str, field: str, expression: str) -> int:
    names = _MONTHS if field == "month" else _DAYS if field == "day-of-week" else {}
    upper = token.upper()
    if upper in names:
        return names[upper]
    if not token.isdigit():
        raise _error(expression, f"{token!r} in the {field} field is not a number or a name")
    value = int(token)
    low, high = _BOUNDS[field]
    if not low <= value <= high:
        raise _error(expression, f"{value} is outside {low}-{high} in the {field} field")
    return value


def _plain_values(part: str, field: str, expression: str) -> set[int]:
    """Values of one comma-separated part without L/W/#: ``*``, ``a``, ``a-b``, ``x/n``."""
    low, high = _BOUNDS[field]
    step = 1
    if "/" in part:
        part, step_text = part.split("/", 1)
        if not step_text.isdigit() or int(step_text) == 0:
            raise _error(expression, f"the step {step_text!r} in the {field} field")
        step = int(step_text)
        if part != "*" and "-" not in part:
            part = f"{part}-{high}"  # 'a/n' means from a to the end, every n
    if part == "*":
        start, end = low, high
    elif "-" in part:
        a, b = part.split("-", 1)
        start, end = _value(a, field, expression), _value(b, field, expression)
        if start > end:
            raise _error(expression, f"the range {part!r} in the {field} field runs backwards")
    else:
        start = end = _value(part, field, expression)
    return set(range(start, end + 1, step))


def parse_cron(expression: str) -> CronExpression:
    """Parse ``cron(…)`` (or its six bare fields) and check it as EventBridge does."""
    text = expression.strip()
    match = re.fullmatch(r"cron\((.*)\)", text, flags=re.IGNORECASE)
    body = match.group(1) if match else text
    fields = body.split()
    if len(fields) != 6:
        raise _error(expression, f"a cron expression has 6 fields ({' '.join(_FIELDS)}), "
                                 f"this one has {len(fields)}")
    values = dict(zip(_FIELDS, fields))
    dom_text, dow_text = values["day-of-month"], values["day-of-week"]
    if (dom_text == "?") == (dow_text == "?"):
        raise _error(expression, "exactly one of day-of-month and day-of-week must be '?'")
    for field in ("minutes", "hours", "month", "year"):
        bare = re.sub(r"[A-Z]{3}", "", values[field].upper()) if field == "month" else values[field]
        if "?" in bare or re.search(r"[LW#]", bare.upper()):
            raise _error(expression, f"'?', 'L', 'W' and '#' are not allowed in the {field} field")

    def plain(field: str) -> frozenset[int]:
        out: set[int] = set()
        for part in values[field].split(","):
            out |= _plain_values(part, field, expression)
        return frozenset(out)

    kwargs: dict[str, object] = {}
    if dom_text != "?":
        days: set[int] = set()
        nearest: set[int] = set()
        for part in dom_text.upper().split(","):
            if part == "L":
                kwargs["last_day_of_month"] = True
            elif part == "LW":
                kwargs["last_weekday_of_month"] = True
            elif part.endswith("W"):
                nearest.add(_value(part[:-1], "day-of-month", expression))
            elif "#" in part or "L" in part:
                raise _error(expression, f"{part!r} is not allowed in the day-of-month field")
            else:
                days |= _plain_values(part, "day-of-month", expression)
        kwargs["days_of_month"] = frozenset(days)
        kwargs["nearest_weekday"] = frozenset(nearest)
    else:
        wdays: set[int] = set()
        last_of: set[int] = set()
        nth: set[tuple[int, int]] = set()
        for part in dow_text.upper().split(","):
            bare = re.sub(r"(SUN|MON|TUE|WED|THU|FRI|SAT)", "", part)
            if "#" in part:
                day_text, n_text = part.split("#", 1)
                if not n_text.isdigit() or not 1 <= int(n_text) <= 5:
                    raise _error(expression, f"'#{n_text}': the week number must be 1-5")
                nth.add((_value(day_text, "day-of-week", expression), int(n_text)))
            elif part == "L":
                wdays.add(7)  # 'L' alone in day-of-week: the last day of the week, Saturday
            elif part.endswith("L"):
                last_of.add(_value(part[:-1], "day-of-week", expression))
            elif "W" in bare:
                raise _error(expression, "'W' is not allowed in the day-of-week field")
            else:
                wdays |= _plain_values(part, "day-of-week", expression)
        kwargs["days_of_month"] = None
        kwargs["days_of_week"] = frozenset(wdays)
        kwargs["last_of_week_day"] = frozenset(last_of)
        kwargs["nth_week_day"] = frozenset(nth)
    return CronExpression(
        source=f"cron({' '.join(fields)})",
        minutes=plain("minutes"),
        hours=plain("hours"),
        months=plain("month"),
        years=plain("year"),
        **kwargs,  # type: ignore[arg-type]
    )


def _cron_firings(cron: CronExpression, after: datetime, count: int, tz: ZoneInfo) -> list[datetime]:
    local_after = after.astimezone(tz)
    out: list[datetime] = []
    day = local_after.date()
    last_year = max(cron.years)
    times = sorted((h, m) for h in cron.hours for m in cron.minutes)
    while len(out) < count and day.year <= last_year:
        if cron.matches_day(day):
            for hour, minute in times:
                when = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
                if when > local_after:
                    out.append(when)
                    if len(out) == count:
                        break
        day += timedelta(days=1)
    return out


def next_firings(
    expression: str,
    after: datetime,
    count: int = 5,
    timezone: str = "UTC",
    start: datetime | None = None,
) -> list[datetime]:
    """The next ``count`` times ``expression`` fires strictly after ``after``.

    ``after`` must be time-zone aware. Cron times are read in ``timezone`` (EventBridge rules:
    always UTC; Scheduler: the schedule's ``ScheduleExpressionTimezone``); the results are
    aware datetimes in that zone. A ``rate(…)`` fires at ``start + k × period`` (``start``
    defaults to ``after``); an ``at(…)`` fires once. Fewer than ``count`` results means the
    expression stops firing (a year range that ends, an ``at`` in the past).
    """
    if after.tzinfo is None:
        raise LabKitError(
            "next_firings(after=…) got a naive datetime.",
            "pass an aware one, e.g. datetime.now(timezone.utc).",
        )
    if count < 1:
        raise LabKitError(f"count must be at least 1, not {count}.", "ask for 1 or more.")
    try:
        tz = ZoneInfo(timezone)
    except Exception as exc:
        raise LabKitError(f"Unknown time zone {timezone!r}.", "use an IANA name such as "
                          "'UTC' or 'Europe/Berlin'.") from exc
    text = expression.strip()
    lower = text.lower()
    if lower.startswith("rate("):
        period = parse_rate(text)
        first = (start or after).astimezone(tz)
        out: list[datetime] = []
        k = max(0, int((after - first) / period))
        while len(out) < count:
            when = first + k * period
            if when > after:
                out.append(when)
            k += 1
        return out
    if lower.startswith("at("):
        when = parse_at(text).replace(tzinfo=tz)
        return [when] if when > after else []
    return _cron_firings(parse_cron(text), after, count, tz)


def parse_rate(expression: str) -> timedelta:
    """``rate(7 days)`` → ``timedelta(days=7)``; singular unit for 1, plural otherwise."""
    match = re.fullmatch(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)",
                         expression.strip(), flags=re.IGNORECASE)
    if not match:
        raise _error(expression, "a rate is rate(value unit) with unit minute(s), hour(s) "
                                 "or day(s)")
    value, unit = int(match.group(1)), match.group(2).lower()
    if value == 0:
        raise _error(expression, "the rate value must be positive")
    if (value == 1) != (not unit.endswith("s")):
        raise _error(expression, "use the singular unit for 1 (rate(1 day)) and the plural "
                                 "otherwise (rate(7 days))")
    return timedelta(**{unit.rstrip("s") + "s": value})


def parse_at(expression: str) -> datetime:
    """``at(2026-12-01T06:00:00)`` → a naive datetime (in the schedule's time zone)."""
    match = re.fullmatch(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)", expression.strip())
    if not match:
        raise _error(expression, "a one-time schedule is at(yyyy-mm-ddThh:mm:ss)")
    return datetime.fromisoformat(match.group(1))


def to_unix_cron(expression: str) -> str:
    """The five-field Unix/croniter form of an EventBridge cron expression.

    Day-of-week numbers shift down by one (EventBridge 1 = SUN, Unix 0 = SUN), ``?``
    becomes ``*`` and the year field is dropped, so only expressions with year ``*`` and
    without ``L``, ``W`` or ``#`` convert; others raise :class:`LabKitError`.
    """
    cron = parse_cron(expression)  # validates
    fields = cron.source[5:-1].split()
    if fields[5] != "*":
        raise LabKitError(
            f"{expression!r} has a year field ({fields[5]}), which Unix cron lacks.",
            "use '*' as the year to convert it, or compute firings with next_firings().",
        )
    if any(re.search(r"[LW#]", re.sub(r"[A-Z]{3}", "", f.upper())) for f in fields[2:5]):
        raise LabKitError(
            f"{expression!r} uses L, W or #, which this converter does not translate.",
            "compute its firings with next_firings() instead.",
        )

    def day_of_week(text: str) -> str:
        if text == "?":
            return "*"
        parts = []
        for part in text.upper().split(","):
            step = ""
            if "/" in part:
                part, step = part.split("/", 1)
                step = "/" + step
                if part != "*" and "-" not in part:
                    part = f"{part}-SAT"
            if part == "*":
                parts.append("*" + step)
                continue
            ends = [str(_value(p, "day-of-week", expression) - 1) for p in part.split("-")]
            parts.append("-".join(ends) + step)
        return ",".join(parts)

    def other(text: str, field: str) -> str:
        if text == "?":
            return "*"
        high = _BOUNDS[field][1]
        parts = []
        for part in text.upper().split(","):
            if "/" in part:
                head, step = part.split("/", 1)
                if head != "*" and "-" not in head:
                    part = f"{head}-{high}/{step}"
            if field == "month":
                for name, number in _MONTHS.items():
                    part = part.replace(name, str(number))
            parts.append(part)
        return ",".join(parts)

    return " ".join([
        other(fields[0], "minutes"),
        other(fields[1], "hours"),
        other(fields[2], "day-of-month"),
        other(fields[3], "month"),
        day_of_week(fields[4]),
    ])


def utc(when: datetime) -> datetime:
    """``when`` in UTC (for printing schedules next to each other)."""
    return when.astimezone(dt_timezone.utc)

"""Schemathesis hooks for the conformance run (SCHEMATHESIS_HOOKS, see test/integration/openapi-conformance.test.ts).

JSON Schema cannot state every rule of a request (`to` after `from`, a cron that fires, two fields that exclude
each other), so the API publishes those on the operation as `x-patchwave-rules` (api/rules.ts) and answers 400
when one is broken. A generator that knows only the JSON Schema makes "valid" requests that break them; this
hook brings each *positive* generated request inside exactly the documented rules, read from the operation,
and changes nothing else: a request that keeps them is sent as generated, and negative requests are untouched.
A rule kind this file does not know fails the run, so a new rule cannot go unenforced here.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import schemathesis
from schemathesis import GenerationMode

KNOWN = {
    "after",
    "window_hours",
    "not_in_past",
    "cron_fires",
    "requires",
    "excludes",
    "disjoint",
    "one_vocabulary",
    "unique_by",
    "not_value",
    "icalendar",
    "ascending",
    "fixed_when",
    "first_item",
    "cumulative_max",
}


@schemathesis.hook
def map_case(context, case):
    operation = context.operation
    rules = operation.definition.raw.get("x-patchwave-rules") if operation is not None else None
    if not rules or case.meta is None or case.meta.generation.mode != GenerationMode.POSITIVE:
        return case
    for rule in rules:
        kind = rule.get("rule")
        if kind not in KNOWN:
            raise ValueError(f"x-patchwave-rules: unknown rule {kind!r} on {operation.label}")
        where = case.query if rule["in"] == "query" else case.body
        if isinstance(where, dict):
            FIX[kind](where, rule)
    return case


# --- values -------------------------------------------------------------------------------------------------


def is_set(value: Any) -> bool:
    """Set as the server counts it: present, not null, and not an empty object or array."""
    if value is None:
        return False
    if isinstance(value, (dict, list)):
        return len(value) > 0
    return True


def instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        d = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)


def iso(d: datetime) -> str:
    u = d.astimezone(timezone.utc)
    # strftime's %Y does not pad years before 1000; the API reads four digits.
    return f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}.000Z"


def items_at(body: dict, path: str) -> list | None:
    value: Any = body
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value if isinstance(value, list) else None


# --- rules --------------------------------------------------------------------------------------------------


def fix_after(d: dict, r: dict) -> None:
    start, end = instant(d.get(r["after"])), instant(d.get(r["field"]))
    if start and end and end <= start:
        try:
            d[r["field"]] = iso(start + timedelta(hours=1))
        except OverflowError:
            d.pop(r["field"], None)


def fix_not_in_past(d: dict, r: dict) -> None:
    at = instant(d.get(r["field"]))
    now = datetime.now(timezone.utc)
    # A minute of margin for the request's own trip.
    if at is not None and at < now - timedelta(minutes=r["minutes"]) + timedelta(minutes=1):
        d[r["field"]] = iso(now + timedelta(minutes=10))


def fix_window_hours(d: dict, r: dict) -> None:
    start, end = instant(d.get(r["start"])), instant(d.get(r["end"]))
    if start is None or end is None:
        return
    hours = (end - start).total_seconds() / 3600
    if not (r["min_hours"] <= hours <= r["max_hours"]):
        try:
            d[r["end"]] = iso(start + timedelta(hours=1))
        except OverflowError:
            pass


MONTHS = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()
DAYS = "SUN MON TUE WED THU FRI SAT".split()
CRON_FIELDS = [  # (low, high, names)
    (0, 59, None),
    (0, 23, None),
    (1, 31, None),
    (1, 12, MONTHS),
    (0, 7, DAYS),
]


def cron_values(field: str, low: int, high: int, names: list[str] | None) -> set[int] | None:
    """The values a standard cron field selects, or None when it is not plainly valid."""

    def number(text: str) -> int | None:
        if names and text.upper() in names:
            return names.index(text.upper()) + (1 if names is MONTHS else 0)
        if re.fullmatch(r"\d{1,2}", text):
            n = int(text)
            return n if low <= n <= high else None
        return None

    out: set[int] = set()
    for item in field.split(","):
        m = re.fullmatch(r"(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:/(\d{1,2}))?", item)
        if not m:
            return None
        span, step = m.group(1), int(m.group(2)) if m.group(2) else 1
        if step < 1 or step > high:
            return None
        if span == "*":
            a, b = low, high
        elif "-" in span:
            a, b = (number(x) for x in span.split("-"))
            if a is None or b is None or a > b:
                return None
        else:
            a = number(span)
            if a is None:
                return None
            b = a if not m.group(2) else high
        out.update(range(a, b + 1, step))
    return out


def cron_fires(expr: Any) -> bool:
    if not isinstance(expr, str):
        return False
    fields = expr.split()
    if len(fields) != 5:
        return False
    values = [cron_values(f, *spec) for f, spec in zip(fields, CRON_FIELDS)]
    if any(v is None or not v for v in values):
        return False
    dom_any, dow_any = fields[2] == "*", fields[4] == "*"
    if dom_any or not dow_any:
        return True  # every month has day 1; a day of the week always comes
    return any(d <= calendar.monthrange(2024, m)[1] for m in values[3] for d in values[2])


def fix_cron_fires(d: dict, r: dict) -> None:
    if r["field"] in d and d[r["field"]] is not None and not cron_fires(d[r["field"]]):
        d[r["field"]] = "0 3 * * 0"


def fix_requires(d: dict, r: dict) -> None:
    if is_set(d.get(r["field"])) and not all(is_set(d.get(f)) for f in r["requires"]):
        d.pop(r["field"])


def fix_excludes(d: dict, r: dict) -> None:
    if is_set(d.get(r["field"])) and any(is_set(d.get(f)) for f in r["excludes"]):
        d.pop(r["field"])


def fix_disjoint(d: dict, r: dict) -> None:
    a, b = d.get(r["fields"][0]), d.get(r["fields"][1])
    if isinstance(a, list) and isinstance(b, list):
        taken = {str(x).lower() for x in a}
        d[r["fields"][1]] = [x for x in b if str(x).lower() not in taken]


def fits(d: dict, vocabulary: dict) -> bool:
    for field, allowed in vocabulary.items():
        value = d.get(field)
        if not is_set(value):
            continue
        if allowed is False:
            return False
        if isinstance(allowed, list):
            words = {w.lower() for w in allowed}
            if not all(isinstance(v, str) and v.strip().lower() in words for v in value):
                return False
    return True


def fix_one_vocabulary(d: dict, r: dict) -> None:
    if not any(fits(d, v) for v in r["vocabularies"].values()):
        for field in r["fields"]:
            d.pop(field, None)


def fix_unique_by(d: dict, r: dict) -> None:
    items = items_at(d, r["array"])
    if items is None:
        return
    seen: set[str] = set()
    kept = []
    for item in items:
        key = repr(item.get(r["key"])) if isinstance(item, dict) else repr(item)
        if key not in seen:
            kept.append(item)
        seen.add(key)
    items[:] = kept


def fix_not_value(d: dict, r: dict) -> None:
    items = items_at(d, r["array"])
    if items is not None:
        items[:] = [i for i in items if not (isinstance(i, dict) and i.get(r["key"]) == r["value"])]


# A calendar this file can tell is readable without an iCalendar parser: one VEVENT with a plain UTC DTSTART and
# DTEND, no recurrence. Generated text rarely is; it is replaced by one that is (the rule is about the text only).
SIMPLE_ICS = re.compile(
    r"BEGIN:VCALENDAR\r?\n(?:[^\r\n]*\r?\n)*?BEGIN:VEVENT\r?\n(?:(?!RRULE|RDATE|EXDATE)[^\r\n]*\r?\n)*?"
    r"DTSTART:\d{8}T\d{6}Z\r?\n(?:(?!RRULE|RDATE|EXDATE)[^\r\n]*\r?\n)*?END:VEVENT\r?\nEND:VCALENDAR\r?\n?"
)
VALID_ICS = "\r\n".join(
    [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//patchwave//conformance//EN",
        "BEGIN:VEVENT",
        "UID:conformance-freeze@patchwave",
        "DTSTAMP:20261201T000000Z",
        "DTSTART:20301224T000000Z",
        "DTEND:20301227T000000Z",
        "SUMMARY:year-end freeze",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
)


def fix_icalendar(d: dict, r: dict) -> None:
    value = d.get(r["field"])
    if isinstance(value, str) and not SIMPLE_ICS.fullmatch(value):
        d[r["field"]] = VALID_ICS


def fix_ascending(d: dict, r: dict) -> None:
    value = d.get(r["field"])
    if isinstance(value, list):
        lows = sorted({x for x in value if isinstance(x, (int, float)) and x < r["ends_at"]})
        d[r["field"]] = lows[: max(0, len(value) - 1)] + [r["ends_at"]]


def fix_fixed_when(d: dict, r: dict) -> None:
    if not is_set(d.get(r["field"])):
        return
    for item in items_at(d, r["array"]) or []:
        if isinstance(item, dict) and r["key"] in item:
            item[r["key"]] = r["value"]


def fix_first_item(d: dict, r: dict) -> None:
    items = items_at(d, r["array"])
    if items and isinstance(items[0], dict) and r["key"] in items[0]:
        if items[0][r["key"]] is not None and items[0][r["key"]] not in r["allowed"]:
            del items[0][r["key"]]


def fix_cumulative_max(d: dict, r: dict) -> None:
    seen: set[str] = set()
    for item in items_at(d, r["array"]) or []:
        values = item.get(r["key"]) if isinstance(item, dict) else None
        if not isinstance(values, list):
            continue
        kept = []
        for v in values:
            key = v.lower() if isinstance(v, str) else v
            if key in seen or len(seen) < r["max"]:
                seen.add(key)
                kept.append(v)
        values[:] = kept


FIX = {
    "after": fix_after,
    "window_hours": fix_window_hours,
    "not_in_past": fix_not_in_past,
    "cron_fires": fix_cron_fires,
    "requires": fix_requires,
    "excludes": fix_excludes,
    "disjoint": fix_disjoint,
    "one_vocabulary": fix_one_vocabulary,
    "unique_by": fix_unique_by,
    "not_value": fix_not_value,
    "icalendar": fix_icalendar,
    "ascending": fix_ascending,
    "fixed_when": fix_fixed_when,
    "first_item": fix_first_item,
    "cumulative_max": fix_cumulative_max,
}

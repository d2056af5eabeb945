"""Business-profile rules that span several keys: overlapping hours, clashing service names
and aliases, deposits over the price, backwards windows, repeated reminders.

Split from libs/business/profile.py. The rules run on the raw (or dumped) data rather than on
a built model, so they are reported beside the field errors of a broken file, each with its
precise key path; a value that does not parse is skipped here (it is already a field error).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import time, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from pydantic_core import PydanticCustomError

from libs.business.profile_scalars import (
    WEEKDAYS,
    format_hhmm,
    parse_duration,
    parse_hhmm,
    parse_money,
)

__all__ = ["cross_field_problems", "deposit_over_price", "norm", "window_backwards"]

_T = TypeVar("_T")


def norm(text: str) -> str:
    """How customers' words are compared to names and aliases."""
    return " ".join(text.casefold().split())


def deposit_over_price(deposit: Decimal, price: Decimal) -> str:
    """One wording whether the model or the raw-data check finds it."""
    return f"deposit {deposit:.2f} is more than the price {price:.2f}"


def window_backwards(start: time, end: time) -> str:
    """One wording whether the model or the raw-data check finds it."""
    return f"start {format_hhmm(start)} must be before end {format_hhmm(end)}"


def _try(parse: Callable[[object], _T], value: object) -> _T | None:
    """Lenient parse for cross-field checks: a bad value is already a field error."""
    try:
        return parse(value)
    except (ValueError, TypeError, PydanticCustomError):
        return None


def cross_field_problems(data: Mapping[str, Any]) -> list[str]:
    """Rules across several keys, checked on raw (or dumped) data so they are reported even
    when other parts of the file are broken. Values that do not parse are skipped here."""
    return [*_hours_overlaps(data.get("hours")), *_service_clashes(data.get("services")),
            *_service_deposits(data.get("services")), *_window_order(data.get("deposits")),
            *_reminder_duplicates(data.get("reminders"))]


def _service_deposits(services: object) -> list[str]:
    problems: list[str] = []
    if not isinstance(services, list):
        return problems
    for i, service in enumerate(services):
        if not isinstance(service, Mapping):
            continue
        price = _try(parse_money, service.get("price"))
        deposit = _try(parse_money, service.get("deposit", "0"))
        if price is not None and deposit is not None and deposit > price:
            problems.append(f"services[{i}].deposit: {deposit_over_price(deposit, price)}")
    return problems


def _window_order(deposits: object) -> list[str]:
    problems: list[str] = []
    if not isinstance(deposits, Mapping) or not isinstance(deposits.get("prime_time"), Mapping):
        return problems
    windows = deposits["prime_time"].get("windows")
    if not isinstance(windows, list):
        return problems
    for i, window in enumerate(windows):
        if not isinstance(window, Mapping):
            continue
        start, end = _try(parse_hhmm, window.get("start")), _try(parse_hhmm, window.get("end"))
        if start is not None and end is not None and start >= end:
            problems.append(f"deposits.prime_time.windows[{i}]: {window_backwards(start, end)}")
    return problems


def _hours_overlaps(hours: object) -> list[str]:
    problems: list[str] = []
    if not isinstance(hours, Mapping):
        return problems
    for day, intervals in hours.items():
        if day not in WEEKDAYS or not isinstance(intervals, list):
            continue
        seen: list[tuple[int, time, time]] = []
        for i, raw in enumerate(intervals):
            if not isinstance(raw, list | tuple) or len(raw) != 2:
                continue
            start, end = _try(parse_hhmm, raw[0]), _try(parse_hhmm, raw[1])
            if start is None or end is None or start >= end:
                continue
            for j, other_start, other_end in seen:
                if start < other_end and other_start < end:
                    problems.append(f"hours.{day}[{i}]: overlaps hours.{day}[{j}]")
                    break
            seen.append((i, start, end))
    return problems


def _service_clashes(services: object) -> list[str]:
    """Names are unique, and a word a customer says must point at one service only."""
    problems: list[str] = []
    if not isinstance(services, list):
        return problems
    names: dict[str, int] = {}
    labels: dict[int, str] = {}
    for i, service in enumerate(services):
        if not isinstance(service, Mapping):
            continue
        name = service.get("name")
        if not isinstance(name, str) or not name.strip():
            continue
        labels[i] = name.strip()
        key = norm(name)
        if key in names:
            j = names[key]
            problems.append(f"services[{i}].name: duplicate of services[{j}].name "
                            f"{labels[j]!r} (names are compared ignoring case)")
        else:
            names[key] = i
    alias_owner: dict[str, int] = {}
    for i, service in enumerate(services):
        if not isinstance(service, Mapping) or not isinstance(service.get("aliases"), list):
            continue
        for k, alias in enumerate(service["aliases"]):
            if not isinstance(alias, str) or not alias.strip():
                continue
            key = norm(alias)
            where = f"services[{i}].aliases[{k}]"
            if key in names and names[key] != i:
                j = names[key]
                problems.append(f"{where}: {alias.strip()!r} is the name of services[{j}] "
                                f"({labels[j]})")
            elif key in alias_owner and alias_owner[key] != i:
                j = alias_owner[key]
                problems.append(f"{where}: {alias.strip()!r} is also an alias of services[{j}]"
                                f" ({labels.get(j, '?')})")
            else:
                alias_owner.setdefault(key, i)
    return problems


def _reminder_duplicates(reminders: object) -> list[str]:
    problems: list[str] = []
    if not isinstance(reminders, Mapping) or not isinstance(reminders.get("before"), list):
        return problems
    seen: dict[timedelta, int] = {}
    for i, raw in enumerate(reminders["before"]):
        duration = _try(parse_duration, raw)
        if duration is None:
            continue
        if duration.delta in seen:
            j = seen[duration.delta]
            problems.append(f"reminders.before[{i}]: {duration.text!r} is the same as "
                            f"reminders.before[{j}]")
        else:
            seen[duration.delta] = i
    return problems

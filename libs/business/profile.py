"""A business profile: the YAML file a business is onboarded from, parsed and validated.

Pure: no I/O except `load_profile`, which reads one file. A file that breaks a rule is
refused with *every* problem listed by key path (`ProfileError.problems`), so an operator
fixes a file in one pass instead of one error per attempt (spec/business.md).

Wall-clock values (hours, cutoff, windows, quiet hours) are naive `datetime.time` in the
business's own zone (`BusinessProfile.tz`); converting to UTC is the caller's job.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

__all__ = [
    "WEEKDAYS",
    "BookingRules",
    "BusinessProfile",
    "CancellationPolicy",
    "Channels",
    "DepositRules",
    "Duration",
    "Interval",
    "PrimeTimeDeposit",
    "PrimeTimeWindow",
    "ProfileError",
    "Reminders",
    "Service",
    "Weekday",
    "WeekendDeposit",
    "load_profile",
    "parse_profile",
]

WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Index = `date.weekday()` (Monday is 0)."""

MAX_MONEY = Decimal("99999999.99")  # what NUMERIC(10, 2) can store
_CENT = Decimal("0.01")
_SKIP_CROSS_CHECKS = "skip_cross_checks"


class ProfileError(Exception):
    """A profile was refused; `problems` lists every reason as "key.path: message"."""

    def __init__(self, problems: Sequence[str], *, source: str | None = None) -> None:
        self.problems: list[str] = list(problems)
        self.source = source
        where = f"{source}: " if source else ""
        count = len(self.problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{where}invalid business profile ({count} problem"
                         f"{'' if count == 1 else 's'}):\n{lines}")


# --------------------------------------------------------------------------- scalar types


def _fail(message: str) -> PydanticCustomError:
    """A validation error whose message is shown to the operator as is (no templating, so a
    brace in the operator's value cannot break it)."""
    return PydanticCustomError("profile", message, None)


def _parse_hhmm(value: object) -> time:
    """"HH:MM" only: a time with seconds or a zone would mean something this file cannot say."""
    if isinstance(value, time) and not isinstance(value, datetime):
        if value.tzinfo is not None or value.second or value.microsecond:
            raise _fail("expected a local time with whole minutes")
        return value
    if isinstance(value, bool) or not isinstance(value, str):
        if isinstance(value, int):
            # YAML 1.1 reads an unquoted 17:00 as the base-60 number 1020.
            raise _fail('expected a quoted "HH:MM" time (YAML reads an unquoted 17:00 as a '
                        "number; write \"17:00\")")
        raise _fail('expected a "HH:MM" time')
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip())
    if match is None:
        raise _fail(f'expected a "HH:MM" time, got {value!r}')
    hour, minute = int(match[1]), int(match[2])
    if hour == 24 and minute == 0:
        raise _fail('"24:00" is not supported: a day ends at "23:59" at the latest '
                    "(intervals cannot cross midnight)")
    if hour > 23 or minute > 59:
        raise _fail(f"{value!r} is not a valid time of day (00:00 to 23:59)")
    return time(hour, minute)


def _format_hhmm(value: time) -> str:
    return value.strftime("%H:%M")


LocalTime = Annotated[time, PlainValidator(_parse_hhmm),
                      PlainSerializer(_format_hhmm, return_type=str, when_used="json")]
"""A business-local wall-clock time written "HH:MM"."""


def _parse_weekday(value: object) -> str:
    if isinstance(value, str) and value.strip() in WEEKDAYS:
        return value.strip()
    raise _fail(f"unknown weekday {value!r} (expected one of {', '.join(WEEKDAYS)})")


Weekday = Annotated[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                    PlainValidator(_parse_weekday)]


def _parse_money(value: object) -> Decimal:
    """Decimal strings (numbers accepted too), never negative, at most two decimals (cents)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise _fail('expected an amount of money such as "35.00"')
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise _fail(f'expected an amount of money such as "35.00", got {value!r}') from None
    if not amount.is_finite():
        raise _fail("expected a finite amount of money")
    if amount < 0:
        raise _fail(f"must not be negative, got {value}")
    if amount != amount.quantize(_CENT):
        raise _fail(f"at most 2 decimal places (cents), got {value}")
    if amount > MAX_MONEY:
        raise _fail(f"too large (at most {MAX_MONEY}), got {value}")
    return amount.quantize(_CENT)


Money = Annotated[Decimal, PlainValidator(_parse_money),
                  PlainSerializer(lambda d: f"{d:.2f}", return_type=str, when_used="json")]
"""An amount in the business's currency: non-negative, two decimals, a string in JSON."""


def _parse_phone(value: object) -> str:
    """E.164 only: the key used to route inbound SMS must match the provider's spelling."""
    if isinstance(value, int) and not isinstance(value, bool):
        raise _fail('expected a quoted E.164 phone number such as "+12125550100" '
                    "(YAML reads an unquoted +1... as a number)")
    if not isinstance(value, str):
        raise _fail('expected an E.164 phone number such as "+12125550100"')
    text = value.strip()
    if not re.fullmatch(r"\+[1-9]\d{1,14}", text):
        raise _fail('expected an E.164 phone number such as "+12125550100" (a "+", the '
                    f"country code, digits only), got {value!r}")
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        raise _fail(f"{value!r} is not a phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise _fail(f"{value!r} is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


E164 = Annotated[str, PlainValidator(_parse_phone)]


def _parse_digits_id(value: object) -> str:
    """WhatsApp phone-number ids are digits; YAML may read an unquoted one as a number."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if isinstance(value, str) and re.fullmatch(r"\d{1,32}", value.strip()):
        return value.strip()
    raise _fail(f"expected the WhatsApp phone-number id (digits), got {value!r}")


WhatsAppId = Annotated[str, PlainValidator(_parse_digits_id)]


def _parse_date(value: object) -> date:
    """A calendar date: YAML's own date or "YYYY-MM-DD" (never a number of seconds)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise _fail('expected a date such as "2026-12-25"')
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _fail(f"{value!r} is not a valid date (YYYY-MM-DD)")


LocalDate = Annotated[date, PlainValidator(_parse_date),
                      PlainSerializer(date.isoformat, return_type=str, when_used="json")]


@dataclass(frozen=True)
class Duration:
    """A span such as "24h" or "1h30m": `delta` is real elapsed time, `text` what was written."""

    text: str
    delta: timedelta

    def __str__(self) -> str:
        return self.text


_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?")


def _parse_duration(value: object) -> Duration:
    if isinstance(value, Duration):
        return value
    if not isinstance(value, str):
        raise _fail('expected a duration such as "24h", "2h", "90m", "2d" or "1h30m"')
    text = value.strip()
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        raise _fail('expected a duration such as "24h", "2h", "90m", "2d" or "1h30m", '
                    f"got {value!r}")
    days, hours, minutes = (int(g) if g else 0 for g in match.groups())
    delta = timedelta(days=days, hours=hours, minutes=minutes)
    if delta <= timedelta(0):
        raise _fail(f"must be longer than zero, got {value!r}")
    return Duration(text=text, delta=delta)


DurationText = Annotated[Duration, PlainValidator(_parse_duration),
                         PlainSerializer(lambda d: d.text, return_type=str, when_used="json")]


def _check_interval(value: tuple[time, time]) -> tuple[time, time]:
    if value[0] >= value[1]:
        raise _fail(f"opens at {_format_hhmm(value[0])} but closes at "
                    f"{_format_hhmm(value[1])}: open must be before close")
    return value


Interval = Annotated[tuple[LocalTime, LocalTime], AfterValidator(_check_interval),
                     PlainSerializer(lambda v: [_format_hhmm(v[0]), _format_hhmm(v[1])],
                                     when_used="json")]
"""A half-open local interval `[open, close)`; open < close, both within one day."""

NonEmptyStr = Annotated[str, Field(min_length=1)]
Minutes = Annotated[StrictInt, Field(ge=1, le=7 * 24 * 60)]


# --------------------------------------------------------------------------- models


def _skipping_cross_checks(info: ValidationInfo) -> bool:
    """`parse_profile` checks cross-field rules on the raw input, with precise key paths."""
    return isinstance(info.context, Mapping) and bool(info.context.get(_SKIP_CROSS_CHECKS))


def _deposit_over_price(deposit: Decimal, price: Decimal) -> str:
    return f"deposit {deposit:.2f} is more than the price {price:.2f}"


def _window_backwards(start: time, end: time) -> str:
    return f"start {_format_hhmm(start)} must be before end {_format_hhmm(end)}"


class _Model(BaseModel):
    """Frozen (shared reference data), unknown keys refused, strings trimmed."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Channels(_Model):
    """Where inbound messages for this business arrive."""

    sms: E164 | None = None
    whatsapp_phone_number_id: WhatsAppId | None = None


class BookingRules(_Model):
    """When a booking may be made (spec "Defaults" for every missing key)."""

    capacity: Annotated[StrictInt, Field(ge=1, le=1000)] = 1
    slot_minutes: Annotated[StrictInt, Field(ge=1, le=24 * 60)] = 15
    min_notice_minutes: Annotated[StrictInt, Field(ge=0, le=366 * 24 * 60)] = 60
    same_day_cutoff: LocalTime | None = None
    max_days_ahead: Annotated[StrictInt, Field(ge=0, le=3660)] = 60
    session_timeout_minutes: Minutes = 30


class Service(_Model):
    """One bookable service; `name` is canonical, `aliases` are what customers may say."""

    name: NonEmptyStr
    aliases: list[NonEmptyStr] = Field(default_factory=list)
    duration_minutes: Annotated[StrictInt, Field(ge=1, le=24 * 60)]
    price: Money
    deposit: Money = Decimal("0.00")

    @model_validator(mode="after")
    def _deposit_within_price(self, info: ValidationInfo) -> Self:
        if not _skipping_cross_checks(info) and self.deposit > self.price:
            raise _fail(_deposit_over_price(self.deposit, self.price))
        return self

    def matches(self, text: str) -> bool:
        """True when `text` is the name or an alias (case and spacing ignored)."""
        key = _norm(text)
        return key == _norm(self.name) or any(key == _norm(a) for a in self.aliases)


class PrimeTimeWindow(_Model):
    """A booking *starting* in `[start, end)` on one of `days` needs the prime-time deposit."""

    days: Annotated[list[Weekday], Field(min_length=1)]
    start: LocalTime
    end: LocalTime

    @model_validator(mode="after")
    def _start_before_end(self, info: ValidationInfo) -> Self:
        if not _skipping_cross_checks(info) and self.start >= self.end:
            raise _fail(_window_backwards(self.start, self.end))
        return self


class PrimeTimeDeposit(_Model):
    amount: Money
    windows: Annotated[list[PrimeTimeWindow], Field(min_length=1)]


class WeekendDeposit(_Model):
    amount: Money
    days: Annotated[list[Weekday], Field(min_length=1)]


class DepositRules(_Model):
    """Deposit rules; `combine="max"`: the largest of the service deposit and every rule."""

    prime_time: PrimeTimeDeposit | None = None
    weekend: WeekendDeposit | None = None
    combine: Literal["max"] = "max"
    hold_minutes: Minutes = 15


class CancellationPolicy(_Model):
    free_until_hours: Annotated[StrictInt, Field(ge=0, le=24 * 366)] = 24


def _check_quiet_hours(value: tuple[time, time]) -> tuple[time, time]:
    if value[0] == value[1]:
        raise _fail(f"start and end are both {_format_hhmm(value[0])}: the window would be "
                    "empty or the whole day")
    return value


QuietHours = Annotated[tuple[LocalTime, LocalTime],
                       PlainSerializer(lambda v: [_format_hhmm(v[0]), _format_hhmm(v[1])],
                                       when_used="json")]


class Reminders(_Model):
    """Reminder offsets before the start, and a local `[start, end)` window (may wrap midnight)
    in which no reminder is sent."""

    before: list[DurationText] = Field(
        default_factory=lambda: [_parse_duration("24h"), _parse_duration("2h")])
    quiet_hours: QuietHours = (time(21, 0), time(8, 0))

    @field_validator("quiet_hours", mode="after")
    @classmethod
    def _quiet_hours_not_empty(cls, value: tuple[time, time]) -> tuple[time, time]:
        return _check_quiet_hours(value)

    def is_quiet(self, at: time) -> bool:
        """True when local time `at` lies in the quiet window (wrapping midnight if start > end)."""
        start, end = self.quiet_hours
        if start < end:
            return start <= at < end
        return at >= start or at < end


def _full_week() -> dict[Weekday, list[tuple[time, time]]]:
    return {day: [] for day in WEEKDAYS}


class BusinessProfile(_Model):
    """Everything the system knows about one business, as onboarded from its YAML file."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")]
    name: NonEmptyStr
    address: NonEmptyStr
    phone: E164
    owner_phone: E164
    timezone: str
    currency: str
    channels: Channels = Field(default_factory=Channels)
    hours: dict[Weekday, list[Interval]]
    closed_dates: list[LocalDate] = Field(default_factory=list)
    booking: BookingRules = Field(default_factory=BookingRules)
    services: Annotated[list[Service], Field(min_length=1)]
    deposits: DepositRules = Field(default_factory=DepositRules)
    cancellation: CancellationPolicy = Field(default_factory=CancellationPolicy)
    reminders: Reminders = Field(default_factory=Reminders)
    faq: dict[NonEmptyStr, NonEmptyStr] = Field(default_factory=dict)

    @field_validator("id", mode="before")
    @classmethod
    def _id_is_text(cls, value: object) -> object:
        if isinstance(value, str) and not re.fullmatch(
                r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?", value.strip()):
            raise _fail("expected a slug (lower-case letters, digits and inner hyphens, "
                        f"at most 64 characters), got {value!r}")
        return value

    @field_validator("timezone", mode="after")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        if not _is_iana_zone(value):
            raise _fail(f"unknown IANA timezone {value!r}")
        return value

    @field_validator("currency", mode="after")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        if re.fullmatch(r"[A-Za-z]{3}", value) and value != value.lower():
            raise _fail(f"ISO 4217 code must be lower case: {value.lower()!r}, got {value!r}")
        if not re.fullmatch(r"[a-z]{3}", value):
            raise _fail(f"expected a lower-case ISO 4217 code such as 'usd', got {value!r}")
        return value

    @field_validator("hours", mode="after")
    @classmethod
    def _normalize_hours(
            cls, value: dict[Weekday, list[tuple[time, time]]],
    ) -> dict[Weekday, list[tuple[time, time]]]:
        """Every day present (a missing day is closed), intervals in order."""
        week = _full_week()
        for day, intervals in value.items():
            week[day] = sorted(intervals)
        return week

    @field_validator("closed_dates", mode="after")
    @classmethod
    def _sorted_dates(cls, value: list[date]) -> list[date]:
        return sorted(set(value))

    @model_validator(mode="after")
    def _cross_checks(self, info: ValidationInfo) -> Self:
        """Rules spanning several keys. `parse_profile` runs them on the raw input itself (so
        they are reported beside field errors); a directly built model runs them here."""
        if _skipping_cross_checks(info):
            return self
        problems = _cross_field_problems(self.to_json_dict())
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # ---------------------------------------------------------------- helpers

    @property
    def tz(self) -> ZoneInfo:
        """The business's zone: every wall-clock rule in this profile is read in it."""
        return ZoneInfo(self.timezone)

    def service_by_name(self, name: str) -> Service | None:
        """The service whose name or alias is `name` (case and spacing ignored), else None.

        Canonical names win over aliases; validation guarantees at most one match of each.
        """
        key = _norm(name)
        for service in self.services:
            if _norm(service.name) == key:
                return service
        for service in self.services:
            if any(_norm(a) == key for a in service.aliases):
                return service
        return None

    def intervals_on(self, weekday: int) -> list[tuple[time, time]]:
        """Opening intervals on a weekday (0 = Monday, as `date.weekday()`), in order."""
        if not 0 <= weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {weekday}")
        return list(self.hours.get(WEEKDAYS[weekday], []))

    def is_closed(self, day: date) -> bool:
        """Closed all day: a listed closed date, or a weekday without opening hours."""
        return day in self.closed_dates or not self.intervals_on(day.weekday())

    # ---------------------------------------------------------------- JSON

    def to_json_dict(self) -> dict[str, Any]:
        """The normalized profile as plain JSON (the YAML shape: "HH:MM", "45.00", "24h")."""
        return self.model_dump(mode="json")

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> BusinessProfile:
        """Inverse of `to_json_dict` (validated again: stored data is not trusted blindly)."""
        return parse_profile(data)


# --------------------------------------------------------------------------- validation


def _norm(text: str) -> str:
    """How customers' words are compared to names and aliases."""
    return " ".join(text.casefold().split())


def _is_iana_zone(name: str) -> bool:
    if not name or name.startswith("/") or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _try(parse: Any, value: object) -> Any:
    """Lenient parse for cross-field checks: a bad value is already a field error."""
    try:
        return parse(value)
    except (ValueError, TypeError, PydanticCustomError):
        return None


def _cross_field_problems(data: Mapping[str, Any]) -> list[str]:
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
        price = _try(_parse_money, service.get("price"))
        deposit = _try(_parse_money, service.get("deposit", "0"))
        if price is not None and deposit is not None and deposit > price:
            problems.append(f"services[{i}].deposit: {_deposit_over_price(deposit, price)}")
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
        start, end = _try(_parse_hhmm, window.get("start")), _try(_parse_hhmm, window.get("end"))
        if start is not None and end is not None and start >= end:
            problems.append(f"deposits.prime_time.windows[{i}]: {_window_backwards(start, end)}")
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
            start, end = _try(_parse_hhmm, raw[0]), _try(_parse_hhmm, raw[1])
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
        key = _norm(name)
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
            key = _norm(alias)
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
        duration = _try(_parse_duration, raw)
        if duration is None:
            continue
        if duration.delta in seen:
            j = seen[duration.delta]
            problems.append(f"reminders.before[{i}]: {duration.text!r} is the same as "
                            f"reminders.before[{j}]")
        else:
            seen[duration.delta] = i
    return problems


def _key_path(loc: tuple[int | str, ...]) -> str:
    """('services', 2, 'duration_minutes') -> 'services[2].duration_minutes'."""
    path = ""
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(profile)"


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    loc = error["loc"]
    if kind == "missing":
        return "field required"
    if kind == "extra_forbidden":
        return "unknown key"
    msg = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    if kind == "string_type" and isinstance(error.get("input"), int | float):
        msg += " (quote it in the YAML file)"
    if kind == "int_type" and isinstance(error.get("input"), str):
        msg += " (write the number without quotes)"
    if loc and loc[-1] == "[key]":
        msg = msg.replace("Input", "Key", 1)
    return msg[:1].lower() + msg[1:] if msg[:1].isupper() and not msg[:2].isupper() else msg


def _problems_from(exc: ValidationError) -> list[str]:
    problems: list[str] = []
    for error in exc.errors(include_url=False):
        problem = f"{_key_path(tuple(error['loc']))}: {_message(error)}"
        if problem not in problems:
            problems.append(problem)
    return problems


def parse_profile(data: Mapping[str, Any]) -> BusinessProfile:
    """Validate parsed YAML/JSON; raise ProfileError listing every problem at once."""
    if not isinstance(data, Mapping):
        raise ProfileError([f"(profile): expected a mapping of keys at the top level, "
                            f"got {type(data).__name__}"])
    problems: list[str] = []
    profile: BusinessProfile | None = None
    try:
        profile = BusinessProfile.model_validate(dict(data),
                                                 context={_SKIP_CROSS_CHECKS: True})
    except ValidationError as exc:
        problems.extend(_problems_from(exc))
    problems.extend(p for p in _cross_field_problems(data) if p not in problems)
    if problems or profile is None:
        raise ProfileError(problems or ["(profile): invalid"])
    return profile


# --------------------------------------------------------------------------- YAML


class _StrictLoader(yaml.SafeLoader):
    """safe_load that remembers duplicate keys (plain YAML silently keeps the last one)."""

    duplicates: list[str]

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hashable = key in seen
            except TypeError:
                continue
            if hashable:
                self.duplicates.append(f"line {key_node.start_mark.line + 1}: duplicate key "
                                       f"{key!r} (the earlier value would be ignored)")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _load_yaml(text: str) -> tuple[object, list[str]]:
    loader = _StrictLoader(text)
    loader.duplicates = []
    try:
        return loader.get_single_data(), loader.duplicates
    finally:
        loader.dispose()


def load_profile(path: Path | str) -> BusinessProfile:
    """Read and validate one YAML profile file; every problem is reported in one ProfileError."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError([f"(file): cannot read the file: {exc}"], source=source) from exc
    try:
        data, duplicates = _load_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = exc.problem or exc.context or "invalid YAML"
        raise ProfileError([f"(yaml): syntax error{at}: {reason}"], source=source) from exc
    except yaml.YAMLError as exc:
        raise ProfileError([f"(yaml): syntax error: {exc}"], source=source) from exc
    if data is None:
        raise ProfileError(["(profile): the file is empty; expected a mapping with id, name, "
                            "timezone, hours, services, ..."], source=source)
    if not isinstance(data, Mapping):
        raise ProfileError([f"(profile): expected a mapping of keys at the top level, got a "
                            f"{_yaml_kind(data)}"], source=source)
    problems = [f"(yaml) {d}" for d in duplicates]
    try:
        profile = parse_profile(data)
    except ProfileError as exc:
        raise ProfileError(problems + exc.problems, source=source) from None
    if problems:
        raise ProfileError(problems, source=source)
    return profile


def _yaml_kind(value: object) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    return type(value).__name__

"""The value types a business profile is written in: times, money, phones, durations.

Split from libs/business/profile.py (which re-exports the public names): each parser refuses
what YAML 1.1 would silently misread (an unquoted 17:00 is a number) with a message that says
what to write instead. Wall-clock values are naive `datetime.time` in the business's zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

import phonenumbers
from pydantic import AfterValidator, Field, PlainSerializer, PlainValidator, StrictInt
from pydantic_core import PydanticCustomError

from libs import yamlcheck

WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Index = `date.weekday()` (Monday is 0)."""

MAX_MONEY = Decimal("99999999.99")  # what NUMERIC(10, 2) can store
_CENT = Decimal("0.01")


def fail(message: str) -> PydanticCustomError:
    """A validation error shown to the operator as written (see `yamlcheck.fail`)."""
    return yamlcheck.fail("profile", message)


def parse_hhmm(value: object) -> time:
    """"HH:MM" only: a time with seconds or a zone would mean something this file cannot say."""
    if isinstance(value, time) and not isinstance(value, datetime):
        if value.tzinfo is not None or value.second or value.microsecond:
            raise fail("expected a local time with whole minutes")
        return value
    if isinstance(value, bool) or not isinstance(value, str):
        if isinstance(value, int):
            # YAML 1.1 reads an unquoted 17:00 as the base-60 number 1020.
            raise fail('expected a quoted "HH:MM" time (YAML reads an unquoted 17:00 as a '
                       "number; write \"17:00\")")
        raise fail('expected a "HH:MM" time')
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip())
    if match is None:
        raise fail(f'expected a "HH:MM" time, got {value!r}')
    hour, minute = int(match[1]), int(match[2])
    if hour == 24 and minute == 0:
        raise fail('"24:00" is not supported: a day ends at "23:59" at the latest '
                   "(intervals cannot cross midnight)")
    if hour > 23 or minute > 59:
        raise fail(f"{value!r} is not a valid time of day (00:00 to 23:59)")
    return time(hour, minute)


def format_hhmm(value: time) -> str:
    """The "HH:MM" a profile is written in (and dumped to JSON as)."""
    return value.strftime("%H:%M")


LocalTime = Annotated[time, PlainValidator(parse_hhmm),
                      PlainSerializer(format_hhmm, return_type=str, when_used="json")]
"""A business-local wall-clock time written "HH:MM"."""


def _parse_weekday(value: object) -> str:
    """Only the three-letter keys: "monday" or "Mon" in a file is a typo to point at."""
    if isinstance(value, str) and value.strip() in WEEKDAYS:
        return value.strip()
    raise fail(f"unknown weekday {value!r} (expected one of {', '.join(WEEKDAYS)})")


Weekday = Annotated[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                    PlainValidator(_parse_weekday)]


def parse_money(value: object) -> Decimal:
    """Decimal strings (numbers accepted too), never negative, at most two decimals (cents)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise fail('expected an amount of money such as "35.00"')
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise fail(f'expected an amount of money such as "35.00", got {value!r}') from None
    if not amount.is_finite():
        raise fail("expected a finite amount of money")
    if amount < 0:
        raise fail(f"must not be negative, got {value}")
    if amount != amount.quantize(_CENT):
        raise fail(f"at most 2 decimal places (cents), got {value}")
    if amount > MAX_MONEY:
        raise fail(f"too large (at most {MAX_MONEY}), got {value}")
    return amount.quantize(_CENT)


Money = Annotated[Decimal, PlainValidator(parse_money),
                  PlainSerializer(lambda d: f"{d:.2f}", return_type=str, when_used="json")]
"""An amount in the business's currency: non-negative, two decimals, a string in JSON."""


def _parse_phone(value: object) -> str:
    """E.164 only: the key used to route inbound SMS must match the provider's spelling."""
    if isinstance(value, int) and not isinstance(value, bool):
        raise fail('expected a quoted E.164 phone number such as "+12125550100" '
                   "(YAML reads an unquoted +1... as a number)")
    if not isinstance(value, str):
        raise fail('expected an E.164 phone number such as "+12125550100"')
    text = value.strip()
    if not re.fullmatch(r"\+[1-9]\d{1,14}", text):
        raise fail('expected an E.164 phone number such as "+12125550100" (a "+", the '
                   f"country code, digits only), got {value!r}")
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        raise fail(f"{value!r} is not a phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise fail(f"{value!r} is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


E164 = Annotated[str, PlainValidator(_parse_phone)]


def _parse_digits_id(value: object) -> str:
    """WhatsApp phone-number ids are digits; YAML may read an unquoted one as a number."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if isinstance(value, str) and re.fullmatch(r"\d{1,32}", value.strip()):
        return value.strip()
    raise fail(f"expected the WhatsApp phone-number id (digits), got {value!r}")


WhatsAppId = Annotated[str, PlainValidator(_parse_digits_id)]


def _parse_date(value: object) -> date:
    """A calendar date: YAML's own date or "YYYY-MM-DD" (never a number of seconds)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise fail('expected a date such as "2026-12-25"')
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise fail(f"{value!r} is not a valid date (YYYY-MM-DD)")


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


def parse_duration(value: object) -> Duration:
    """A positive span with units ("24h", "1h30m"): a bare number would not say which unit."""
    if isinstance(value, Duration):
        return value
    if not isinstance(value, str):
        raise fail('expected a duration such as "24h", "2h", "90m", "2d" or "1h30m"')
    text = value.strip()
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        raise fail('expected a duration such as "24h", "2h", "90m", "2d" or "1h30m", '
                   f"got {value!r}")
    days, hours, minutes = (int(g) if g else 0 for g in match.groups())
    delta = timedelta(days=days, hours=hours, minutes=minutes)
    if delta <= timedelta(0):
        raise fail(f"must be longer than zero, got {value!r}")
    return Duration(text=text, delta=delta)


DurationText = Annotated[Duration, PlainValidator(parse_duration),
                         PlainSerializer(lambda d: d.text, return_type=str, when_used="json")]


def _check_interval(value: tuple[time, time]) -> tuple[time, time]:
    """Opening intervals never cross midnight, so open must come before close."""
    if value[0] >= value[1]:
        raise fail(f"opens at {format_hhmm(value[0])} but closes at "
                   f"{format_hhmm(value[1])}: open must be before close")
    return value


Interval = Annotated[tuple[LocalTime, LocalTime], AfterValidator(_check_interval),
                     PlainSerializer(lambda v: [format_hhmm(v[0]), format_hhmm(v[1])],
                                     when_used="json")]
"""A half-open local interval `[open, close)`; open < close, both within one day."""

NonEmptyStr = Annotated[str, Field(min_length=1)]
Minutes = Annotated[StrictInt, Field(ge=1, le=7 * 24 * 60)]


def check_quiet_hours(value: tuple[time, time]) -> tuple[time, time]:
    """Quiet hours may wrap midnight, but equal ends would be ambiguous (none or all day)."""
    if value[0] == value[1]:
        raise fail(f"start and end are both {format_hhmm(value[0])}: the window would be "
                   "empty or the whole day")
    return value


QuietHours = Annotated[tuple[LocalTime, LocalTime],
                       PlainSerializer(lambda v: [format_hhmm(v[0]), format_hhmm(v[1])],
                                       when_used="json")]


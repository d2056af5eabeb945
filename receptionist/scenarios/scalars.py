"""The words and values a scenario file is written in (docs/conversations.md): states, statuses,
actions, durations, local times, phones, regexes, amounts.

Split from receptionist/scenarios/model.py (which re-exports the public names). Each parser
refuses a misspelling or a malformed value with a message naming what to write instead, so a
typo is a file error rather than a check that silently passes.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import BeforeValidator, PlainValidator
from pydantic_core import PydanticCustomError

from libs import yamlcheck
from libs.contracts import vocabulary

STATES = vocabulary.CONVERSATION_STATES
BOOKING_STATUSES = vocabulary.BOOKING_STATUSES
DEPOSIT_STATES = vocabulary.DEPOSIT_STATUSES
NO_SHOW_RISKS = vocabulary.NO_SHOW_RISKS
CHANNELS = vocabulary.CHANNELS
ACTIONS = ("say", "resend", "wait", "wait_until", "pay")
BOOKING_FIELDS = ("service", "start", "status", "deposit", "deposit_amount",
                  "attendance_confirmed", "no_show_risk")

Channel = vocabulary.Channel
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


def fail(message: str) -> PydanticCustomError:
    """An error shown as written (see `yamlcheck.fail`: a brace in a regex cannot break it)."""
    return yamlcheck.fail("scenario", message)


_DURATION = re.compile(r"(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?")


def parse_duration(value: object) -> timedelta:
    """"30m", "2h", "1d", "1h30m", "90m" -> timedelta; a bare number has no unit, so refused."""
    if isinstance(value, timedelta):
        return value
    example = 'expected a duration such as "30m", "2h", "1d" or "1h30m"'
    if isinstance(value, bool) or not isinstance(value, str):
        if isinstance(value, int | float):
            raise fail(f"{example}, got the number {value} (a unit is required)")
        raise fail(example)
    text = value.strip()
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        raise fail(f"{example}, got {value!r}")
    days, hours, minutes = (int(g) if g else 0 for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


def format_duration(delta: timedelta) -> str:
    """The inverse of `parse_duration`, for the report ("1h30m")."""
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    text = (f"{days}d" if days else "") + (f"{hours}h" if hours else "") + (
        f"{minutes}m" if minutes else "")
    return text or "0m"


def parse_local_minute(value: object) -> datetime:
    """"YYYY-MM-DDTHH:MM" business-local wall-clock time -> naive datetime."""
    if isinstance(value, datetime):
        if value.tzinfo is not None or value.second or value.microsecond:
            raise fail('expected a business-local time "YYYY-MM-DDTHH:MM" (no zone, no '
                       "seconds)")
        return value
    if not isinstance(value, str):
        raise fail('expected a business-local time "YYYY-MM-DDTHH:MM"')
    text = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", text):
        try:
            return datetime.strptime(text.replace(" ", "T"), LOCAL_FORMAT)
        except ValueError:
            pass
    raise fail(f'expected a business-local time "YYYY-MM-DDTHH:MM", got {value!r}')


def format_local(value: datetime) -> str:
    """The inverse of `parse_local_minute`, for messages and the report."""
    return value.strftime(LOCAL_FORMAT)


def _parse_phone(value: object) -> str:
    """E.164, as the channels spell a sender; the checker compares it to `to` verbatim."""
    if isinstance(value, str) and re.fullmatch(r"\+[1-9]\d{1,14}", value.strip()):
        return value.strip()
    raise fail(f'expected an E.164 phone number such as "+15555550101", got {value!r}')


def _parse_business_id(value: object) -> str:
    """A fixture id, spelled as profile ids are (a slug), so a typo names no file."""
    if isinstance(value, str) and re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?",
                                               value.strip()):
        return value.strip()
    raise fail(f"expected a business fixture id such as 'salon', got {value!r}")


def _parse_text(value: object) -> str:
    """Text exactly as written (the loader keeps plain scalars as text for these keys)."""
    if isinstance(value, str):
        return value
    raise fail(f"expected text, got {value!r}")


def _parse_name(value: object) -> str:
    """The report names scenarios, so an empty name is refused."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise fail(f"expected a non-empty name, got {value!r}")


def _parse_regex(value: object) -> str:
    """Compiled once here so a broken pattern is a file error, not a failed expectation."""
    if not isinstance(value, str):
        raise fail(f"expected a regular expression (text), got {value!r}")
    try:
        re.compile(value)
    except re.error as exc:
        raise fail(f"invalid regular expression {value!r}: {exc}") from None
    return value


def _one_or_many(value: object) -> object:
    """`reply: "x"` means `reply: ["x"]`."""
    return [value] if isinstance(value, str) else value


def _parse_state(value: object) -> str:
    """A state of the conversation machine, in any case ("idle" means IDLE)."""
    if isinstance(value, str) and value.strip().upper() in STATES:
        return value.strip().upper()
    raise fail(f"unknown state {value!r} (expected one of {', '.join(STATES)})")


def choice(kind: str, choices: tuple[str, ...], *, nullable: bool = False) -> PlainValidator:
    """One of the spec's words; a misspelling is a file error, not a failed comparison."""

    def parse(value: object) -> str | None:
        if value is None and nullable:
            return None
        if isinstance(value, str) and value.strip() in choices:
            return value.strip()
        also = " or null" if nullable else ""
        raise fail(f"unknown {kind} {value!r} (expected one of {', '.join(choices)}{also})")

    return PlainValidator(parse)


def _parse_amount(value: object) -> str | None:
    """Stored amounts are compared as "15.00" strings; `15`, `15.0` and "15.00" all mean it."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise fail(f'expected an amount such as "15.00" or null, got {value!r}')
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise fail(f'expected an amount such as "15.00" or null, got {value!r}') from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise fail(f'expected an amount with at most 2 decimals such as "15.00", got {value!r}')
    return f"{amount:.2f}"


def _parse_resend(value: object) -> Literal[True]:
    """`resend: false` would read as "do not resend", which is no action at all."""
    if value is True:
        return True
    raise fail(f"write `resend: true` (got {value!r})")


def _parse_count(value: object) -> int:
    """A strict count: `true` is not 1 and "2" is not 2."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise fail(f"expected a whole number of messages (0 or more), got {value!r}")


LocalMinute = Annotated[datetime, PlainValidator(parse_local_minute)]
DurationValue = Annotated[timedelta, PlainValidator(parse_duration)]
Phone = Annotated[str, PlainValidator(_parse_phone)]
BusinessId = Annotated[str, PlainValidator(_parse_business_id)]
Regex = Annotated[str, PlainValidator(_parse_regex)]
Regexes = Annotated[tuple[Regex, ...], BeforeValidator(_one_or_many)]
State = Annotated[str, PlainValidator(_parse_state)]
Count = Annotated[int, PlainValidator(_parse_count)]
Text = Annotated[str, PlainValidator(_parse_text)]
Name = Annotated[str, PlainValidator(_parse_name)]
Amount = Annotated[str | None, PlainValidator(_parse_amount)]
Resend = Annotated[Literal[True], PlainValidator(_parse_resend)]

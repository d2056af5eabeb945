"""A business profile: the YAML file a business is onboarded from, parsed and validated.

Pure: no I/O except `load_profile`, which reads one file. A file that breaks a rule is
refused with *every* problem listed by key path (`ProfileError.problems`), so an operator
fixes a file in one pass instead of one error per attempt (docs/business-profile.md).

Wall-clock values (hours, cutoff, windows, quiet hours) are naive `datetime.time` in the
business's own zone (`BusinessProfile.tz`); converting to UTC is the caller's job.

The value types live in `profile_scalars`, the rules spanning several keys in
`profile_checks`, and the YAML and error-wording machinery shared with scenario files in
`libs.yamlcheck`; the public names are all importable from here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from libs import yamlcheck
from libs.business.profile_checks import (
    cross_field_problems,
    deposit_over_price,
    norm,
    window_backwards,
)
from libs.business.profile_scalars import (
    E164,
    WEEKDAYS,
    Duration,
    DurationText,
    Interval,
    LocalDate,
    LocalTime,
    Minutes,
    Money,
    NonEmptyStr,
    QuietHours,
    Weekday,
    WhatsAppId,
    check_quiet_hours,
    fail,
    parse_duration,
)

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
    "SpanishWhatsAppTemplate",
    "Weekday",
    "WeekendDeposit",
    "WhatsAppTemplate",
    "load_profile",
    "parse_profile",
    "parse_profile_text",
]

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


# --------------------------------------------------------------------------- models


def _skipping_cross_checks(info: ValidationInfo) -> bool:
    """`parse_profile` checks cross-field rules on the raw input, with precise key paths."""
    return isinstance(info.context, Mapping) and bool(info.context.get(_SKIP_CROSS_CHECKS))


class _Model(BaseModel):
    """Frozen (shared reference data), unknown keys refused, strings trimmed."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class WhatsAppTemplate(_Model):
    """The approved WhatsApp message template sent outside the 24-hour customer-service
    window: its body is one variable, which carries the message's text."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,512}$")]
    language: Annotated[str, Field(pattern=r"^[a-z]{2,3}(_[A-Za-z0-9]{2,4})?$")] = "en_US"


class SpanishWhatsAppTemplate(WhatsAppTemplate):
    """The template for customers answered in Spanish (`channels.whatsapp_template_es`)."""

    language: Annotated[str, Field(pattern=r"^[a-z]{2,3}(_[A-Za-z0-9]{2,4})?$")] = "es"


class Channels(_Model):
    """Where inbound messages for this business arrive (and outbound ones leave from)."""

    sms: E164 | None = None
    whatsapp_phone_number_id: WhatsAppId | None = None
    whatsapp_template: WhatsAppTemplate | None = None
    whatsapp_template_es: SpanishWhatsAppTemplate | None = None


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
    name_es: NonEmptyStr | None = None
    """Shown instead of `name` to a customer answered in Spanish (what customers may say in
    Spanish belongs in `aliases`)."""
    duration_minutes: Annotated[StrictInt, Field(ge=1, le=24 * 60)]
    price: Money
    deposit: Money = Decimal("0.00")

    @model_validator(mode="after")
    def _deposit_within_price(self, info: ValidationInfo) -> Self:
        if not _skipping_cross_checks(info) and self.deposit > self.price:
            raise fail(deposit_over_price(self.deposit, self.price))
        return self

    def matches(self, text: str) -> bool:
        """True when `text` is the name or an alias (case and spacing ignored)."""
        key = norm(text)
        return key == norm(self.name) or any(key == norm(a) for a in self.aliases)


class PrimeTimeWindow(_Model):
    """A booking *starting* in `[start, end)` on one of `days` needs the prime-time deposit."""

    days: Annotated[list[Weekday], Field(min_length=1)]
    start: LocalTime
    end: LocalTime

    @model_validator(mode="after")
    def _start_before_end(self, info: ValidationInfo) -> Self:
        if not _skipping_cross_checks(info) and self.start >= self.end:
            raise fail(window_backwards(self.start, self.end))
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


class Reminders(_Model):
    """Reminder offsets before the start, and a local `[start, end)` window (may wrap midnight)
    in which no reminder is sent."""

    before: list[DurationText] = Field(
        default_factory=lambda: [parse_duration("24h"), parse_duration("2h")])
    quiet_hours: QuietHours = (time(21, 0), time(8, 0))

    @field_validator("quiet_hours", mode="after")
    @classmethod
    def _quiet_hours_not_empty(cls, value: tuple[time, time]) -> tuple[time, time]:
        return check_quiet_hours(value)

    def is_quiet(self, at: time) -> bool:
        """True when local time `at` lies in the quiet window (wrapping midnight if start > end)."""
        start, end = self.quiet_hours
        if start < end:
            return start <= at < end
        return at >= start or at < end


class WaitlistRules(_Model):
    """How long an opened time is kept for the waiting customer it is offered to."""

    offer_minutes: Annotated[StrictInt, Field(ge=1, le=24 * 60)] = 15


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
    waitlist: WaitlistRules = Field(default_factory=WaitlistRules)
    faq: dict[NonEmptyStr, NonEmptyStr] = Field(default_factory=dict)
    calendar_id: Annotated[str, Field(pattern=r"^\S{1,1024}$")] | None = None
    """The Google Calendar its bookings are mirrored into and its busy times read from
    (the calendar service); unset: the deployment's `GOOGLE_CALENDAR_ID`, if any."""

    @field_validator("id", mode="before")
    @classmethod
    def _id_is_text(cls, value: object) -> object:
        if isinstance(value, str) and not re.fullmatch(
                r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?", value.strip()):
            raise fail("expected a slug (lower-case letters, digits and inner hyphens, "
                       f"at most 64 characters), got {value!r}")
        return value

    @field_validator("timezone", mode="after")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        if not _is_iana_zone(value):
            raise fail(f"unknown IANA timezone {value!r}")
        return value

    @field_validator("currency", mode="after")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        if re.fullmatch(r"[A-Za-z]{3}", value) and value != value.lower():
            raise fail(f"ISO 4217 code must be lower case: {value.lower()!r}, got {value!r}")
        if not re.fullmatch(r"[a-z]{3}", value):
            raise fail(f"expected a lower-case ISO 4217 code such as 'usd', got {value!r}")
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
        problems = cross_field_problems(self.to_json_dict())
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
        key = norm(name)
        for service in self.services:
            if norm(service.name) == key:
                return service
        for service in self.services:
            if any(norm(a) == key for a in service.aliases):
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


def _is_iana_zone(name: str) -> bool:
    """A zone name ZoneInfo can load; a path-like name must not reach the file system."""
    if not name or name.startswith("/") or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


# --------------------------------------------------------------------------- validation


def _key_path(loc: yamlcheck.Loc) -> str:
    """('services', 2, 'duration_minutes') -> 'services[2].duration_minutes'; pydantic's
    "[key]" marker (the error is in a mapping's key, not its value) is left out."""
    return yamlcheck.dotted(p for p in loc if p != "[key]") or "(profile)"


def _hint(message: str, error: ErrorDetails) -> str:
    """Say what to change in the YAML when its quoting made the wrong type."""
    kind = error["type"]
    loc = error["loc"]
    if kind == "string_type" and isinstance(error.get("input"), int | float):
        message += " (quote it in the YAML file)"
    if kind == "int_type" and isinstance(error.get("input"), str):
        message += " (write the number without quotes)"
    if loc and loc[-1] == "[key]":
        message = message.replace("Input", "Key", 1)
    return message


_WORDING = yamlcheck.Wording(key_path=_key_path, missing="field required",
                             unknown_key=lambda _loc: "unknown key", amend=_hint)


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
        problems.extend(_WORDING.problems(exc))
    problems.extend(p for p in cross_field_problems(data) if p not in problems)
    if problems or profile is None:
        raise ProfileError(problems or ["(profile): invalid"])
    return profile


# --------------------------------------------------------------------------- YAML


def load_profile(path: Path | str) -> BusinessProfile:
    """Read and validate one YAML profile file; every problem is reported in one ProfileError."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError([f"(file): cannot read the file: {exc}"], source=source) from exc
    return parse_profile_text(text, source=source)


def parse_profile_text(text: str, *, source: str | None = None) -> BusinessProfile:
    """Validate a profile's YAML (or JSON) text exactly as `load_profile` validates a file
    (the admin API's profile edit); every problem is reported in one ProfileError."""
    try:
        data, duplicates = yamlcheck.load_yaml(text)
    except yaml.YAMLError as exc:
        raise ProfileError([f"(yaml): {yamlcheck.syntax_error(exc)}"], source=source) from exc
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
    """What the top level was instead of a mapping, in the words of a YAML author."""
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    return type(value).__name__

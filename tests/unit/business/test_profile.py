"""Business profiles: the fixtures load, defaults fill gaps, and a bad file lists every problem."""

from __future__ import annotations

import json
import textwrap
from datetime import date, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from libs.business.profile import (
    BusinessProfile,
    ProfileError,
    load_profile,
    parse_profile,
)
from tests.helpers import FIXTURE_BUSINESSES as FIXTURES

MINIMAL = """\
id: mini
name: Mini Cuts
address: "1 Main St, Springfield"
phone: "+12125550100"
owner_phone: "+12125550199"
timezone: America/New_York
currency: usd
hours:
  mon: [["09:00", "12:00"], ["13:00", "17:00"]]
services:
  - name: Haircut
    duration_minutes: 30
    price: "30.00"
"""


def _write(tmp_path: Path, text: str, name: str = "profile.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _minimal(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(MINIMAL)
    data.update(changes)
    return data


def _problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ProfileError) as caught:
        parse_profile(data)
    return caught.value.problems


# --------------------------------------------------------------------------- fixtures


@pytest.mark.parametrize("name", ["salon", "clinic", "barber"])
def test_fixture_profiles_load_and_round_trip_through_json(name: str) -> None:
    profile = load_profile(FIXTURES / f"{name}.yaml")

    assert profile.id == name
    stored = json.loads(json.dumps(profile.to_json_dict()))  # what JSONB gives back
    assert BusinessProfile.from_json_dict(stored) == profile


def test_salon_values() -> None:
    salon = load_profile(FIXTURES / "salon.yaml")

    assert salon.booking.capacity == 2
    assert salon.booking.same_day_cutoff == time(15, 0)
    assert salon.timezone == "America/New_York"
    assert salon.tz.key == "America/New_York"
    assert salon.channels.sms == "+12125550100"
    assert salon.channels.whatsapp_phone_number_id == "109876543210001"
    color = salon.services[2]
    assert (color.name, color.duration_minutes) == ("Color", 120)
    assert (color.price, color.deposit) == (Decimal("150.00"), Decimal("40.00"))
    assert salon.services[0].deposit == Decimal("0.00")
    assert salon.deposits.prime_time is not None
    assert salon.deposits.prime_time.windows[0].days == ["thu", "fri"]
    assert salon.deposits.weekend is not None and salon.deposits.weekend.amount == Decimal("15")
    assert salon.hours["mon"] == [] and salon.hours["sun"] == []
    assert salon.closed_dates == [date(2026, 12, 25), date(2027, 1, 1)]
    assert salon.faq["parking"].startswith("Street parking")


def test_clinic_has_two_intervals_on_monday() -> None:
    clinic = load_profile(FIXTURES / "clinic.yaml")

    assert clinic.intervals_on(0) == [(time(8), time(12)), (time(13), time(17))]
    assert clinic.hours["mon"] == clinic.intervals_on(0)
    assert clinic.intervals_on(5) == []
    assert clinic.deposits.prime_time is None and clinic.deposits.hold_minutes == 20
    assert [r.delta for r in clinic.reminders.before] == [timedelta(hours=48), timedelta(hours=2)]
    assert clinic.reminders.quiet_hours == (time(20), time(8))


def test_barber_values() -> None:
    barber = load_profile(FIXTURES / "barber.yaml")

    assert barber.booking.slot_minutes == 10
    assert barber.booking.capacity == 3
    assert barber.cancellation.free_until_hours == 12
    assert barber.deposits.hold_minutes == 10
    assert barber.tz.key == "America/Chicago"


# --------------------------------------------------------------------------- defaults


def test_missing_sections_get_the_spec_defaults(tmp_path: Path) -> None:
    profile = load_profile(_write(tmp_path, MINIMAL))

    assert profile.booking.capacity == 1
    assert profile.booking.slot_minutes == 15
    assert profile.booking.min_notice_minutes == 60
    assert profile.booking.same_day_cutoff is None
    assert profile.booking.max_days_ahead == 60
    assert profile.booking.session_timeout_minutes == 30
    assert profile.deposits.prime_time is None and profile.deposits.weekend is None
    assert profile.deposits.combine == "max"
    assert profile.deposits.hold_minutes == 15
    assert profile.cancellation.free_until_hours == 24
    assert [r.text for r in profile.reminders.before] == ["24h", "2h"]
    assert [r.delta for r in profile.reminders.before] == [timedelta(hours=24), timedelta(hours=2)]
    assert profile.reminders.quiet_hours == (time(21), time(8))
    assert profile.channels.sms is None and profile.channels.whatsapp_phone_number_id is None
    assert profile.closed_dates == [] and profile.faq == {}
    assert profile.services[0].deposit == Decimal("0.00")


# --------------------------------------------------------------------------- helpers


def test_service_by_name_matches_names_and_aliases_ignoring_case() -> None:
    salon = load_profile(FIXTURES / "salon.yaml")

    assert (haircut := salon.service_by_name("Haircut")) is not None
    assert haircut.name == "Haircut"
    by_alias = salon.service_by_name("  BEARD   shape up ")
    assert by_alias is not None and by_alias.name == "Beard Trim"
    assert salon.service_by_name("massage") is None


def test_is_closed_on_closed_dates_and_days_without_hours() -> None:
    salon = load_profile(FIXTURES / "salon.yaml")

    assert salon.is_closed(date(2026, 12, 25))  # a Friday, but listed
    assert salon.is_closed(date(2026, 12, 7))  # a Monday: no hours
    assert not salon.is_closed(date(2026, 12, 8))  # a Tuesday
    with pytest.raises(ValueError):
        salon.intervals_on(7)


def test_quiet_hours_may_wrap_midnight() -> None:
    profile = parse_profile(_minimal(reminders={"quiet_hours": ["22:30", "07:00"]}))

    assert profile.reminders.quiet_hours == (time(22, 30), time(7))
    assert profile.reminders.is_quiet(time(23, 0))
    assert profile.reminders.is_quiet(time(6, 59))
    assert not profile.reminders.is_quiet(time(7, 0))
    assert not profile.reminders.is_quiet(time(12, 0))


def test_quiet_hours_within_one_day() -> None:
    profile = parse_profile(_minimal(reminders={"quiet_hours": ["12:00", "13:00"]}))

    assert profile.reminders.is_quiet(time(12, 30))
    assert not profile.reminders.is_quiet(time(13, 0))


@pytest.mark.parametrize(("text", "delta"), [
    ("24h", timedelta(hours=24)), ("2h", timedelta(hours=2)), ("90m", timedelta(minutes=90)),
    ("2d", timedelta(days=2)), ("1h30m", timedelta(hours=1, minutes=30)),
])
def test_reminder_durations(text: str, delta: timedelta) -> None:
    profile = parse_profile(_minimal(reminders={"before": [text]}))

    assert profile.reminders.before[0].delta == delta
    assert profile.reminders.before[0].text == text
    assert profile.to_json_dict()["reminders"]["before"] == [text]


@pytest.mark.parametrize(("raw", "amount"), [
    ("35.00", "35.00"), ("35", "35.00"), (35, "35.00"), (35.5, "35.50"), ("0", "0.00"),
])
def test_money_is_normalized_to_cents(raw: object, amount: str) -> None:
    profile = parse_profile(_minimal(services=[
        {"name": "Cut", "duration_minutes": 30, "price": raw}]))

    assert profile.services[0].price == Decimal(amount)
    assert profile.to_json_dict()["services"][0]["price"] == amount


@pytest.mark.parametrize(("raw", "message"), [
    ("-1.00", "must not be negative"), ("10.001", "at most 2 decimal places"),
    ("ten", "expected an amount of money"), (True, "expected an amount of money"),
    ("NaN", "finite"),
])
def test_bad_money_is_refused(raw: object, message: str) -> None:
    problems = _problems(_minimal(services=[
        {"name": "Cut", "duration_minutes": 30, "price": raw}]))

    assert len(problems) == 1
    assert problems[0].startswith("services[0].price: ")
    assert message in problems[0]


# --------------------------------------------------------------------------- refusals


BROKEN = """\
id: broken
name: Broken Salon
address: "1 Main St"
phone: "+12125550100"
owner_phone: "+12125550199"
timezone: Mars/Base
currency: usd
colour: purple
hours:
  mon: [["09:00", "13:00"], ["12:00", "17:00"]]
  tue: [["09:00", "25:00"]]
  funday: [["09:00", "10:00"]]
booking:
  capacity: 2
  overbook: true
services:
  - name: Haircut
    duration_minutes: 30
    price: "30.00"
  - name: Beard Trim
    price: "20.00"
  - name: Shave
    duration_minutes: 20
    price: "-5.00"
deposits:
  prime_time:
    amount: "10.00"
    windows:
      - {days: [fri], start: "19:00", end: "17:00"}
"""


def test_a_broken_file_lists_every_problem_with_its_key_path(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile(_write(tmp_path, BROKEN))

    problems = caught.value.problems
    expected = {
        "timezone: unknown IANA timezone 'Mars/Base'",
        "colour: unknown key",
        "hours.mon[1]: overlaps hours.mon[0]",
        "hours.tue[0][1]: '25:00' is not a valid time of day (00:00 to 23:59)",
        "hours.funday: unknown weekday 'funday' (expected one of mon, tue, wed, thu, fri, sat, "
        "sun)",
        "booking.overbook: unknown key",
        "services[1].duration_minutes: field required",
        "services[2].price: must not be negative, got -5.00",
        "deposits.prime_time.windows[0]: start 19:00 must be before end 17:00",
    }
    assert set(problems) == expected, problems
    message = str(caught.value)
    assert str(tmp_path / "profile.yaml") in message
    assert all(p in message for p in expected)


def test_cross_field_problems_are_reported_beside_field_errors() -> None:
    """An overlap is found even when another interval of the same day does not parse."""
    problems = _problems(_minimal(hours={"mon": [["09:00", "12:00"], ["24:30", "13:00"],
                                                 ["11:00", "14:00"]]}))

    assert "hours.mon[2]: overlaps hours.mon[0]" in problems
    assert any(p.startswith("hours.mon[1][0]: ") for p in problems)
    assert len(problems) == 2


def test_open_must_be_before_close() -> None:
    assert _problems(_minimal(hours={"mon": [["17:00", "09:00"]]})) == [
        "hours.mon[0]: opens at 17:00 but closes at 09:00: open must be before close"]


def test_adjacent_intervals_do_not_overlap_and_are_kept_in_order() -> None:
    profile = parse_profile(_minimal(hours={"mon": [["13:00", "17:00"], ["09:00", "13:00"]]}))

    assert profile.intervals_on(0) == [(time(9), time(13)), (time(13), time(17))]


def test_midnight_as_close_is_refused_with_a_hint() -> None:
    problems = _problems(_minimal(hours={"sat": [["20:00", "24:00"]]}))

    assert len(problems) == 1 and problems[0].startswith("hours.sat[0][1]: \"24:00\"")


def test_unquoted_yaml_times_get_a_hint(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL.replace('[["09:00", "12:00"], ["13:00", "17:00"]]',
                                            '[["09:00", 17:00]]'))
    with pytest.raises(ProfileError) as caught:
        load_profile(path)

    assert caught.value.problems == [
        'hours.mon[0][1]: expected a quoted "HH:MM" time (YAML reads an unquoted 17:00 as a '
        'number; write "17:00")']


def test_duplicate_service_names_ignore_case() -> None:
    problems = _problems(_minimal(services=[
        {"name": "Haircut", "duration_minutes": 30, "price": "30"},
        {"name": "HAIRCUT", "duration_minutes": 45, "price": "40"},
    ]))

    assert problems == ["services[1].name: duplicate of services[0].name 'Haircut' "
                        "(names are compared ignoring case)"]


def test_an_alias_must_point_at_one_service_only() -> None:
    problems = _problems(_minimal(services=[
        {"name": "Haircut", "aliases": ["cut"], "duration_minutes": 30, "price": "30"},
        {"name": "Beard", "aliases": ["Cut", "haircut", "beard trim"], "duration_minutes": 20,
         "price": "20"},
    ]))

    assert problems == [
        "services[1].aliases[0]: 'Cut' is also an alias of services[0] (Haircut)",
        "services[1].aliases[1]: 'haircut' is the name of services[0] (Haircut)",
    ]


def test_a_deposit_above_the_price_is_refused() -> None:
    problems = _problems(_minimal(services=[
        {"name": "Cut", "duration_minutes": 30, "price": "30", "deposit": "31"}]))

    assert problems == ["services[0].deposit: deposit 31.00 is more than the price 30.00"]


def test_required_keys_are_named() -> None:
    data = _minimal()
    del data["timezone"], data["services"]

    assert _problems(data) == ["timezone: field required", "services: field required"]


@pytest.mark.parametrize(("key", "value", "message"), [
    ("currency", "USD", "currency: ISO 4217 code must be lower case: 'usd', got 'USD'"),
    ("currency", "dollars", "currency: expected a lower-case ISO 4217 code"),
    ("id", "Bella Salon", "id: expected a slug"),
    ("owner_phone", "+1555", "owner_phone: '+1555' is not a valid phone number"),
    ("owner_phone", "212-555-0199", "owner_phone: expected an E.164 phone number"),
    ("owner_phone", 12125550199, "owner_phone: expected a quoted E.164 phone number"),
    ("closed_dates", ["2026-02-30"], "closed_dates[0]: '2026-02-30' is not a valid date"),
    ("booking", {"capacity": "2"}, "booking.capacity: input should be a valid integer"),
    ("booking", {"same_day_cutoff": "3pm"}, "booking.same_day_cutoff: expected a \"HH:MM\""),
    ("channels", {"sms": "+12125550100", "fax": "x"}, "channels.fax: unknown key"),
    ("deposits", {"combine": "sum"}, "deposits.combine: input should be 'max'"),
    ("reminders", {"before": ["soon"]}, "reminders.before[0]: expected a duration"),
    ("reminders", {"before": ["24h", "1d"]},
     "reminders.before[1]: '1d' is the same as reminders.before[0]"),
    ("reminders", {"quiet_hours": ["21:00", "21:00"]}, "reminders.quiet_hours: start and end"),
])
def test_single_mistakes(key: str, value: object, message: str) -> None:
    problems = _problems(_minimal(**{key: value}))

    assert len(problems) == 1, problems
    assert problems[0].startswith(message), problems


def test_unknown_weekday_in_a_deposit_rule() -> None:
    problems = _problems(_minimal(deposits={"weekend": {"amount": "5", "days": ["saturday"]}}))

    assert problems == ["deposits.weekend.days[0]: unknown weekday 'saturday' "
                        "(expected one of mon, tue, wed, thu, fri, sat, sun)"]


def test_whatsapp_id_may_be_an_unquoted_number() -> None:
    profile = parse_profile(_minimal(channels={"whatsapp_phone_number_id": 109876543210001}))

    assert profile.channels.whatsapp_phone_number_id == "109876543210001"


def test_yaml_syntax_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile(_write(tmp_path, "id: x\nhours:\n  mon: [[\"09:00\", \"12:00\"]\n"))

    [problem] = caught.value.problems
    assert problem.startswith("(yaml): syntax error at line ")


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile(_write(tmp_path, ""))

    [problem] = caught.value.problems
    assert problem.startswith("(profile): the file is empty")


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile(_write(tmp_path, "- id: x\n"))

    assert caught.value.problems == [
        "(profile): expected a mapping of keys at the top level, got a list"]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile(tmp_path / "nope.yaml")

    [problem] = caught.value.problems
    assert problem.startswith("(file): cannot read the file")


def test_duplicate_yaml_keys_are_refused(tmp_path: Path) -> None:
    """Plain YAML keeps the last of two keys silently; an operator would lose a day."""
    text = MINIMAL.replace('hours:\n', 'hours:\n  tue: [["09:00", "12:00"]]\n  tue: []\n')
    with pytest.raises(ProfileError) as caught:
        load_profile(_write(tmp_path, text))

    assert caught.value.problems == [
        "(yaml) line 10: duplicate key 'tue' (the earlier value would be ignored)"]


def test_building_a_model_directly_also_checks_cross_field_rules() -> None:
    data = _minimal(hours={"mon": [["09:00", "12:00"], ["11:00", "13:00"]]})

    with pytest.raises(ValidationError, match=r"hours\.mon\[1\]: overlaps hours\.mon\[0\]"):
        BusinessProfile.model_validate(data)


def test_profiles_are_immutable() -> None:
    profile = parse_profile(_minimal())

    with pytest.raises(ValidationError):
        profile.name = "Other"  # type: ignore[misc]

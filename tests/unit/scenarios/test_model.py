"""Parsing the scenario file format: every public file, YAML quirks, and clear refusals."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from receptionist.scenarios.model import (
    Scenario,
    ScenarioError,
    Target,
    format_duration,
    load_scenario,
    parse_duration,
    parse_local_minute,
    parse_scenario_text,
)
from tests.helpers import OWN_SCENARIOS, SHARED

PUBLIC = sorted((SHARED / "scenarios").glob("*.yaml"))
EVERY = sorted(OWN_SCENARIOS.glob("*.yaml")) + PUBLIC

HEADER = """\
name: test
business: salon
start: "2026-12-01T09:00"
customer: "+15555550101"
steps:
"""


def parse(steps: str, header: str = HEADER) -> Scenario:
    return parse_scenario_text(header + steps, source="t.yaml")


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario_text(text, source="t.yaml")
    assert caught.value.source == "t.yaml"
    assert "t.yaml" in str(caught.value)
    return caught.value.problems


# --- the public set ---------------------------------------------------------------------


@pytest.mark.parametrize("path", EVERY, ids=[p.name for p in EVERY])
def test_every_scenario_parses(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.name
    assert scenario.steps
    assert scenario.channel in ("sms", "whatsapp", "web")
    for step in scenario.steps:
        assert step.action in ("say", "resend", "wait", "wait_until", "pay")
        assert step.describe()


def test_our_scenarios_have_names_of_their_own() -> None:
    """A report line (PASS/FAIL and the name) must say which scenario it was."""
    names = [load_scenario(path).name for path in sorted(OWN_SCENARIOS.glob("*.yaml"))]
    twice = sorted({name for name in names if names.count(name) > 1})
    assert not twice, twice


@pytest.mark.skipif(not PUBLIC, reason="no shared scenarios folder")
def test_public_scenarios_read_as_written() -> None:
    by_name = {p.name: load_scenario(p) for p in PUBLIC}
    first = by_name["01_book_in_one_message.yaml"]
    assert first.start == datetime(2026, 12, 1, 9, 0)
    assert first.steps[0].expect.reply == ("(?i)haircut", "Wed, Dec 2", "3:00 PM")
    assert first.steps[0].expect.bookings == ()
    wanted = first.steps[1].expect.bookings
    assert wanted is not None
    assert wanted[0].expected_fields() == {"service": "Haircut", "start": "2026-12-02T15:00",
                                           "status": "confirmed", "deposit": "none",
                                           "no_show_risk": "medium"}
    assert by_name["02_multi_turn_with_deposit.yaml"].channel == "whatsapp"
    assert by_name["03_correction_while_confirming.yaml"].channel == "sms"  # the default
    hold = by_name["08_hold_expires_then_late_payment.yaml"]
    assert hold.steps[2].wait == timedelta(minutes=16)
    assert hold.steps[3].pay is not None and hold.steps[3].pay.times == 1
    reminders = by_name["11_reminders_and_completion.yaml"]
    assert reminders.steps[2].wait_until == datetime(2026, 12, 2, 9, 58)
    capacity = by_name["15_capacity.yaml"]
    assert capacity.say_target(0) == Target("+15555550201", "salon", "sms")
    assert capacity.say_target(4) == Target("+15555550115", "salon", "sms")
    assert by_name["14_clinic_lunch_break.yaml"].business_ids == ("clinic",)


# --- values -----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "delta"), [
    ("30m", timedelta(minutes=30)), ("2h", timedelta(hours=2)), ("1d", timedelta(days=1)),
    ("1h30m", timedelta(minutes=90)), ("90m", timedelta(minutes=90)),
    ("1d2h", timedelta(hours=26)), (" 16m ", timedelta(minutes=16)),
    ("1h 30m", timedelta(minutes=90)),
])
def test_durations(text: str, delta: timedelta) -> None:
    assert parse_duration(text) == delta


@pytest.mark.parametrize("bad", ["90", 90, "1x", "", "h", "30 minutes", "-5m", "1m30h", True,
                                 None, "1.5h"])
def test_bad_durations_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


def test_duration_round_trip_for_the_report() -> None:
    assert format_duration(timedelta(minutes=90)) == "1h30m"
    assert format_duration(timedelta(days=1, minutes=5)) == "1d5m"
    assert format_duration(timedelta(0)) == "0m"


def test_local_times() -> None:
    assert parse_local_minute("2026-12-02T15:00") == datetime(2026, 12, 2, 15, 0)
    assert parse_local_minute("2026-12-02 15:00") == datetime(2026, 12, 2, 15, 0)
    for bad in ("2026-12-02", "2026-12-02T15:00:00", "2026-13-02T15:00", "3pm", 1700):
        with pytest.raises(ValueError, match="YYYY-MM-DDTHH:MM"):
            parse_local_minute(bad)


# --- steps and defaults -----------------------------------------------------------------


def test_every_action_and_override() -> None:
    scenario = parse("""\
  - {say: "hi", from: "+15555550202", channel: whatsapp, to: barber}
  - resend: true
  - wait: 1h30m
  - wait_until: "2026-12-03T08:00"
  - pay: {}
  - pay: {times: 2, from: "+15555550202"}
  - {pay: {}, from: "+15555550303", to: barber}
  - pay:
""")
    actions = [s.action for s in scenario.steps]
    assert actions == ["say", "resend", "wait", "wait_until", "pay", "pay", "pay", "pay"]
    assert scenario.say_target(0) == Target("+15555550202", "barber", "whatsapp")
    assert scenario.say_target(1) == Target("+15555550202", "barber", "whatsapp")
    assert scenario.payer(4) == Target("+15555550101", "salon", "sms")
    assert scenario.payer(5) == Target("+15555550202", "salon", "sms")
    assert scenario.payer(6) == Target("+15555550303", "barber", "sms")
    assert scenario.steps[5].pay is not None and scenario.steps[5].pay.times == 2
    assert scenario.business_ids == ("salon", "barber")
    assert [s.describe() for s in scenario.steps] == [
        'say "hi" from +15555550202 to barber via whatsapp', "resend", "wait 1h30m",
        "wait_until 2026-12-03T08:00", "pay", "pay x2 from +15555550202",
        "pay from +15555550303 to barber", "pay"]
    assert all(s.expect.is_empty() for s in scenario.steps)


def test_plain_yaml_scalars_keep_the_text_written() -> None:
    """`yes` is a bool and `11:30` a base-60 number in YAML 1.1; a scenario means the text."""
    scenario = parse_scenario_text("""\
name: quirks
business: salon
start: 2026-12-01T09:00
customer: +15555550101
steps:
  - say: yes
  - say: 11:30
  - say: no
  - say: 7
    expect:
      reply: [11:00, 0x1F]
      not_reply: '(?i)sorry'
      bookings:
        - {deposit_amount: 15, attendance_confirmed: yes, no_show_risk: null}
        - {deposit_amount: 15.5, start: 2026-12-02T15:00, service: 123}
""")
    assert [s.say for s in scenario.steps] == ["yes", "11:30", "no", "7"]
    assert scenario.customer == "+15555550101"
    expect = scenario.steps[3].expect
    assert expect.reply == ("11:00", "0x1F")
    assert expect.not_reply == ("(?i)sorry",)
    assert expect.bookings is not None
    assert expect.bookings[0].expected_fields() == {
        "deposit_amount": "15.00", "attendance_confirmed": True, "no_show_risk": None}
    assert expect.bookings[1].expected_fields() == {
        "service": "123", "start": "2026-12-02T15:00", "deposit_amount": "15.50"}


def test_states_are_matched_case_insensitively_and_checked() -> None:
    scenario = parse("  - {say: hi, expect: {state: confirming}}\n")
    assert scenario.steps[0].expect.state == "CONFIRMING"
    found = problems(HEADER + "  - {say: hi, expect: {state: CONFIRMED}}\n")
    assert found == ["step 1: expect.state: unknown state 'CONFIRMED' (expected one of IDLE, "
                     "COLLECTING, CONFIRMING, PAYMENT_PENDING, RESCHEDULE_COLLECTING, "
                     "RESCHEDULE_CONFIRM, CANCEL_CONFIRM)"]


# --- malformed files --------------------------------------------------------------------


def test_unknown_keys_name_the_key_path() -> None:
    found = problems("""\
name: test
business: salon
start: "2026-12-01T09:00"
customer: "+15555550101"
chanel: sms
steps:
  - say: hi
    expect: {bookings: [{status: held, colour: red}], replys: 1}
  - {wait: 1h, expected: {}}
""")
    assert found == [
        "step 1: expect.bookings[0].colour: unknown key; expected one of service, start, "
        "status, deposit, deposit_amount, attendance_confirmed, no_show_risk",
        "step 1: expect.replys: unknown key (did you mean 'reply'?); expected one of state, "
        "reply, not_reply, replies, bookings, alerts",
        "step 2: expected: unknown key (did you mean 'expect'?); expected one of say, resend, "
        "wait, wait_until, pay, from, channel, to, expect",
        "chanel: unknown key (did you mean 'channel'?); expected one of name, business, start, "
        "customer, channel, steps",
    ]


def test_two_actions_in_one_step() -> None:
    assert problems(HEADER + "  - {say: hi}\n  - {say: hi, wait: 30m}\n") == [
        "step 2: 2 actions (say, wait): a step has exactly one of say, resend, wait, "
        "wait_until, pay"]


def test_a_step_without_an_action() -> None:
    assert problems(HEADER + "  - {sya: hi, expect: {}}\n") == [
        "step 1: no action (unknown key 'sya'): a step needs exactly one of say, resend, wait, "
        "wait_until, pay"]


def test_bad_duration_names_the_step() -> None:
    assert problems(HEADER + "  - say: hi\n  - wait: 90\n  - wait: soon\n") == [
        'step 2: wait: expected a duration such as "30m", "2h", "1d" or "1h30m", got \'90\'',
        'step 3: wait: expected a duration such as "30m", "2h", "1d" or "1h30m", got \'soon\'',
    ]


@pytest.mark.parametrize(("steps", "problem"), [
    ("  - {say: hi, expect: {reply: ['(']}}\n",
     "step 1: expect.reply[0]: invalid regular expression '(': missing ), unterminated "
     "subpattern at position 0"),
    ("  - {say: hi, expect: {bookings: }}\n",
     "step 1: expect.bookings: needs a value (write bookings: [] for no bookings)"),
    ("  - {say: hi, expect: {replies: -1}}\n",
     "step 1: expect.replies: expected a whole number of messages (0 or more), got -1"),
    ("  - {say: hi, expect: {alerts: one}}\n",
     "step 1: expect.alerts: expected a whole number of messages (0 or more), got 'one'"),
    ("  - {say: hi, expect: {bookings: [{status: booked}]}}\n",
     "step 1: expect.bookings[0].status: unknown booking status 'booked' (expected one of "
     "held, confirmed, cancelled, expired, completed, no_show)"),
    ("  - {say: hi, expect: {bookings: [{deposit_amount: 15.001}]}}\n",
     "step 1: expect.bookings[0].deposit_amount: expected an amount with at most 2 decimals "
     "such as \"15.00\", got '15.001'"),
    ("  - {say: hi, expect: {bookings: [{attendance_confirmed: 1}]}}\n",
     "step 1: expect.bookings[0].attendance_confirmed: input should be a valid boolean"),
    ("  - {say: hi, channel: fax}\n",
     "step 1: channel: input should be 'sms', 'whatsapp' or 'web', got 'fax'"),
    ("  - {say: hi, from: 5551234}\n",
     "step 1: from: expected an E.164 phone number such as \"+15555550101\", got '5551234'"),
    ("  - {wait: 1h, from: '+15555550202'}\n",
     "step 1: from: a wait step has no sender (only say and pay steps do)"),
    ("  - {wait: 1h, channel: sms}\n",
     "step 1: channel: only a say step has a channel (this is a wait step)"),
    ("  - say: hi\n  - {resend: true, to: barber}\n",
     "step 2: to: a resend delivers the previous say again, to the same business"),
    ("  - say: hi\n  - resend: false\n", "step 2: resend: write `resend: true` (got False)"),
    ("  - resend: true\n", "step 1: resend: there is no earlier say to deliver again"),
    ("  - wait_until: '2026-11-30T09:00'\n",
     "step 1: wait_until: 2026-11-30T09:00 is before 2026-12-01T09:00 (time only moves "
     "forward)"),
    ("  - wait_until: '2026-12-03T09:00'\n  - wait_until: '2026-12-02T09:00'\n",
     "step 2: wait_until: 2026-12-02T09:00 is before 2026-12-03T09:00 (time only moves "
     "forward)"),
    ("  - {pay: {times: 0}}\n", "step 1: pay.times: input should be greater than or equal to 1"),
    ("  - {pay: {from: '+15555550202'}, from: '+15555550303'}\n",
     "step 1: from: given both beside and inside pay, with different numbers"),
    ("  - say:\n", 'step 1: say: needs a value (write say: "" for an empty message)'),
    ("  - hello\n", "step 1: expected a mapping with one action (say, resend, wait, "
                    "wait_until, pay), got text 'hello'"),
])
def test_bad_steps(steps: str, problem: str) -> None:
    assert problems(HEADER + steps) == [problem]


def test_bad_top_level() -> None:
    assert problems("name: x\nbusiness: Salon!\nstart: tomorrow\ncustomer: 555\n"
                    "channel: email\nsteps: []\n") == [
        "business: expected a business fixture id such as 'salon', got 'Salon!'",
        "start: expected a business-local time \"YYYY-MM-DDTHH:MM\", got 'tomorrow'",
        "customer: expected an E.164 phone number such as \"+15555550101\", got '555'",
        "channel: input should be 'sms', 'whatsapp' or 'web', got 'email'",
        "steps: a scenario needs at least one step",
    ]
    assert problems("name: x\n") == ["business: required key missing",
                                     "start: required key missing",
                                     "customer: required key missing",
                                     "steps: required key missing"]
    assert problems("") == ["the file is empty"]
    assert problems("- say: hi\n") == [
        "expected a mapping with name, business, start, customer and steps at the top level, "
        "got a list"]


def test_yaml_syntax_errors_and_duplicate_keys() -> None:
    found = problems(HEADER + "  - say: 'unterminated\n")
    assert len(found) == 1 and found[0].startswith("YAML syntax error at line")
    assert problems(HEADER + "  - say: hi\n    say: hello\n") == [
        "line 7: duplicate key 'say' (the earlier value would be ignored)"]


def test_load_scenario_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(HEADER + "  - {say: hi, wait: 1h}\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert caught.value.source == str(path)
    assert str(caught.value).startswith(f"invalid scenario file {path}:\n  step 1: ")
    with pytest.raises(ScenarioError, match="cannot read the file"):
        load_scenario(tmp_path / "missing.yaml")

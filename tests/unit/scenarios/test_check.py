"""Expectation checking: who "this customer" is, each key passing and failing, the wording."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum

import pytest

from receptionist.scenarios.check import (
    Failure,
    Observation,
    Subject,
    check_step,
    observe,
    render_failures,
    subject_of,
)
from receptionist.scenarios.model import Expectations, Scenario, parse_scenario_text
from tests.unit.scenarios.fakes import (
    CUSTOMER,
    OTHER,
    SALON_OWNER,
    booking,
    to_customer,
    to_staff,
)

HEADER = f"""\
name: test
business: salon
start: "2026-12-01T09:00"
customer: "{CUSTOMER}"
steps:
"""
ME = Subject(CUSTOMER, "salon")


def scenario(steps: str) -> Scenario:
    return parse_scenario_text(HEADER + steps)


def expect(text: str) -> Expectations:
    """The expectations of a one-step scenario, written as YAML flow."""
    step = scenario(f"  - {{say: hi, expect: {text}}}\n").steps[0]
    return step.expect


def seen(replies: tuple[str, ...] = (), *, alerts: tuple[str, ...] = (),
         state: str | None = None,
         bookings: tuple[dict[str, object], ...] | None = None) -> Observation:
    return Observation(step=2, action='say "yes"', subject=ME, replies=replies, alerts=alerts,
                       state=state, bookings=bookings)


def lines(failures: list[Failure]) -> list[str]:
    return [f.line() for f in failures]


# --- "this customer" ------------------------------------------------------------------------


def test_this_customer_follows_the_spec() -> None:
    s = scenario(f"""\
  - say: hi
  - {{say: hi, from: "{OTHER}"}}
  - {{say: hi, from: "{OTHER}", to: barber}}
  - resend: true
  - wait: 30m
  - {{wait: 30m, to: barber}}
  - wait_until: "2026-12-02T09:00"
  - {{pay: {{from: "{OTHER}"}}}}
  - {{pay: {{}}, to: barber}}
  - {{say: hi, to: barber}}
""")
    assert [subject_of(s, i) for i in range(len(s.steps))] == [
        Subject(CUSTOMER, "salon"),
        Subject(OTHER, "salon"),
        Subject(OTHER, "barber"),
        Subject(OTHER, "barber"),  # a resend is the same webhook: the same sender
        Subject(CUSTOMER, "salon"),  # after wait: the default customer
        Subject(CUSTOMER, "barber"),
        Subject(CUSTOMER, "salon"),
        Subject(CUSTOMER, "salon"),  # after pay: the default customer, whoever paid
        Subject(CUSTOMER, "barber"),
        Subject(CUSTOMER, "barber"),
    ]


def test_observe_keeps_only_this_customers_replies_and_this_business_alerts() -> None:
    messages = [
        to_customer("mine"),
        to_customer("someone else's", to=OTHER),
        to_customer("mine, but from the barber", business="barber"),
        to_staff("alert"),
        to_staff("barber alert", business="barber", to="+13125550199"),
        to_staff("staff text to a customer number?", to=CUSTOMER),
        to_customer("mine again"),
    ]
    observed = observe(step=1, action="say", subject=ME, owner_phone=SALON_OWNER,
                       messages=messages)
    assert observed.replies == ("mine", "mine again")
    assert observed.alerts == ("alert",)
    assert [m.text for m in observed.others] == [
        "someone else's", "mine, but from the barber", "barber alert",
        "staff text to a customer number?"]


# --- each expectation -----------------------------------------------------------------------


def test_nothing_expected_nothing_checked() -> None:
    assert check_step(Expectations(), seen(("x",), state="IDLE")) == []


def test_state() -> None:
    assert check_step(expect("{state: CONFIRMING}"), seen(state="CONFIRMING")) == []
    assert lines(check_step(expect("{state: CONFIRMING}"), seen(state="COLLECTING"))) == [
        "state: expected CONFIRMING, saw COLLECTING"]


def test_reply_needs_each_regex_to_match_some_message() -> None:
    wanted = expect("{reply: ['(?i)haircut', 'Wed, Dec 2', '3:00 PM']}")
    ok = ("Haircut on Wed, Dec 2?", "at 3:00 PM")
    assert check_step(wanted, seen(ok)) == []
    assert lines(check_step(wanted, seen(("Haircut on Thu, Dec 3 at 3:00 PM",)))) == [
        "reply: expected a message matching 'Wed, Dec 2', saw none matching"]
    assert lines(check_step(expect("{reply: ['hi']}"), seen(()))) == [
        "reply: expected a message matching 'hi', saw no message"]


def test_reply_uses_search_not_match() -> None:
    assert check_step(expect(r"{reply: ['\$15\.00']}"), seen(("Deposit: $15.00",))) == []


def test_not_reply() -> None:
    wanted = expect("{not_reply: ['(?i)sorry', 'error']}")
    assert check_step(wanted, seen(("Booked!",))) == []
    assert check_step(wanted, seen(())) == []
    assert lines(check_step(wanted, seen(("ok", "Sorry, we are closed")))) == [
        "not_reply: expected no message matching '(?i)sorry', saw \"Sorry, we are closed\""]


def test_replies_count() -> None:
    assert check_step(expect("{replies: 0}"), seen(())) == []
    assert check_step(expect("{replies: 1}"), seen(("a",))) == []
    assert lines(check_step(expect("{replies: 1}"), seen(("a", "b")))) == [
        "replies: expected 1 message, saw 2"]
    assert lines(check_step(expect("{replies: 0}"), seen(("a",)))) == [
        "replies: expected 0 messages, saw 1"]


def test_bookings_count_must_match_exactly() -> None:
    assert check_step(expect("{bookings: []}"), seen(bookings=())) == []
    one = (booking(),)
    assert lines(check_step(expect("{bookings: []}"), seen(bookings=one))) == [
        "bookings: expected 0 bookings, saw 1: {service: Haircut, start: 2026-12-02T15:00, "
        "status: confirmed, deposit: none, deposit_amount: null, attendance_confirmed: false, "
        "no_show_risk: medium}"]
    assert lines(check_step(expect("{bookings: [{status: confirmed}]}"), seen(bookings=()))) == [
        "bookings: expected 1 booking, saw 0"]


def test_bookings_compare_only_the_listed_fields_in_order() -> None:
    stored = (booking(status="cancelled", start="2026-12-02T15:00"),
              booking(status="held", deposit="pending", deposit_amount="15.00",
                      start="2026-12-04T17:00"))
    wanted = expect("{bookings: [{status: cancelled}, {status: held, deposit: pending, "
                    "deposit_amount: '15.00', start: '2026-12-04T17:00'}]}")
    assert check_step(wanted, seen(bookings=stored)) == []
    swapped = expect("{bookings: [{status: held}, {status: cancelled}]}")
    assert lines(check_step(swapped, seen(bookings=stored))) == [
        "bookings[0].status: expected held, saw cancelled",
        "bookings[1].status: expected cancelled, saw held"]


@pytest.mark.parametrize(("written", "stored", "failure"), [
    ("{service: Facial}", {"service": "Haircut"},
     "bookings[0].service: expected Facial, saw Haircut"),
    ("{start: '2026-12-02T16:00'}", {"start": "2026-12-02T15:00"},
     "bookings[0].start: expected 2026-12-02T16:00, saw 2026-12-02T15:00"),
    ("{deposit: paid}", {"deposit": "pending"}, "bookings[0].deposit: expected paid, saw pending"),
    ("{deposit_amount: '20.00'}", {"deposit_amount": "15.00"},
     "bookings[0].deposit_amount: expected 20.00, saw 15.00"),
    ("{deposit_amount: '15.00'}", {"deposit_amount": None},
     "bookings[0].deposit_amount: expected 15.00, saw null"),
    ("{deposit_amount: null}", {"deposit_amount": "15.00"},
     "bookings[0].deposit_amount: expected null, saw 15.00"),
    ("{attendance_confirmed: true}", {"attendance_confirmed": False},
     "bookings[0].attendance_confirmed: expected true, saw false"),
    ("{attendance_confirmed: true}", {"attendance_confirmed": 1},
     "bookings[0].attendance_confirmed: expected true, saw 1"),
    ("{no_show_risk: low}", {"no_show_risk": None},
     "bookings[0].no_show_risk: expected low, saw null"),
    ("{status: confirmed}", {"status": "Confirmed"},
     "bookings[0].status: expected confirmed, saw Confirmed"),
])
def test_booking_field_mismatches(written: str, stored: dict[str, object], failure: str) -> None:
    failures = check_step(expect(f"{{bookings: [{written}]}}"),
                          seen(bookings=(booking(**stored),)))
    assert lines(failures) == [failure]


class Status(Enum):
    CONFIRMED = "confirmed"


@pytest.mark.parametrize(("written", "stored"), [
    ("{deposit_amount: '15.00'}", {"deposit_amount": Decimal("15")}),
    ("{deposit_amount: 15}", {"deposit_amount": "15.0"}),
    ("{deposit_amount: '15.00'}", {"deposit_amount": 15.0}),
    ("{start: '2026-12-02T15:00'}", {"start": datetime(2026, 12, 2, 15, 0)}),
    ("{status: confirmed}", {"status": Status.CONFIRMED}),
    ("{no_show_risk: null}", {"no_show_risk": None}),
    ("{attendance_confirmed: false}", {"attendance_confirmed": False}),
])
def test_booking_values_are_compared_as_the_file_writes_them(
        written: str, stored: dict[str, object]) -> None:
    assert check_step(expect(f"{{bookings: [{written}]}}"),
                      seen(bookings=(booking(**stored),))) == []


def test_a_field_the_driver_does_not_report() -> None:
    failures = check_step(expect("{bookings: [{no_show_risk: low}]}"),
                          seen(bookings=({"status": "confirmed"},)))
    assert lines(failures) == ["bookings[0].no_show_risk: expected low, saw <missing>"]


def test_alerts() -> None:
    assert check_step(expect("{alerts: 1}"), seen(alerts=("call them",))) == []
    assert check_step(expect("{alerts: 0}"), seen()) == []
    assert lines(check_step(expect("{alerts: 1}"), seen())) == [
        "alerts: expected 1 staff alert, saw 0"]
    assert lines(check_step(expect("{alerts: 0}"), seen(alerts=("a", "b")))) == [
        'alerts: expected 0 staff alerts, saw 2: "a"; "b"']


def test_every_failure_is_reported_with_step_key_and_replies() -> None:
    wanted = expect("{state: IDLE, reply: ['confirmed'], replies: 1, alerts: 1, "
                    "bookings: [{status: confirmed}]}")
    failures = check_step(wanted, seen(("Pay here: https://x", "and again"), state="PAYMENT_"
                                       "PENDING", bookings=(booking(status="held"),)))
    assert [(f.step, f.key) for f in failures] == [
        (2, "state"), (2, "reply"), (2, "replies"), (2, "bookings[0].status"), (2, "alerts")]
    assert all(f.replies == ("Pay here: https://x", "and again") for f in failures)
    assert failures[0].expected == "IDLE" and failures[0].seen == "PAYMENT_PENDING"


# --- the report -----------------------------------------------------------------------------


def test_render_groups_by_step_and_shows_the_replies() -> None:
    first = check_step(expect("{state: IDLE, replies: 1}"),
                       seen(("Line one\nline two", 'say "hi"'), state="CONFIRMING"))
    other = observe(step=4, action="wait 16m", subject=ME, owner_phone=SALON_OWNER,
                    messages=[to_customer("elsewhere", to=OTHER)])
    second = check_step(expect("{reply: ['expired']}"), other)
    assert render_failures([*first, *second]) == [
        '  step 2 (say "yes"):',
        "    state: expected IDLE, saw CONFIRMING",
        "    replies: expected 1 message, saw 2",
        "    replies to +15555550101 at salon (2):",
        '      "Line one\\nline two"',
        '      "say \\"hi\\""',
        "  step 4 (wait 16m):",
        "    reply: expected a message matching 'expired', saw no message",
        "    replies to +15555550101 at salon: none",
        "    other messages this step (1):",
        '      to +15555550202 (customer, salon): "elsewhere"',
    ]

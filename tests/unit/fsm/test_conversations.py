"""The conversations a customer with more than one thing to say has: which booking, the
earliest time, a time without a date, two services at once, another time zone, policy
questions, and what a good front desk says when it cannot help."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from libs.business.profile import BusinessProfile
from libs.contracts.vocabulary import Intent
from services.fsm import machine as m
from services.fsm.machine import State
from services.fsm.machine.cancel import list_number

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=NY).astimezone(UTC)  # Tue 9:00 AM in New York


def world(profile: BusinessProfile, *, now: datetime = NOW,
          bookings: list[m.BookingView] | None = None) -> m.World:
    return m.World(profile=profile, now=now, busy=[], bookings=bookings or [],
                   customer="+15555550101", next_booking_id=uuid.UUID(int=7),
                   next_reference="ABC123", extra_booking_id=uuid.UUID(int=8),
                   extra_reference="DEF456")


def said(intent: Intent, text: str = "", **slots: Any) -> m.CustomerSaid:
    return m.CustomerSaid(intent=intent, text=text, **slots)


def reply(outcome: m.Outcome) -> str:
    (text,) = [e.text for e in outcome.effects if isinstance(e, m.Reply)]
    return text


def booking(start_local: datetime, service: str = "Haircut") -> m.BookingView:
    start = start_local.replace(tzinfo=NY).astimezone(UTC)
    return m.BookingView(id=uuid.uuid4(), reference=service[:3].upper() + "001",
                         service=service, start=start, end=start + timedelta(minutes=45),
                         status="confirmed", deposit_status="none", deposit_amount=None,
                         resource=1)


@pytest.mark.parametrize(("text", "count", "number"), [
    ("2", 3, 2), ("#2", 3, 2), ("2)", 3, 2), ("number 3", 3, 3), ("the second one", 3, 2),
    ("first", 2, 1), ("the last one", 3, 3), ("4", 3, None), ("2pm", 3, None),
    ("the friday one", 3, None), ("yes", 3, None)])
def test_a_reply_to_a_numbered_list(text: str, count: int, number: int | None) -> None:
    assert list_number(text, count) == number


def test_moving_one_of_two_asks_which_then_moves_that_one(salon: BusinessProfile) -> None:
    first = booking(datetime(2026, 12, 2, 14, 0))
    second = booking(datetime(2026, 12, 4, 10, 0), "Beard Trim")
    w = world(salon, bookings=[first, second])
    asked = m.step(m.Conversation(), said("reschedule", "I need to reschedule"), w)
    assert asked.conversation.state == State.RESCHEDULE_COLLECTING
    assert "1) Haircut" in reply(asked) and "2) Beard Trim" in reply(asked)
    # "2" is read as 2 PM by nlu; answering the list, it is the second booking
    chosen = m.step(asked.conversation, said("inform", "2", time=time(14)), w)
    assert chosen.conversation.context.booking_id == second.id
    assert "Beard Trim" in reply(chosen) and "Haircut" not in reply(chosen)
    # "the beard trim" while moving it names the booking; it does not change the service
    timed = m.step(chosen.conversation, said("inform", "friday at 3pm", date=date(2026, 12, 4),
                                             time=time(15), service="Haircut"), w)
    assert timed.conversation.context.draft.service == "Beard Trim"


def test_earliest_then_a_bare_hour_means_the_earliest_day_for_it(
        salon: BusinessProfile) -> None:
    w = world(salon)
    offered = m.step(m.Conversation(), said("book", service="Facial", earliest=True), w)
    assert offered.conversation.state == State.COLLECTING
    assert "Tue, Dec 1 at 10:00 AM, 10:15 AM or 10:30 AM" in reply(offered)
    picked = m.step(offered.conversation, said("inform", "10:15", time=time(10, 15)), w)
    assert picked.conversation.state == State.CONFIRMING
    assert "Tue, Dec 1 at 10:15 AM" in reply(picked)
    past = m.step(offered.conversation, said("inform", "9", time=time(9)), w)
    assert "Wed, Dec 2 at 9:00 AM" in reply(past)  # today's 9:00 has gone


def test_two_services_back_to_back_then_two_bookings(salon: BusinessProfile) -> None:
    w = world(salon)
    proposed = m.step(m.Conversation(), said(
        "book", service="Haircut", service2="Beard Trim", date=date(2026, 12, 2),
        time=time(11)), w)
    text = reply(proposed)
    assert "Haircut on Wed, Dec 2 at 11:00 AM, then Beard Trim at 11:45 AM" in text
    booked = m.step(proposed.conversation, said("affirm", "yes"), w)
    creates = [e for e in booked.effects if isinstance(e, m.CreateBooking)]
    assert [c.service for c in creates] == ["Haircut", "Beard Trim"]
    assert creates[1].start == creates[0].end and creates[1].paid_with is None
    assert booked.conversation == m.Conversation() and "confirmed" in reply(booked)


def test_a_time_in_another_zone_is_converted_and_both_are_stated(
        salon: BusinessProfile) -> None:
    out = m.step(m.Conversation(), said("book", service="Haircut", date=date(2026, 12, 2),
                                        time=time(10), zone="America/Chicago"), world(salon))
    assert "Wed, Dec 2 at 11:00 AM (10:00 AM Central)" in reply(out)


def test_policy_questions_and_the_ones_the_profile_cannot_answer(
        salon: BusinessProfile) -> None:
    w = world(salon)
    policy = reply(m.step(m.Conversation(), said("faq_prices", topic="cancellation_policy"), w))
    assert "24 hours" in policy
    deposit = reply(m.step(m.Conversation(), said("faq_prices", topic="deposit_policy"), w))
    assert "$40.00" in deposit and "$15.00" in deposit
    unknown = reply(m.step(m.Conversation(), said("faq_prices", "do you take insurance?",
                                                  topic="unanswerable"), w))
    assert "(212) 555-0100" in unknown and "$45.00" not in unknown


def test_a_status_question_mid_booking_does_not_answer_its_own_question(
        salon: BusinessProfile) -> None:
    conv = m.Conversation(State.COLLECTING, m.Context(draft=m.Draft()))
    text = reply(m.step(conv, said("status", "do I have anything booked?"), world(salon)))
    assert "Would you like to book one?" not in text
    assert text.startswith("You have no upcoming appointments.")


def test_a_rude_message_is_answered_kindly_and_is_no_miss(salon: BusinessProfile) -> None:
    conv = m.Conversation(State.COLLECTING, m.Context(draft=m.Draft(service="Haircut"),
                                                     misses=2))
    out = m.step(conv, said("unknown", "this is stupid", topic="rude"), world(salon))
    assert "(212) 555-0100" in reply(out) and out.conversation.context.misses == 2
    assert not [e for e in out.effects if isinstance(e, m.AlertStaff)]


def test_two_services_with_deposits_pay_once_for_both(salon: BusinessProfile) -> None:
    w = world(salon)
    proposed = m.step(m.Conversation(), said(
        "book", service="Color", service2="Facial", date=date(2026, 12, 5), time=time(10)), w)
    assert "$60.00" in reply(proposed)
    held = m.step(proposed.conversation, said("affirm", "yes"), w)
    first, second = [e for e in held.effects if isinstance(e, m.CreateBooking)]
    assert (first.deposit, first.checkout, second.deposit, second.paid_with) == (
        Decimal("40.00"), Decimal("60.00"), Decimal("20.00"), first.booking_id)
    assert held.conversation.state == State.PAYMENT_PENDING

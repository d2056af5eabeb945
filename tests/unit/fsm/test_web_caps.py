"""The caps on an unverified web chat visitor, decided by the machine at acceptance: live
bookings per session, bookings per address (its hash) per day. Beyond them the visitor is
refused politely and given the business's phone; nothing is booked."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from libs.business.profile import BusinessProfile
from libs.contracts.vocabulary import BookingStatus
from services.fsm import machine as m
from services.fsm.machine import State

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=NY).astimezone(UTC)  # Tue 9:00 AM in New York
TOMORROW = date(2026, 12, 2)
SALON_PHONE = "(212) 555-0100"


def booked(day: int, status: BookingStatus = "confirmed") -> m.BookingView:
    start = datetime(2026, 12, day, 10, 0, tzinfo=NY).astimezone(UTC)
    return m.BookingView(id=uuid.uuid4(), reference=f"REF{day:03d}", service="Haircut",
                         start=start, end=start + timedelta(minutes=45), status=status,
                         deposit_status="none", deposit_amount=None, resource=1)


def world(profile: BusinessProfile, bookings: list[m.BookingView],
          caps: m.WebCaps | None) -> m.World:
    busy = [m.Held(b.id, b.resource, b.start, b.end) for b in bookings
            if b.status in ("held", "confirmed")]
    return m.World(profile=profile, now=NOW, busy=busy, bookings=bookings,
                   customer="web:abcdefghijklmnopqrstuv", web_caps=caps,
                   next_booking_id=uuid.UUID(int=7), next_reference="ABC123")


def accept(profile: BusinessProfile, bookings: list[m.BookingView], caps: m.WebCaps | None,
           service2: str | None = None) -> tuple[m.Outcome, m.Outcome]:
    """Ask for a time (the proposal), then say yes (the acceptance)."""
    asked = m.CustomerSaid(intent="book", service="Haircut", date=TOMORROW, time=time(15),
                           service2=service2)
    proposed = m.step(m.Conversation(), asked, world(profile, bookings, caps))
    assert proposed.conversation.state == State.CONFIRMING, proposed
    return proposed, m.step(proposed.conversation, m.CustomerSaid(intent="affirm", text="yes"),
                            world(profile, bookings, caps))


def creates(outcome: m.Outcome) -> list[m.CreateBooking]:
    return [e for e in outcome.effects if isinstance(e, m.CreateBooking)]


def replies(outcome: m.Outcome) -> list[str]:
    return [e.text for e in outcome.effects if isinstance(e, m.Reply)]


CAPS = m.WebCaps(max_live=2, max_per_day=4)


def test_under_both_caps_a_web_visitor_books(salon: BusinessProfile) -> None:
    _, out = accept(salon, [booked(3)], m.WebCaps(max_live=2, max_per_day=4, made_today=3))
    assert len(creates(out)) == 1


def test_a_session_holding_its_live_bookings_is_refused_with_the_phone(
        salon: BusinessProfile) -> None:
    proposed, out = accept(salon, [booked(3), booked(4, "held")], CAPS)
    assert "3:00 PM" in replies(proposed)[0]  # asked and proposed as usual: refused at "yes"
    assert creates(out) == []
    assert out.conversation == m.Conversation()  # back to IDLE, nothing remembered
    (text,) = replies(out)
    assert "2 appointments" in text and SALON_PHONE in text and "sorry" in text


def test_only_live_bookings_still_ahead_count_for_the_session(salon: BusinessProfile) -> None:
    gone = [booked(3, "cancelled"), booked(4, "expired"), booked(5, "cancelled")]
    past = replace(booked(3), start=NOW - timedelta(days=1), end=NOW - timedelta(hours=23))
    _, out = accept(salon, [*gone, past, booked(8)], CAPS)
    assert len(creates(out)) == 1


def test_an_address_that_booked_its_day_is_refused_with_the_phone(
        salon: BusinessProfile) -> None:
    _, out = accept(salon, [], m.WebCaps(max_live=2, max_per_day=4, made_today=4))
    assert creates(out) == []
    (text,) = replies(out)
    assert "this connection today" in text and SALON_PHONE in text


def test_two_services_count_as_two_bookings(salon: BusinessProfile) -> None:
    pair = "Beard Trim"
    _, out = accept(salon, [booked(3)], CAPS, pair)  # 1 live + 2 > 2
    assert creates(out) == [] and "2 appointments" in replies(out)[0]
    _, out = accept(salon, [], m.WebCaps(max_live=2, max_per_day=4, made_today=3), pair)
    assert creates(out) == [] and "this connection today" in replies(out)[0]
    _, out = accept(salon, [], m.WebCaps(max_live=2, max_per_day=4, made_today=2), pair)
    assert len(creates(out)) == 2


def test_customers_on_other_channels_are_not_capped(salon: BusinessProfile) -> None:
    many = [booked(day) for day in (3, 4, 5, 8, 9)]
    _, out = accept(salon, many, None)
    assert len(creates(out)) == 1

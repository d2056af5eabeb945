"""Blocked times (the business's own calendar's busy times, from calendar's busy import) as
availability reads them: every resource taken, so a staff member's personal appointment in
Google blocks that time; refusals and the alternatives offered avoid it. Pure."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from libs.business.profile import BusinessProfile
from services.fsm import availability as av, machine as m
from services.fsm.machine import State

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=NY).astimezone(UTC)  # Tue 9:00 AM in New York
TOMORROW = date(2026, 12, 2)
# A staff member's dentist appointment, Wed 3:00-3:45 PM (the salon has two chairs).
DENTIST = (datetime(2026, 12, 2, 15, 0, tzinfo=NY), datetime(2026, 12, 2, 15, 45, tzinfo=NY))


def test_a_blocked_range_takes_every_resource(salon: BusinessProfile) -> None:
    assert salon.booking.capacity == 2
    assert av.blocked([DENTIST], 2) == [(1, *DENTIST), (2, *DENTIST)]
    assert av.blocked([], 2) == []


def test_availability_refuses_a_blocked_time_and_offers_around_it(
        salon: BusinessProfile) -> None:
    haircut = salon.service_by_name("Haircut")
    assert haircut is not None and haircut.duration_minutes == 45
    busy = av.blocked([DENTIST], salon.booking.capacity)
    asked = datetime.combine(TOMORROW, time(15))
    verdict = av.check(salon, haircut, asked, NOW, busy)
    assert isinstance(verdict, av.Refusal) and verdict.reason == "fully_booked"
    # overlapping the end or the start is refused too; touching it is fine ([start, end))
    assert not av.check(salon, haircut, datetime.combine(TOMORROW, time(15, 30)), NOW, busy).ok
    assert not av.check(salon, haircut, datetime.combine(TOMORROW, time(14, 30)), NOW, busy).ok
    assert av.check(salon, haircut, datetime.combine(TOMORROW, time(15, 45)), NOW, busy).ok
    assert av.check(salon, haircut, datetime.combine(TOMORROW, time(14, 15)), NOW, busy).ok
    nearest = av.nearest_free_starts(salon, haircut, asked, NOW, busy)
    assert [t.time() for t in nearest] == [time(14, 15), time(15, 45), time(16, 0)]
    day = av.free_starts_on_day(salon, haircut, TOMORROW, NOW, busy)
    assert all(not (s < DENTIST[1] and s + timedelta(minutes=45) > DENTIST[0]) for s in day)
    # without the blocked time, 3:00 PM is free
    assert av.check(salon, haircut, asked, NOW, []).ok


def world(profile: BusinessProfile,
          blocked: tuple[tuple[datetime, datetime], ...] = ()) -> m.World:
    return m.World(profile=profile, now=NOW, busy=[], customer="+15555550101",
                   next_booking_id=uuid.UUID(int=7), next_reference="ABC123",
                   blocked=blocked)


def test_the_machine_refuses_a_blocked_time_with_alternatives(salon: BusinessProfile) -> None:
    out = m.step(m.Conversation(), m.CustomerSaid(intent="book", service="Haircut",
                                                  date=TOMORROW, time=time(15)),
                 world(salon, (DENTIST,)))
    assert out.conversation.state != State.CONFIRMING
    (text,) = [e.text for e in out.effects if isinstance(e, m.Reply)]
    assert "2:15 PM" in text and "3:45 PM" in text and "4:00 PM" in text
    assert not [e for e in out.effects if isinstance(e, m.CreateBooking)]


def test_a_time_blocked_after_it_was_proposed_is_just_taken(salon: BusinessProfile) -> None:
    proposed = m.step(m.Conversation(), m.CustomerSaid(intent="book", service="Haircut",
                                                       date=TOMORROW, time=time(15)),
                      world(salon)).conversation
    assert proposed.state == State.CONFIRMING
    out = m.step(proposed, m.CustomerSaid(intent="affirm"), world(salon, (DENTIST,)))
    assert out.conversation.state == State.COLLECTING
    assert not [e for e in out.effects if isinstance(e, m.CreateBooking)]


def test_busy_without_keeps_the_blocked_times_when_a_booking_is_left_out(
        salon: BusinessProfile) -> None:
    mine = m.Held(booking_id=uuid.uuid4(), resource=1, start=DENTIST[0] + timedelta(hours=2),
                  end=DENTIST[1] + timedelta(hours=2))
    w = m.World(profile=salon, now=NOW, busy=[mine], blocked=(DENTIST,))
    assert w.busy_without(mine.booking_id) == [(1, *DENTIST), (2, *DENTIST)]
    assert len(w.busy_without()) == 3

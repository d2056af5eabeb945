"""Reminders, attendance, no-show risk and completion in the machine (docs/conversations.md,
"Reminders"): the reply to a reminder is about that booking; risk follows the record and
the answers; a confirmed booking is completed after its end unless marked a no-show."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from libs.business.profile import BusinessProfile
from services.fsm import machine as m
from services.fsm.machine import State
from services.fsm.machine.attendance import initial_risk
from tests.unit.fsm.test_machine import NOW, booking, replies, said, world

THURSDAY_10 = datetime(2026, 12, 3, 10, 0)


def reminded(profile: BusinessProfile, b: m.BookingView,
             conv: m.Conversation | None = None) -> m.Outcome:
    return m.step(conv or m.Conversation(), m.ReminderArrived(b.id, b.start),
                  world(profile, bookings=[b]))


def test_a_reminder_names_the_booking_and_asks_for_c_r_or_x(salon: BusinessProfile) -> None:
    b = booking(THURSDAY_10)
    out = reminded(salon, b)
    (reply,) = [e for e in out.effects if isinstance(e, m.Reply)]
    assert reply.purpose == "reminder" and reply.booking_id == b.id
    for part in ("Haircut", "Thu, Dec 3", "10:00 AM", " C ", " R ", " X "):
        assert part in reply.text, part
    assert out.conversation.state == State.IDLE
    assert out.conversation.context.reminded == b.id


@pytest.mark.parametrize("change", ["cancelled", "moved", "past"])
def test_no_reminder_for_a_cancelled_moved_or_past_booking(salon: BusinessProfile,
                                                           change: str) -> None:
    b = booking(THURSDAY_10)
    if change == "cancelled":
        b = dataclasses.replace(b, status="cancelled")
    event = m.ReminderArrived(b.id, b.start - timedelta(hours=2) if change == "moved" else b.start)
    now = b.start + timedelta(minutes=1) if change == "past" else NOW
    out = m.step(m.Conversation(), event, world(salon, bookings=[b], now=now))
    assert out.effects == () and out.conversation.context.reminded is None


def test_c_after_a_reminder_confirms_attendance_once(salon: BusinessProfile) -> None:
    b = booking(THURSDAY_10)
    after = reminded(salon, b).conversation
    out = m.step(after, said("affirm", "C"), world(salon, bookings=[b]))
    assert m.ConfirmAttendance(b.id) in out.effects
    assert out.conversation.state == State.IDLE
    assert "confirmed" in replies(out)[0] and "10:00 AM" in replies(out)[0]
    again = m.step(out.conversation, said("affirm", "yes"),
                   world(salon, bookings=[dataclasses.replace(b, attendance_confirmed=True)]))
    assert not [e for e in again.effects if isinstance(e, m.ConfirmAttendance)]


def test_yes_without_a_reminder_is_a_stray_yes(salon: BusinessProfile) -> None:
    b = booking(THURSDAY_10)
    out = m.step(m.Conversation(), said("affirm", "C"), world(salon, bookings=[b]))
    assert not [e for e in out.effects if isinstance(e, m.ConfirmAttendance)]


def test_x_after_a_reminder_asks_to_cancel_that_booking(salon: BusinessProfile) -> None:
    first, second = booking(THURSDAY_10), booking(THURSDAY_10 + timedelta(days=1))
    conv = m.step(m.Conversation(), m.ReminderArrived(second.id, second.start),
                  world(salon, bookings=[first, second])).conversation
    out = m.step(conv, said("cancel", "X"), world(salon, bookings=[first, second]))
    assert out.conversation.state == State.CANCEL_CONFIRM
    assert out.conversation.context.booking_id == second.id  # no "which one?"
    assert "Fri, Dec 4" in replies(out)[0]


def test_r_after_a_reminder_moves_that_booking(salon: BusinessProfile) -> None:
    first, second = booking(THURSDAY_10), booking(THURSDAY_10 + timedelta(days=1))
    conv = m.step(m.Conversation(), m.ReminderArrived(first.id, first.start),
                  world(salon, bookings=[first, second])).conversation
    out = m.step(conv, said("reschedule", "R"), world(salon, bookings=[first, second]))
    assert out.conversation.state == State.RESCHEDULE_COLLECTING
    assert out.conversation.context.booking_id == first.id
    assert "Thu, Dec 3" in replies(out)[0]


def test_risk_starts_from_the_record() -> None:
    assert initial_risk(no_shows=0) == "medium"
    assert initial_risk(no_shows=1) == "high"


def test_unconfirmed_an_hour_before_is_high_risk_confirmed_is_not(
        salon: BusinessProfile) -> None:
    b = dataclasses.replace(booking(THURSDAY_10), no_show_risk="medium")
    check = m.RiskCheck(b.id, b.start)
    out = m.step(m.Conversation(), check, world(salon, bookings=[b]))
    assert out.effects == (m.SetRisk(b.id, "high"),)
    attending = dataclasses.replace(b, attendance_confirmed=True, no_show_risk="low")
    assert m.step(m.Conversation(), check, world(salon, bookings=[attending])).effects == ()
    moved = m.RiskCheck(b.id, b.start - timedelta(days=1))  # the check of its old time
    assert m.step(m.Conversation(), moved, world(salon, bookings=[b])).effects == ()


def test_after_the_appointment_it_is_completed_and_the_reminder_forgotten(
        salon: BusinessProfile) -> None:
    b = booking(THURSDAY_10)
    conv = reminded(salon, b).conversation
    over = m.AppointmentOver(b.id, b.end)
    later = world(salon, bookings=[b], now=b.end + timedelta(minutes=30))
    out = m.step(conv, over, later)
    assert out.effects == (m.CompleteBooking(b.id),)
    assert out.conversation.context.reminded is None
    no_show = dataclasses.replace(b, status="no_show")
    out = m.step(conv, over, world(salon, bookings=[no_show], now=later.now))
    assert out.effects == ()


def test_the_help_keyword_gets_contact_and_opt_out_words_not_a_miss(
        salon: BusinessProfile) -> None:
    out = m.step(m.Conversation(), said("unknown", "HELP", topic="help"), world(salon))
    (text,) = replies(out)
    assert "Bella Hair Studio" in text and "(212) 555-0100" in text and "STOP" in text
    assert out.conversation.context.misses == 0

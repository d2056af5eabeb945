"""What staff do through the admin API, in the machine (docs/admin.md): a cancel or move on
the customer's behalf is told to them; a conversation about that booking ends; a move fsm
can no longer make alerts staff instead; a reminder is sent again; while a person has the
conversation the customer's messages are not answered, and only staff's requests speak."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from libs.business.profile import BusinessProfile
from services.fsm import machine as m
from services.fsm.machine import State
from services.fsm.machine.staff import move_verdict
from tests.unit.fsm.test_machine import NOW, NY, booking, held, replies, said, world

THURSDAY_10 = datetime(2026, 12, 3, 10, 0)  # two days ahead: free cancellation
TUESDAY_5PM = datetime(2026, 12, 1, 17, 0)  # eight hours ahead: a late cancel


def alerts(outcome: m.Outcome) -> list[str]:
    return [e.text for e in outcome.effects if isinstance(e, m.AlertStaff)]


def test_a_staff_cancel_tells_the_customer_and_says_who_cancelled(
        salon: BusinessProfile) -> None:
    b = booking(THURSDAY_10)
    out = m.step(m.Conversation(), m.StaffCancel(b.id, note="Sorry, the stylist is ill."),
                 world(salon, bookings=[b]))
    assert m.CancelBooking(b.id, refund=False, by="staff") in out.effects
    (text,) = replies(out)
    assert text == ("Bella Hair Studio has cancelled your Haircut on Thu, Dec 3 at 10:00 AM. "
                    "Sorry, the stylist is ill.")
    assert out.conversation.state == State.IDLE


@pytest.mark.parametrize(("start", "flag", "refund"), [
    (THURSDAY_10, None, True), (TUESDAY_5PM, None, False),  # the policy decides
    (TUESDAY_5PM, True, True), (THURSDAY_10, False, False)])  # staff decide
def test_a_paid_deposit_is_refunded_as_staff_or_the_policy_say(
        salon: BusinessProfile, start: datetime, flag: bool | None, refund: bool) -> None:
    b = booking(start, deposit_status="paid", amount="40.00", service="Color", minutes=120)
    out = m.step(m.Conversation(), m.StaffCancel(b.id, refund=flag), world(salon, bookings=[b]))
    assert m.CancelBooking(b.id, refund=refund, by="staff") in out.effects
    assert ("$40.00 deposit will be refunded" in replies(out)[0]) == refund


def test_a_booking_no_longer_live_is_not_cancelled_again(salon: BusinessProfile) -> None:
    b = booking(THURSDAY_10, status="cancelled")
    out = m.step(m.Conversation(), m.StaffCancel(b.id), world(salon, bookings=[b]))
    assert out.effects == ()


def test_a_conversation_about_that_booking_ends_and_any_other_goes_on(
        salon: BusinessProfile) -> None:
    b = booking(THURSDAY_10)
    confirming = m.Conversation(State.CANCEL_CONFIRM, m.Context(booking_id=b.id))
    assert m.step(confirming, m.StaffCancel(b.id),
                  world(salon, bookings=[b])).conversation == m.Conversation()
    choosing = m.Conversation(State.CANCEL_CONFIRM, m.Context(candidates=(b.id,)))
    assert m.step(choosing, m.StaffCancel(b.id),
                  world(salon, bookings=[b])).conversation == m.Conversation()
    other = m.Conversation(State.COLLECTING, m.Context(draft=m.Draft(service="Facial"),
                                                       reminded=b.id))
    out = m.step(other, m.StaffCancel(b.id), world(salon, bookings=[b]))
    assert out.conversation.state == State.COLLECTING
    assert out.conversation.context.draft.service == "Facial"
    assert out.conversation.context.reminded is None  # its C/R/X no longer applies


def test_a_staff_move_is_checked_again_and_told_with_the_reference(
        salon: BusinessProfile) -> None:
    b = booking(THURSDAY_10)
    to = datetime(2026, 12, 3, 14, 0, tzinfo=NY).astimezone(UTC)
    out = m.step(m.Conversation(), m.StaffMove(b.id, to), world(salon, bookings=[b]))
    assert m.RescheduleBooking(b.id, to, to + timedelta(minutes=45), 1) in out.effects
    (text,) = replies(out)
    assert "moved your Haircut to Thu, Dec 3 at 2:00 PM" in text
    assert "confirmed" in text and "REF001" in text


@pytest.mark.parametrize(("to", "why"), [
    (datetime(2026, 12, 6, 10, 0), "closed day"),               # Sunday
    (datetime(2026, 12, 5, 10, 0), "needs a larger deposit"),   # Saturday: a weekend deposit
    (datetime(2026, 12, 3, 11, 0), "taken now")])               # both chairs busy
def test_a_move_fsm_cannot_make_alerts_staff_and_changes_nothing(
        salon: BusinessProfile, to: datetime, why: str) -> None:
    b = booking(THURSDAY_10)
    others = [booking(datetime(2026, 12, 3, 11, 0), resource=r) for r in (1, 2)]
    out = m.step(m.Conversation(), m.StaffMove(b.id, to.replace(tzinfo=NY).astimezone(UTC)),
                 world(salon, bookings=[b], busy=[held(o) for o in others]))
    assert replies(out) == []
    (alert,) = alerts(out)
    assert alert.startswith("Could not move booking REF001") and why in alert
    assert not [e for e in out.effects if isinstance(e, m.RescheduleBooking)]


def test_move_verdict_leaves_the_booking_itself_out_and_asks_no_top_up(
        salon: BusinessProfile) -> None:
    haircut = salon.service_by_name("Haircut")
    assert haircut is not None
    b = booking(THURSDAY_10)
    ok = move_verdict(salon, haircut, datetime(2026, 12, 3, 10, 15), NOW, [], Decimal(0))
    assert not isinstance(ok, str) and ok.resource == 1
    assert move_verdict(salon, haircut, datetime(2026, 12, 5, 10, 0), NOW, [],
                        Decimal(0)) == "needs_deposit"
    assert move_verdict(salon, haircut, datetime(2026, 12, 5, 10, 0), NOW, [],
                        Decimal("15.00")) != "needs_deposit"  # already paid enough
    assert move_verdict(salon, haircut, datetime(2026, 12, 3, 10, 7), NOW,
                        [held_busy(b)], Decimal(0)) == "off_grid"


def held_busy(b: m.BookingView) -> tuple[int, datetime, datetime]:
    return (b.resource, b.start, b.end)


def test_remind_again_sends_the_reminder_of_a_confirmed_booking_ahead(
        salon: BusinessProfile) -> None:
    b = booking(THURSDAY_10)
    out = m.step(m.Conversation(), m.StaffRemind(b.id), world(salon, bookings=[b]))
    (reply,) = [e for e in out.effects if isinstance(e, m.Reply)]
    assert reply.purpose == "reminder" and "Reply C to confirm" in reply.text
    assert out.conversation.context.reminded == b.id
    gone = dataclasses.replace(b, status="cancelled")
    assert m.step(m.Conversation(), m.StaffRemind(b.id),
                  world(salon, bookings=[gone])).effects == ()


def test_while_a_person_has_the_conversation_the_bot_only_listens(
        salon: BusinessProfile) -> None:
    b = booking(THURSDAY_10)
    taken = dataclasses.replace(world(salon, bookings=[b]), taken_over=True)
    start = m.Conversation(State.CONFIRMING, m.Context(draft=m.Draft(service="Haircut")))
    for message in (said("book", "haircut friday at 3", service="Haircut"),
                    said("affirm", "yes"), said("cancel", "X"), said("human", "a person")):
        assert m.step(start, message, taken) == m.Outcome(start)
    # What the business starts goes silent; bookings still change.
    reminder = m.step(m.Conversation(), m.ReminderArrived(b.id, b.start), taken)
    assert replies(reminder) == []
    over = m.step(m.Conversation(), m.AppointmentOver(b.id, b.end),
                  dataclasses.replace(taken, now=b.end + timedelta(minutes=30)))
    assert m.CompleteBooking(b.id) in over.effects
    opening = m.WaitlistOpening(b.id, "Haircut", b.start, b.id, NOW + timedelta(minutes=15))
    assert m.step(m.Conversation(), opening, taken).effects == ()  # passes them by
    # STOP is always honoured, and confirmed.
    stop = m.step(start, said("opt_out", "STOP"), taken)
    assert m.SetOptedOut(True) in stop.effects and replies(stop)
    # What staff ask for is said.
    assert replies(m.step(m.Conversation(), m.StaffCancel(b.id), taken))
    assert replies(m.step(m.Conversation(), m.StaffRemind(b.id), taken))
    # Released: back to normal.
    back = m.step(m.Conversation(), said("status", "when is my appointment"),
                  world(salon, bookings=[b]))
    assert replies(back)


def test_staff_inputs_end_only_in_their_declared_targets(salon: BusinessProfile) -> None:
    b = booking(THURSDAY_10)
    paid = booking(datetime(2026, 12, 4, 10, 0), deposit_status="paid", amount="20.00")
    to = datetime(2026, 12, 3, 15, 0, tzinfo=NY).astimezone(UTC)
    contexts = [m.Context(), m.Context(booking_id=b.id), m.Context(candidates=(b.id, paid.id)),
                m.Context(reminded=b.id), m.Context(booking_id=paid.id)]
    inputs: list[m.Input] = [m.StaffCancel(b.id), m.StaffMove(b.id, to), m.StaffRemind(b.id),
                             m.StaffCancel(paid.id, refund=True), m.StaffMove(paid.id, to)]
    for state, ctx, event, taken in itertools.product(State, contexts, inputs, (False, True)):
        w = dataclasses.replace(world(salon, bookings=[b, paid]), taken_over=taken)
        out = m.step(m.Conversation(state, ctx), event, w)
        allowed = {state, *m.TRANSITIONS[(state, event.kind)].targets}
        assert out.conversation.state in allowed, (state, event, ctx)

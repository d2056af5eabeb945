"""The state machine, turn by turn: every (state, input) has an outcome, and the spec's
conversation rules hold (corrections, refusals, digressions, loops, payments, cancelling)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from libs.business.profile import BusinessProfile
from libs.contracts.vocabulary import INTENTS, BookingStatus, DepositStatus, Intent
from services.fsm import machine as m
from services.fsm.machine import State
from services.fsm.machine.model import SYSTEM_INPUTS
from tests.helpers import REPO

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=NY).astimezone(UTC)  # Tue 9:00 AM in New York
TOMORROW = date(2026, 12, 2)


def world(profile: BusinessProfile, *, now: datetime = NOW, busy: list[m.Held] | None = None,
          bookings: list[m.BookingView] | None = None, opted_out: bool = False) -> m.World:
    return m.World(profile=profile, now=now, busy=busy or [], bookings=bookings or [],
                   customer="+15555550101", opted_out=opted_out,
                   next_booking_id=uuid.UUID(int=7), next_reference="ABC123")


def said(intent: Intent, text: str = "", **slots: Any) -> m.CustomerSaid:
    return m.CustomerSaid(intent=intent, text=text, **slots)


def replies(outcome: m.Outcome) -> list[str]:
    return [e.text for e in outcome.effects if isinstance(e, m.Reply)]


def booking(start_local: datetime, *, status: BookingStatus = "confirmed",
            deposit_status: DepositStatus = "none",
            amount: str | None = None, service: str = "Haircut", minutes: int = 45,
            resource: int = 1) -> m.BookingView:
    start = start_local.replace(tzinfo=NY).astimezone(UTC)
    return m.BookingView(id=uuid.uuid4(), reference="REF001", service=service, start=start,
                         end=start + timedelta(minutes=minutes), status=status,
                         deposit_status=deposit_status,
                         deposit_amount=Decimal(amount) if amount else None, resource=resource)


def held(b: m.BookingView) -> m.Held:
    return m.Held(booking_id=b.id, resource=b.resource, start=b.start, end=b.end)


def test_every_state_and_input_has_a_defined_outcome() -> None:
    for state in State:
        for kind in (*INTENTS, *SYSTEM_INPUTS):
            assert (state, kind) in m.TRANSITIONS, (state, kind)


def test_booking_in_one_message_is_proposed_then_confirmed(salon: BusinessProfile) -> None:
    out = m.step(m.Conversation(), said("book", service="Haircut", date=TOMORROW,
                                        time=time(15)), world(salon))
    assert out.conversation.state == State.CONFIRMING
    (text,) = replies(out)
    assert "Haircut" in text and "Wed, Dec 2" in text and "3:00 PM" in text
    out = m.step(out.conversation, said("affirm", "yes"), world(salon))
    assert out.conversation.state == State.IDLE
    (create,) = [e for e in out.effects if isinstance(e, m.CreateBooking)]
    assert create.deposit == Decimal("0.00") and create.resource == 1
    assert create.start == datetime(2026, 12, 2, 20, 0, tzinfo=UTC)
    assert "confirmed" in replies(out)[0]


def test_missing_pieces_are_asked_for_in_order(salon: BusinessProfile) -> None:
    out = m.step(m.Conversation(), said("book", "I'd like to book"), world(salon))
    assert out.conversation.state == State.COLLECTING
    assert all(s.name in replies(out)[0] for s in salon.services)
    out = m.step(out.conversation, said("inform", service="Facial"), world(salon))
    assert "day" in replies(out)[0]
    out = m.step(out.conversation, said("inform", date=date(2026, 12, 4)), world(salon))
    assert out.conversation.state == State.COLLECTING and "Fri, Dec 4" in replies(out)[0]
    out = m.step(out.conversation, said("inform", time=time(11)), world(salon))
    assert out.conversation.state == State.CONFIRMING
    assert "$20.00" in replies(out)[0]


def test_deposit_booking_is_held_and_waits_for_the_link(salon: BusinessProfile) -> None:
    conv = m.step(m.Conversation(), said("book", service="Facial", date=date(2026, 12, 4),
                                         time=time(11)), world(salon)).conversation
    out = m.step(conv, said("affirm"), world(salon))
    assert out.conversation.state == State.PAYMENT_PENDING
    assert out.conversation.context.booking_id == uuid.UUID(int=7)
    assert replies(out) == []  # the one reply is the checkout link, when payments made it
    (create,) = out.effects
    assert isinstance(create, m.CreateBooking) and create.deposit == Decimal("20.00")


def test_correction_while_confirming_restates(salon: BusinessProfile) -> None:
    conv = m.step(m.Conversation(), said("book", service="Haircut", date=TOMORROW,
                                         time=time(15)), world(salon)).conversation
    out = m.step(conv, said("inform", "actually make it 4pm", time=time(16)), world(salon))
    assert out.conversation.state == State.CONFIRMING
    (text,) = replies(out)
    assert "4:00 PM" in text and "Wed, Dec 2" in text


def test_refusal_keeps_service_and_date_drops_time(salon: BusinessProfile) -> None:
    out = m.step(m.Conversation(), said("book", service="Haircut", date=date(2026, 12, 4),
                                        time=time(19)), world(salon))
    assert out.conversation.state == State.COLLECTING
    draft = out.conversation.context.draft
    assert (draft.service, draft.date, draft.time) == ("Haircut", date(2026, 12, 4), None)
    assert "opening hours" in replies(out)[0]


def test_closed_day_refusal_drops_the_date(salon: BusinessProfile) -> None:
    out = m.step(m.Conversation(), said("book", service="Haircut", date=date(2026, 12, 6),
                                        time=time(11)), world(salon))
    assert out.conversation.state == State.COLLECTING
    assert out.conversation.context.draft.date is None
    assert "closed" in replies(out)[0]


def test_fully_booked_offers_nearest_times_both_ways(salon: BusinessProfile) -> None:
    taken = [booking(datetime(2026, 12, 2, 15, 0), resource=r) for r in (1, 2)]
    out = m.step(m.Conversation(), said("book", service="Haircut", date=TOMORROW,
                                        time=time(15)), world(salon, busy=[held(b) for b in taken]))
    (text,) = replies(out)
    assert "2:15 PM" in text and "3:45 PM" in text and "4:00 PM" in text


def test_lost_race_at_accept_says_just_taken(salon: BusinessProfile) -> None:
    conv = m.step(m.Conversation(), said("book", service="Haircut", date=TOMORROW,
                                         time=time(15)), world(salon)).conversation
    taken = [booking(datetime(2026, 12, 2, 15, 0), resource=r) for r in (1, 2)]
    out = m.step(conv, said("affirm"), world(salon, busy=[held(b) for b in taken]))
    assert out.conversation.state == State.COLLECTING
    assert "just taken" in replies(out)[0]
    assert not [e for e in out.effects if isinstance(e, m.CreateBooking)]


def test_vague_time_gets_free_times_in_the_window(salon: BusinessProfile) -> None:
    out = m.step(m.Conversation(), said("book", service="Haircut", date=TOMORROW,
                                        part_of_day="afternoon"), world(salon))
    assert out.conversation.state == State.COLLECTING
    assert "12:00 PM" in replies(out)[0]


def test_faq_digression_keeps_the_booking_going(salon: BusinessProfile) -> None:
    conv = m.step(m.Conversation(), said("book", service="Haircut", date=TOMORROW,
                                         time=time(15)), world(salon)).conversation
    out = m.step(conv, said("faq_location", "where are you?"), world(salon))
    assert out.conversation.state == State.CONFIRMING
    assert "Mulberry" in replies(out)[0] and "yes" in replies(out)[0]


def test_three_unusable_messages_hand_over_to_a_person(salon: BusinessProfile) -> None:
    conv = m.Conversation(State.COLLECTING, m.Context(draft=m.Draft(service="Haircut")))
    for _ in range(2):
        out = m.step(conv, said("unknown", "asdf"), world(salon))
        conv = out.conversation
        assert not [e for e in out.effects if isinstance(e, m.AlertStaff)]
    out = m.step(conv, said("unknown", "asdf"), world(salon))
    assert out.conversation.state == State.IDLE
    assert len([e for e in out.effects if isinstance(e, m.AlertStaff)]) == 1
    assert "(212) 555-0100" in replies(out)[0]


def test_human_and_greeting_and_stray_yes(salon: BusinessProfile) -> None:
    out = m.step(m.Conversation(), said("human"), world(salon))
    assert len([e for e in out.effects if isinstance(e, m.AlertStaff)]) == 1
    assert "555-0100" in replies(out)[0]
    assert "Bella Hair Studio" in replies(m.step(m.Conversation(), said("greeting"),
                                                 world(salon)))[0]
    out = m.step(m.Conversation(), said("affirm", "yes"), world(salon))
    assert out.conversation.state == State.IDLE and len(replies(out)) == 1


def test_session_timeout_drops_silently_but_not_a_payment(salon: BusinessProfile) -> None:
    conv = m.Conversation(State.COLLECTING, m.Context(draft=m.Draft(service="Haircut")))
    out = m.step(conv, m.SessionTimedOut(), world(salon))
    assert out.conversation == m.Conversation() and out.effects == ()
    pending = m.Conversation(State.PAYMENT_PENDING, m.Context(booking_id=uuid.UUID(int=9)))
    assert m.step(pending, m.SessionTimedOut(), world(salon)).conversation == pending


def test_opted_out_customer_hears_nothing_until_start(salon: BusinessProfile) -> None:
    out = m.step(m.Conversation(), said("opt_out", "STOP"), world(salon))
    assert m.SetOptedOut(True) in out.effects and len(replies(out)) == 1
    quiet = m.step(m.Conversation(), said("book", service="Haircut"), world(salon, opted_out=True))
    assert quiet.effects == ()
    back = m.step(m.Conversation(), said("opt_in", "START"), world(salon, opted_out=True))
    assert m.SetOptedOut(False) in back.effects and len(replies(back)) == 1


def test_cancel_refunds_when_early_and_forfeits_when_late(salon: BusinessProfile) -> None:
    early = booking(datetime(2026, 12, 3, 10, 0), service="Facial", deposit_status="paid",
                    amount="20.00")
    out = m.step(m.Conversation(), said("cancel", "cancel my appointment"),
                 world(salon, bookings=[early]))
    assert out.conversation.state == State.CANCEL_CONFIRM
    assert "Facial" in replies(out)[0] and "Thu, Dec 3" in replies(out)[0]
    out = m.step(out.conversation, said("affirm", "yes"), world(salon, bookings=[early]))
    assert m.CancelBooking(early.id, refund=True) in out.effects
    late_now = datetime(2026, 12, 2, 12, 0, tzinfo=NY).astimezone(UTC)
    conv = m.Conversation(State.CANCEL_CONFIRM, m.Context(booking_id=early.id))
    out = m.step(conv, said("affirm"), world(salon, now=late_now, bookings=[early]))
    assert m.CancelBooking(early.id, refund=False) in out.effects


def test_several_bookings_ask_which_one_then_pick_by_date(salon: BusinessProfile) -> None:
    a = booking(datetime(2026, 12, 3, 10, 0))
    b = booking(datetime(2026, 12, 5, 11, 0))
    out = m.step(m.Conversation(), said("cancel"), world(salon, bookings=[a, b]))
    assert out.conversation.state == State.CANCEL_CONFIRM and "Which one" in replies(out)[0]
    out = m.step(out.conversation, said("inform", "the saturday one", date=date(2026, 12, 5)),
                 world(salon, bookings=[a, b]))
    assert out.conversation.context.booking_id == b.id
    assert "Sat, Dec 5" in replies(out)[0]


def test_reschedule_keeps_the_booking_and_skips_its_own_slot(salon: BusinessProfile) -> None:
    mine = booking(datetime(2026, 12, 2, 15, 0))
    other = booking(datetime(2026, 12, 4, 11, 0), resource=2)
    w = world(salon, bookings=[mine], busy=[held(mine), held(other)])
    out = m.step(m.Conversation(), said("reschedule", date=date(2026, 12, 4)), w)
    assert out.conversation.state == State.RESCHEDULE_COLLECTING
    out = m.step(out.conversation, said("inform", time=time(11)), w)
    assert out.conversation.state == State.RESCHEDULE_CONFIRM
    assert "Fri, Dec 4" in replies(out)[0] and "11:00 AM" in replies(out)[0]
    out = m.step(out.conversation, said("affirm"), w)
    (move,) = [e for e in out.effects if isinstance(e, m.RescheduleBooking)]
    assert move.booking_id == mine.id and move.resource == 1


def test_payment_confirms_a_held_booking_and_expiry_releases_it(
        salon: BusinessProfile) -> None:
    hold = booking(datetime(2026, 12, 4, 11, 0), status="held", deposit_status="pending",
                   amount="20.00", service="Facial")
    pending = m.Conversation(State.PAYMENT_PENDING, m.Context(booking_id=hold.id))
    w = world(salon, bookings=[hold], busy=[held(hold)])
    link = m.step(pending, m.CheckoutReady(hold.id, "https://pay.test/x", Decimal("20")), w)
    assert "https://pay.test/x" in replies(link)[0] and "$20.00" in replies(link)[0]
    paid = m.step(pending, m.DepositPaid(hold.id, Decimal("20.00")), w)
    assert paid.conversation.state == State.IDLE
    assert m.ConfirmBooking(hold.id, 1) in paid.effects
    assert "confirmed" in replies(paid)[0]
    lapsed = m.step(pending, m.HoldLapsed(hold.id), w)
    assert m.ExpireBooking(hold.id) in lapsed.effects and len(replies(lapsed)) == 1


def test_late_payment_confirms_if_free_else_refunds_and_alerts(salon: BusinessProfile) -> None:
    gone = booking(datetime(2026, 12, 5, 10, 0), status="expired", deposit_status="expired",
                   amount="40.00", service="Color", minutes=120)
    free = m.step(m.Conversation(), m.DepositPaid(gone.id, Decimal("40.00")),
                  world(salon, bookings=[gone]))
    assert m.ConfirmBooking(gone.id, 1) in free.effects
    rivals = [m.Held(uuid.uuid4(), r, gone.start, gone.end) for r in (1, 2)]
    taken = m.step(m.Conversation(), m.DepositPaid(gone.id, Decimal("40.00")),
                   world(salon, bookings=[gone], busy=rivals))
    assert m.RefundLatePayment(gone.id, Decimal("40.00")) in taken.effects
    assert len([e for e in taken.effects if isinstance(e, m.AlertStaff)]) == 1


def test_context_survives_json(salon: BusinessProfile) -> None:
    ctx = m.Context(draft=m.Draft("Haircut", TOMORROW, time(15), None),
                    proposal=datetime(2026, 12, 2, 15, 0, tzinfo=NY), booking_id=uuid.UUID(int=11),
                    candidates=(uuid.UUID(int=1), uuid.UUID(int=2)), misses=2)
    assert m.Context.from_json(ctx.to_json()) == ctx


def test_diagram_names_every_state() -> None:
    text = m.diagram()
    assert text.startswith("stateDiagram-v2")
    for state in State:
        assert state.value in text


def test_a_move_that_needs_more_deposit_holds_the_new_time_and_keeps_the_booking(
        salon: BusinessProfile) -> None:
    mine = booking(datetime(2026, 12, 2, 15, 0), service="Beard Trim", minutes=20)
    w = world(salon, bookings=[mine], busy=[held(mine)])
    out = m.step(m.Conversation(), said("reschedule", date=date(2026, 12, 4), time=time(17)), w)
    assert out.conversation.state == State.RESCHEDULE_CONFIRM and "$15.00" in replies(out)[0]
    out = m.step(out.conversation, said("affirm"), w)
    (hold,) = out.effects
    assert isinstance(hold, m.HoldMove) and hold.top_up == Decimal("15.00")
    assert hold.booking_id == mine.id and hold.hold_id == uuid.UUID(int=7)
    assert out.conversation.state == State.PAYMENT_PENDING  # the link is the one reply


def moving(mine: m.BookingView, status: BookingStatus = "held") -> m.BookingView:
    """`mine`, with a new time held for it until a $15.00 top-up is paid."""
    start = datetime(2026, 12, 4, 17, 0, tzinfo=NY).astimezone(UTC)
    return dataclasses.replace(mine, move=m.MoveView(
        hold_id=uuid.UUID(int=8), start=start, end=start + timedelta(minutes=20), resource=1,
        top_up=Decimal("15.00"), status=status))


def test_a_move_waiting_for_its_top_up(salon: BusinessProfile) -> None:
    mine = moving(booking(datetime(2026, 12, 2, 15, 0), service="Beard Trim", minutes=20))
    pending = m.Conversation(State.PAYMENT_PENDING, m.Context(booking_id=mine.id))
    w = world(salon, bookings=[mine])
    link = m.step(pending, m.CheckoutReady(mine.id, "https://pay.test/x", Decimal("15")), w)
    assert "https://pay.test/x" in replies(link)[0] and "Wed, Dec 2" in replies(link)[0]
    paid = m.step(pending, m.DepositPaid(mine.id, Decimal("15.00")), w)
    (move, _) = paid.effects
    assert move == m.RescheduleBooking(mine.id, mine.move.start, mine.move.end, 1,  # type: ignore[union-attr]
                                       Decimal("15.00"))
    assert paid.conversation == m.Conversation() and "confirmed" in replies(paid)[0]
    lapsed = m.step(pending, m.HoldLapsed(mine.id), w)
    assert m.ReleaseMove(mine.id) in lapsed.effects
    (text,) = replies(lapsed)
    assert "Wed, Dec 2" in text and "3:00 PM" in text and lapsed.conversation == m.Conversation()
    assert not [e for e in lapsed.effects if isinstance(e, m.CancelBooking | m.ExpireBooking)]


def test_a_late_top_up_moves_the_booking_only_if_the_time_is_still_free(
        salon: BusinessProfile) -> None:
    mine = moving(booking(datetime(2026, 12, 2, 15, 0), service="Beard Trim", minutes=20),
                  status="expired")
    assert mine.move is not None
    late = m.step(m.Conversation(), m.DepositPaid(mine.id, Decimal("15.00")),
                  world(salon, bookings=[mine]))
    assert isinstance(late.effects[0], m.RescheduleBooking)
    rivals = [m.Held(uuid.uuid4(), r, mine.move.start, mine.move.end) for r in (1, 2)]
    taken = m.step(m.Conversation(), m.DepositPaid(mine.id, Decimal("15.00")),
                   world(salon, bookings=[mine], busy=rivals))
    assert m.RefundLatePayment(mine.id, Decimal("15.00"), whole_deposit=False) in taken.effects
    assert [e for e in taken.effects if isinstance(e, m.AlertStaff)]


# --- "no" and "cancel" wherever the conversation is ---------------------------------------

PROPOSING = m.Context(draft=m.Draft("Haircut", TOMORROW, time(15)),
                      proposal=datetime(2026, 12, 2, 15, 0))


@pytest.mark.parametrize("intent", ["deny", "cancel"])
def test_no_or_cancel_while_collecting_drops_the_request(salon: BusinessProfile,
                                                         intent: Intent) -> None:
    conv = m.Conversation(State.COLLECTING, m.Context(draft=m.Draft(service="Haircut")))
    out = m.step(conv, said(intent, intent), world(salon))
    assert out.conversation == m.Conversation()
    assert [t for t in replies(out) if "won't book" in t]
    assert not [e for e in out.effects if not isinstance(e, m.Reply)]


def test_no_to_a_proposal_asks_for_another_time_and_keeps_the_rest(
        salon: BusinessProfile) -> None:
    out = m.step(m.Conversation(State.CONFIRMING, PROPOSING), said("deny", "no"), world(salon))
    assert out.conversation.state == State.COLLECTING
    assert out.conversation.context.proposal is None
    assert out.conversation.context.draft == m.Draft("Haircut", TOMORROW, None)
    assert "better" in replies(out)[0]


def test_cancel_while_proposing_drops_it_or_turns_to_an_existing_booking(
        salon: BusinessProfile) -> None:
    dropped = m.step(m.Conversation(State.CONFIRMING, PROPOSING), said("cancel", "cancel"),
                     world(salon))
    assert dropped.conversation == m.Conversation()
    mine = booking(datetime(2026, 12, 4, 11))
    turned = m.step(m.Conversation(State.CONFIRMING, PROPOSING), said("cancel", "cancel"),
                    world(salon, bookings=[mine]))
    assert turned.conversation.state == State.CANCEL_CONFIRM
    assert turned.conversation.context.booking_id == mine.id
    assert "Fri, Dec 4" in replies(turned)[0]


@pytest.mark.parametrize("intent", ["deny", "cancel"])
def test_no_or_cancel_while_a_deposit_is_pending_asks_to_cancel_the_hold(
        salon: BusinessProfile, intent: Intent) -> None:
    hold = booking(datetime(2026, 12, 5, 10), status="held", deposit_status="pending",
                   amount="15.00")
    out = m.step(m.Conversation(State.PAYMENT_PENDING, m.Context(booking_id=hold.id)),
                 said(intent, intent), world(salon, bookings=[hold]))
    assert out.conversation.state == State.CANCEL_CONFIRM
    assert out.conversation.context.booking_id == hold.id
    assert "Sat, Dec 5" in replies(out)[0] and not [
        e for e in out.effects if isinstance(e, m.CancelBooking)]


def test_no_to_cancelling_keeps_the_booking_and_a_hold_goes_back_to_waiting(
        salon: BusinessProfile) -> None:
    mine = booking(datetime(2026, 12, 4, 11))
    kept = m.step(m.Conversation(State.CANCEL_CONFIRM, m.Context(booking_id=mine.id)),
                  said("deny", "no"), world(salon, bookings=[mine]))
    assert kept.conversation == m.Conversation()
    assert "stays as it is" in replies(kept)[0]
    hold = booking(datetime(2026, 12, 5, 10), status="held", deposit_status="pending",
                   amount="15.00")
    waiting = m.step(m.Conversation(State.CANCEL_CONFIRM, m.Context(booking_id=hold.id)),
                     said("deny", "no"), world(salon, bookings=[hold]))
    assert waiting.conversation.state == State.PAYMENT_PENDING
    assert "$15.00" in replies(waiting)[0]


def test_cancel_again_while_confirming_a_cancellation_cancels(salon: BusinessProfile) -> None:
    mine = booking(datetime(2026, 12, 4, 11))
    out = m.step(m.Conversation(State.CANCEL_CONFIRM, m.Context(booking_id=mine.id)),
                 said("cancel", "just cancel it"), world(salon, bookings=[mine]))
    assert out.conversation == m.Conversation()
    assert m.CancelBooking(mine.id, refund=False) in out.effects
    assert "cancelled" in replies(out)[0]


def test_the_readme_shows_the_diagram_the_table_prints() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"```mermaid\n{m.diagram()}\n```" in readme, "run: scripts/readme-diagram"


def test_a_question_while_proposing_is_answered_then_the_proposal_asked_again(
        salon: BusinessProfile) -> None:
    out = m.step(m.Conversation(State.CONFIRMING, PROPOSING),
                 said("faq_location", "where are you?"), world(salon))
    (text,) = replies(out)
    assert text.startswith("We're at 212 Mulberry St")
    assert text.endswith("Shall I go ahead? Reply yes or no.")
    mine = booking(datetime(2026, 12, 4, 11))
    out = m.step(m.Conversation(State.CANCEL_CONFIRM, m.Context(booking_id=mine.id)),
                 said("faq_hours", "when do you open?"), world(salon, bookings=[mine]))
    assert replies(out)[0].endswith("Reply yes to cancel or no to keep it.")

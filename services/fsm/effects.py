"""Applying the machine's effects: one small function per effect, inside the turn's
transaction. Each changes fsm's own rows and queues the messages that report the change
(`turn.emitted`, written to the outbox when the turn commits). Every statement is a `Direct`
one (bookings through `services.fsm.bookings`), so a turn runs on a session or on a pooled
connection alike."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import Integer, Table, bindparam, update
from sqlalchemy.sql.dml import UpdateBase

from libs.contracts import events as ev
from libs.contracts.commands import DepositRequested, RefundRequested, ReplyRequested
from libs.contracts.vocabulary import Channel
from libs.db.direct import Direct
from libs.timers import service as timers
from services.fsm import bookings, machine as m, waitlist
from services.fsm.bookings import TurnBooking
from services.fsm.machine.attendance import initial_risk
from services.fsm.models import Booking, Conversation, Customer

if TYPE_CHECKING:
    from services.fsm.turns import Turn

OWNER = "fsm"
SESSION_TIMEOUT = "session_timeout"
RISK_CHECK = "risk_check"
APPOINTMENT_OVER = "appointment_over"
RISK_CHECK_BEFORE = timedelta(hours=1)
COMPLETED_AFTER = timedelta(minutes=30)
E = TypeVar("E", bound=ev.BookingEvent)
Applier = Callable[["Turn", Any], Awaitable[None]]

_CUSTOMERS = cast(Table, Customer.__table__)
_SAVE_CUSTOMER = Direct.of(
    update(_CUSTOMERS)
    .where(_CUSTOMERS.c.id == bindparam("customer_id"))
    .values({_CUSTOMERS.c[name]: bindparam(f"new_{name}", type_=_CUSTOMERS.c[name].type)
             for name in ("opted_out", "language", "origin")}
            | {_CUSTOMERS.c[name]: _CUSTOMERS.c[name] + bindparam(f"{name}_added",
                                                                 type_=Integer)
               for name in ("kept", "late_cancels")}))
"""The customer's choices as the turn leaves them, and their record by what the turn added
(`TurnCustomer`)."""
_CONVERSATIONS = cast(Table, Conversation.__table__)
SAVE_CONVERSATION = (
    update(_CONVERSATIONS)
    .where(_CONVERSATIONS.c.id == bindparam("conversation_id"))
    .values({_CONVERSATIONS.c[name]: bindparam(f"new_{name}", type_=_CONVERSATIONS.c[name].type)
             for name in ("state", "context", "channel", "updated_at",
                          "last_customer_message_at", "whatsapp_received_at")}))
_SAVE_CONVERSATION = Direct.of(SAVE_CONVERSATION)
SAVE_CONVERSATION_AND_TIMERS = SAVE_CONVERSATION.add_cte(
    timers.DROP_AND_SCHEDULE.cte("timer_changes"))
"""The conversation row with the turn's timer changes (a data-modifying CTE): one
statement, where they cost two round trips, on the three turns in four that change a
timer (docs/scaling.md, "Timers with the conversation")."""
_SAVE_CONVERSATION_AND_TIMERS = Direct.of(SAVE_CONVERSATION_AND_TIMERS)
LastWriter = Callable[[UpdateBase, Mapping[str, Any]], None]
"""`HandlerContext.write_last`: the turn's conversation write sent with the claim."""


def booking_event(kind: type[E], b: Booking | TurnBooking, customer: str, channel: Channel,
                  **extra: Any) -> E:
    """A booking event carries the booking as it now is, so consumers need no lookup."""
    return kind(booking_id=b.id, reference=b.reference, customer=customer, channel=channel,
                service=b.service, starts_at=b.starts_at, ends_at=b.ends_at,
                resource=b.resource, status=b.status, deposit_status=b.deposit_status,
                deposit_amount=b.deposit_amount, deposit_booking_id=b.paid_with, **extra)


def deposit_request(turn: Turn, b: TurnBooking, amount: Decimal, what: str
                    ) -> DepositRequested:
    """Ask payments for a checkout link: the held booking's next attempt."""
    assert b.hold_expires_at is not None
    return DepositRequested(
        booking_id=b.id, reference=b.reference, customer=turn.customer.address,
        channel=turn.channel, amount=amount, currency=turn.profile.currency,
        attempt=b.deposit_requests, hold_expires_at=b.hold_expires_at,
        description=f"{what} at {turn.profile.name}")


def _report(turn: Turn, kind: type[E], b: TurnBooking, **extra: Any) -> None:
    turn.emitted.append(booking_event(kind, b, turn.customer.address, turn.channel, **extra))


async def reply(turn: Turn, effect: m.Reply) -> None:
    """To the customer, on the channel they last wrote from. On WhatsApp it carries when
    their latest message there was received, which is what notifier keeps WhatsApp's
    24-hour window by (free text, or a template after it)."""
    turn.emitted.append(ReplyRequested(
        channel=turn.channel, to=turn.customer.address, text=effect.text,
        purpose=effect.purpose, booking_id=effect.booking_id, choices=list(effect.choices),
        language=turn.customer.language,
        customer_wrote_at=turn.row.whatsapp_received_at if turn.channel == "whatsapp"
        else None))


async def alert_staff(turn: Turn, effect: m.AlertStaff) -> None:
    turn.emitted.append(ReplyRequested(channel="sms", to=turn.profile.owner_phone,
                                       text=effect.text, audience="staff", purpose="alert"))


async def create_booking(turn: Turn, effect: m.CreateBooking) -> None:
    held = effect.deposit > 0 or effect.paid_with is not None
    booking = TurnBooking(
        id=effect.booking_id, reference=effect.reference, business_id=turn.profile.id,
        customer_id=turn.customer.id, service=effect.service, resource=effect.resource,
        starts_at=effect.start, ends_at=effect.end,
        status="held" if held else "confirmed", deposit_status="pending" if held else "none",
        deposit_amount=effect.deposit if held else None,
        hold_expires_at=_hold_expiry(turn) if held else None,
        deposit_requests=1 if held and effect.paid_with is None else 0,
        paid_with=effect.paid_with,
        no_show_risk=None if held else initial_risk(turn.customer.no_shows),
        created_at=turn.now, updated_at=turn.now)
    await bookings.add(turn.db, booking)
    if not held:
        _watch_attendance(turn, booking)
        _report(turn, ev.BookingConfirmed, booking)
        return
    assert booking.hold_expires_at is not None
    _report(turn, ev.BookingHeld, booking, hold_expires_at=booking.hold_expires_at)
    if effect.paid_with is None:  # the first of a pair asks for both deposits at once
        amount = effect.checkout if effect.checkout is not None else effect.deposit
        what = (f"Deposit for {effect.service}" if effect.checkout is None
                else f"Deposit for {effect.service} and the service booked with it")
        turn.emitted.append(deposit_request(turn, booking, amount, what))


def _hold_expiry(turn: Turn) -> datetime:
    return turn.now + timedelta(minutes=turn.profile.deposits.hold_minutes)


async def confirm_booking(turn: Turn, effect: m.ConfirmBooking) -> None:
    async with bookings.changing(turn.db, effect.booking_id) as booking:
        booking.status, booking.deposit_status = "confirmed", "paid"
        booking.deposit_paid_amount = booking.deposit_amount
        booking.resource, booking.no_show_risk, booking.updated_at = \
            effect.resource, initial_risk(turn.customer.no_shows), turn.now
    _watch_attendance(turn, booking)
    _report(turn, ev.BookingConfirmed, booking)


def _watch_attendance(turn: Turn, booking: TurnBooking) -> None:
    """A confirmed booking's two checks: the risk an hour before, completion after the end.
    Scheduling again (a move) replaces them."""
    payload = {"booking_id": str(booking.id), "starts_at": booking.starts_at.isoformat(),
               "ends_at": booking.ends_at.isoformat()}
    turn.timers.set(timers.NewTimer(APPOINTMENT_OVER, f"{APPOINTMENT_OVER}:{booking.id}",
                                    booking.ends_at + COMPLETED_AFTER, payload))
    risk_at = booking.starts_at - RISK_CHECK_BEFORE
    if risk_at > turn.now:
        turn.timers.set(timers.NewTimer(RISK_CHECK, f"{RISK_CHECK}:{booking.id}", risk_at,
                                        payload))
    else:  # confirmed inside the last hour: just confirmed, medium
        turn.timers.drop(f"{RISK_CHECK}:{booking.id}")


def _unwatch_attendance(turn: Turn, booking: TurnBooking) -> None:
    for kind in (RISK_CHECK, APPOINTMENT_OVER):
        turn.timers.drop(f"{kind}:{booking.id}")


async def expire_booking(turn: Turn, effect: m.ExpireBooking) -> None:
    async with bookings.changing(turn.db, effect.booking_id) as booking:
        freed = booking.status in ("held", "confirmed")
        booking.status, booking.deposit_status, booking.updated_at = \
            "expired", "expired", turn.now
    _report(turn, ev.BookingExpired, booking)
    if freed:
        await _opened(turn, booking.starts_at, booking.ends_at)


async def _opened(turn: Turn, start: datetime, end: datetime) -> None:
    await waitlist.opened(turn.db, turn.profile.id, start, end, turn.now)


async def refund_late_payment(turn: Turn, effect: m.RefundLatePayment) -> None:
    async with bookings.changing(turn.db, effect.booking_id) as booking:
        if effect.whole_deposit:
            booking.deposit_status, booking.updated_at = "refunded", turn.now
    turn.emitted.append(RefundRequested(booking_id=booking.id, amount=effect.amount,
                                        reason="late_payment_slot_taken"))


async def reschedule_booking(turn: Turn, effect: m.RescheduleBooking) -> None:
    """Move now; a held new time for this move (its top-up just paid) gives way first."""
    await _let_go_of_hold(turn, effect.booking_id)
    async with bookings.changing(turn.db, effect.booking_id) as booking:
        previous = (booking.starts_at, booking.ends_at)
        booking.starts_at, booking.ends_at = effect.start, effect.end
        booking.resource, booking.updated_at = effect.resource, turn.now
        if effect.paid_top_up:
            booking.deposit_amount = (booking.deposit_amount or Decimal(0)) + effect.paid_top_up
            booking.deposit_paid_amount = booking.deposit_amount
            booking.deposit_status = "paid"
    _watch_attendance(turn, booking)
    _report(turn, ev.BookingRescheduled, booking, previous_starts_at=previous[0],
            previous_ends_at=previous[1])
    await _opened(turn, *previous)


async def hold_move(turn: Turn, effect: m.HoldMove) -> None:
    """Hold the new time in a row of its own; the booking itself does not change."""
    async with bookings.changing(turn.db, effect.booking_id) as booking:
        await _let_go_of_hold(turn, booking.id)
        turn.moving.add(booking.id)
        await bookings.add(turn.db, TurnBooking(
            id=effect.hold_id, reference=f"{booking.reference}-M{booking.deposit_requests + 1}",
            business_id=booking.business_id, customer_id=booking.customer_id,
            service=booking.service, resource=effect.resource, starts_at=effect.start,
            ends_at=effect.end, status="held", deposit_status="pending",
            deposit_amount=effect.top_up, hold_expires_at=_hold_expiry(turn),
            holds_for=booking.id, created_at=turn.now, updated_at=turn.now))
        booking.deposit_requests += 1
        booking.hold_expires_at = _hold_expiry(turn)
    turn.emitted.append(deposit_request(turn, booking, effect.top_up,
                                        f"Deposit top-up to move {booking.service}"))


async def _let_go_of_hold(turn: Turn, booking_id: uuid.UUID) -> None:
    """Delete the held new time of a move of `booking_id`, if the world showed one."""
    if booking_id in turn.moving:
        await bookings.drop_move_hold(turn.db, booking_id)
        turn.moving.discard(booking_id)


async def release_move(turn: Turn, effect: m.ReleaseMove) -> None:
    """The top-up lapsed: the held time is free again (kept, expired, for a late payment)."""
    for start, end in await bookings.release_move_hold(turn.db, effect.booking_id, turn.now):
        await _opened(turn, start, end)


async def cancel_booking(turn: Turn, effect: m.CancelBooking) -> None:
    async with bookings.changing(turn.db, effect.booking_id) as booking:
        await _let_go_of_hold(turn, booking.id)
        free_until = booking.starts_at - timedelta(
            hours=turn.profile.cancellation.free_until_hours)
        if booking.status == "confirmed" and turn.now > free_until:
            turn.customer.late_cancels += 1
        _unwatch_attendance(turn, booking)
        if booking.status in ("held", "confirmed"):
            await _opened(turn, booking.starts_at, booking.ends_at)
        booking.status, booking.updated_at = "cancelled", turn.now
        if booking.deposit_status == "paid":
            booking.deposit_status = "refunded" if effect.refund else "forfeited"
        elif booking.deposit_status == "pending":
            booking.deposit_status = "expired"
    _report(turn, ev.BookingCancelled, booking, cancelled_by=effect.by)


async def confirm_attendance(turn: Turn, effect: m.ConfirmAttendance) -> None:
    async with bookings.changing(turn.db, effect.booking_id) as booking:
        booking.attendance_confirmed, booking.no_show_risk = True, "low"
        booking.updated_at = turn.now


async def set_risk(turn: Turn, effect: m.SetRisk) -> None:
    async with bookings.changing(turn.db, effect.booking_id) as booking:
        booking.no_show_risk, booking.updated_at = effect.risk, turn.now


async def complete_booking(turn: Turn, effect: m.CompleteBooking) -> None:
    async with bookings.changing(turn.db, effect.booking_id) as booking:
        booking.status, booking.updated_at = "completed", turn.now
    turn.customer.kept += 1
    _report(turn, ev.BookingCompleted, booking)


async def join_waitlist(turn: Turn, effect: m.JoinWaitlist) -> None:
    await waitlist.join(turn, effect.service, effect.start, effect.end)


async def hold_offer(turn: Turn, effect: m.HoldOffer) -> None:
    await waitlist.hold_offer(turn, effect.entry_id, effect.booking_id, effect.service,
                              effect.start, effect.end, effect.resource, effect.expires_at)


async def take_offer(turn: Turn, effect: m.TakeOffer) -> None:
    await waitlist.end_offer(turn, effect.entry_id, "booked")


async def decline_offer(turn: Turn, effect: m.DeclineOffer) -> None:
    await waitlist.end_offer(turn, effect.entry_id, "declined")


async def lapse_offer(turn: Turn, effect: m.LapseOffer) -> None:
    await waitlist.end_offer(turn, effect.entry_id, "lapsed")


async def set_opted_out(turn: Turn, effect: m.SetOptedOut) -> None:
    """Reminders (and any later sender) hear of it: they keep nothing due for an opted-out
    customer. Their waitlist entries end."""
    if turn.customer.opted_out == effect.opted_out:
        return
    turn.customer.opted_out = effect.opted_out
    if effect.opted_out:
        await waitlist.leave_all(turn)
    change = ev.CustomerOptedOut if effect.opted_out else ev.CustomerOptedIn
    turn.emitted.append(change(customer=turn.customer.address, at=turn.now))


APPLIERS: dict[type[Any], Applier] = {
    m.Reply: reply,
    m.AlertStaff: alert_staff,
    m.CreateBooking: create_booking,
    m.ConfirmBooking: confirm_booking,
    m.ExpireBooking: expire_booking,
    m.RefundLatePayment: refund_late_payment,
    m.RescheduleBooking: reschedule_booking,
    m.HoldMove: hold_move,
    m.ReleaseMove: release_move,
    m.CancelBooking: cancel_booking,
    m.ConfirmAttendance: confirm_attendance,
    m.SetRisk: set_risk,
    m.CompleteBooking: complete_booking,
    m.JoinWaitlist: join_waitlist,
    m.HoldOffer: hold_offer,
    m.TakeOffer: take_offer,
    m.DeclineOffer: decline_offer,
    m.LapseOffer: lapse_offer,
    m.SetOptedOut: set_opted_out,
}


async def apply(turn: Turn, outcome: m.Outcome, *, write_last: LastWriter | None = None
                ) -> None:
    """Every effect in order, then the conversation's new state and its timeout timer. The
    conversation row is changed only here, after the effects' own statements, in one
    UPDATE that carries the turn's timer changes; `write_last`: left to be sent with the
    claim (the turn is the handler's last work), one round trip fewer."""
    for effect in outcome.effects:
        await APPLIERS[type(effect)](turn, effect)
    new = outcome.conversation
    was_finished = not _open(m.State(turn.row.state))
    _keep_session_timer(turn, new.state, was_finished)
    await _save_customer(turn)
    await _save_conversation(turn, new, write_last)


async def _save_conversation(turn: Turn, new: m.Conversation,
                             write_last: LastWriter | None) -> None:
    """The conversation row and the turn's timer changes, in one statement built once, on
    the tables, through psycopg: every turn writes it (docs/scaling.md, "The ORM's unit of
    work"); with the claim when the turn is the handler's last work."""
    row = turn.row
    row.state, row.context = new.state.value, new.context.to_json()
    if turn.customer_wrote:
        row.last_customer_message_at = turn.now
    params: dict[str, Any] = {
        "conversation_id": row.id, "new_state": row.state, "new_context": row.context,
        "new_channel": row.channel, "new_updated_at": turn.now,
        "new_last_customer_message_at": row.last_customer_message_at,
        "new_whatsapp_received_at": row.whatsapp_received_at}
    statement, direct = SAVE_CONVERSATION, _SAVE_CONVERSATION
    timer_changes = turn.timers.taken(owner=OWNER, business_id=turn.profile.id)
    if timer_changes is not None:
        statement, direct = SAVE_CONVERSATION_AND_TIMERS, _SAVE_CONVERSATION_AND_TIMERS
        params.update(timer_changes)
    if write_last is not None:
        write_last(statement, params)
    else:
        await direct.rowcount(turn.db, params)


async def _save_customer(turn: Turn) -> None:
    """What the turn changed of the customer, if anything: their choices as they are now,
    their record by what this turn added to it (staff may mark a booking meanwhile)."""
    now, before = turn.customer, turn.customer_as_read
    if now == before:
        return
    await _SAVE_CUSTOMER.rowcount(turn.db, {
        "customer_id": now.id, "new_opted_out": now.opted_out, "new_language": now.language,
        "new_origin": now.origin, "kept_added": now.kept - before.kept,
        "late_cancels_added": now.late_cancels - before.late_cancels})
    turn.customer_as_read = replace(now)


def _open(state: m.State) -> bool:
    return state not in (m.State.IDLE, m.State.PAYMENT_PENDING)


def _keep_session_timer(turn: Turn, state: m.State, was_finished: bool) -> None:
    """A conversation that opens gets a timeout timer, due the timeout from now (the
    customer's message, or the business's own when it opened the conversation: a waitlist
    offer); one that finishes loses it. A message in between does not move it, which would
    cost a write per turn: the timer fires at the earlier time and `session_timeout_due`
    moves it on from the customer's last message."""
    if not _open(state):
        if not was_finished:
            turn.timers.drop(f"{SESSION_TIMEOUT}:{turn.row.id}")
        return
    if was_finished:
        _set_session_timer(turn, turn.now
                           + timedelta(minutes=turn.profile.booking.session_timeout_minutes))


def _set_session_timer(turn: Turn, due: datetime) -> None:
    turn.timers.set(timers.NewTimer(SESSION_TIMEOUT, f"{SESSION_TIMEOUT}:{turn.row.id}", due,
                                    {"conversation_id": str(turn.row.id)}))


async def session_timeout_due(turn: Turn) -> bool:
    """The session timer fired: True when the conversation is open and the customer has
    been silent the whole timeout since their last message (or never wrote since the
    business opened it). When they wrote since, the timer is moved to the timeout after
    that message instead, and False."""
    if not _open(m.State(turn.row.state)):
        return False
    last = turn.row.last_customer_message_at
    if last is not None:
        due = last + timedelta(minutes=turn.profile.booking.session_timeout_minutes)
        if due > turn.now:
            _set_session_timer(turn, due)
            await turn.timers.write(turn.db, owner=OWNER, business_id=turn.profile.id)
            return False
    return True

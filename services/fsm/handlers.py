"""fsm: I/O around the pure state machine, one handler per message it consumes.

Each handler opens the turn's one transaction, locks the customer's conversation, and plays
one input through the machine (`services.fsm.turns`). fsm calls no outside system, so the
whole turn is that transaction.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from libs.bus.context import HandlerContext, HandlerMap
from libs.business.service import get_profile
from libs.contracts import events as ev
from libs.contracts.commands import (
    StaffCancelRequested,
    StaffMoveRequested,
    StaffRemindRequested,
    StaffTakeoverRequested,
)
from libs.db.direct import Direct
from libs.timers.models import Timer
from services.fsm import machine as m, waitlist
from services.fsm.blocked import replace_blocked
from services.fsm.effects import (
    APPOINTMENT_OVER,
    RISK_CHECK,
    SESSION_TIMEOUT,
    session_timeout_due,
)
from services.fsm.i18n import language_after
from services.fsm.models import (
    Booking,
    Conversation,
    Customer,
    KnownCheckout,
    TakeoverMessage,
    WaitlistEntry,
)
from services.fsm.turns import WebLimits, open_turn, open_turn_for_booking, play, web_visitor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FsmDeps:
    """fsm needs no outside system: everything it reads is in PostgreSQL. `web_limits`
    caps what an unverified web chat visitor may book."""

    web_limits: WebLimits = field(default_factory=WebLimits)


def _said(message: ev.MessageUnderstood | ev.MessageUnderstoodV1) -> m.CustomerSaid:
    s = message.slots
    return m.CustomerSaid(intent=message.intent, text=message.text, service=s.service,
                          date=s.date, time=s.time, part_of_day=s.part_of_day,
                          service2=s.service2, zone=s.timezone, earliest=s.earliest,
                          topic=s.topic)


_KEEP_FOR_STAFF = Direct.of(insert(TakeoverMessage).values(
    business_id=bindparam("business_id"), customer_id=bindparam("customer_id"),
    channel=bindparam("channel"), text=bindparam("text"), received_at=bindparam("received_at")))
_KNOW_CHECKOUT = Direct.of(pg_insert(KnownCheckout).values(
    checkout_session_id=bindparam("checkout_session_id"), booking_id=bindparam("booking_id"),
    amount=bindparam("amount")).on_conflict_do_nothing())
_CHECKOUT_FOR = Direct.of(select(KnownCheckout.booking_id).where(
    KnownCheckout.checkout_session_id == bindparam("checkout_session_id")))
"""fsm's own statements, built once and run through psycopg (`libs.db.direct`): its turns
run on a pooled connection (`HandlerContext.write_direct`), without a session."""


async def on_message_understood(ctx: HandlerContext,
                                message: ev.MessageUnderstood | ev.MessageUnderstoodV1,
                                deps: FsmDeps) -> None:
    async with ctx.write_direct() as db:
        turn = await open_turn(db, ctx, message.customer, message.channel,
                               customer_said=True, web_origin=message.origin
                               if isinstance(message, ev.MessageUnderstood) else None)
        turn.row.channel = message.channel  # replies go where they last wrote
        wrote = turn.row.whatsapp_received_at
        if message.channel == "whatsapp" and (wrote is None or message.received_at > wrote):
            turn.row.whatsapp_received_at = message.received_at  # only forward: a late one
        web_visitor(turn, message, deps.web_limits)
        if isinstance(message, ev.MessageUnderstood):  # v1 shows no language: kept
            turn.customer.language = language_after(turn.customer.language,
                                                    message.language_seen)
        if turn.row.taken_over_at is not None:  # a person has it: kept for them to read
            await _KEEP_FOR_STAFF.rowcount(db, {
                "business_id": ctx.business_id, "customer_id": turn.customer.id,
                "channel": message.channel, "text": message.text,
                "received_at": message.received_at})
        await play(ctx, turn, _said(message), last=True)


async def on_checkout_created(ctx: HandlerContext, event: ev.CheckoutCreated,
                              deps: FsmDeps) -> None:
    async with ctx.write_direct() as db:
        turn = await open_turn_for_booking(db, ctx, event.booking_id)
        if turn is None:
            return
        await _KNOW_CHECKOUT.rowcount(db, {"checkout_session_id": event.checkout_session_id,
                                           "booking_id": event.booking_id,
                                           "amount": event.amount})
        await play(ctx, turn, m.CheckoutReady(event.booking_id, event.url, event.amount), last=True)


async def _play_for_checkout(ctx: HandlerContext, event: ev.PaymentSucceeded | ev.PaymentExpired,
                             said: m.Input) -> None:
    """Play a payment outcome only for a session announced for that booking: anything else
    is a forgery or a stray, and confirms or releases nothing."""
    async with ctx.write_direct() as db:
        known = await _CHECKOUT_FOR.scalar(db, {"checkout_session_id": event.checkout_session_id})
        if known != event.booking_id:
            log.warning("%s for checkout session %s, which was never created for booking "
                        "%s: ignored", event.TYPE, event.checkout_session_id, event.booking_id)
            return
        turn = await open_turn_for_booking(db, ctx, event.booking_id)
        if turn is not None:
            await play(ctx, turn, said, last=True)


async def on_payment_succeeded(ctx: HandlerContext, event: ev.PaymentSucceeded,
                               deps: FsmDeps) -> None:
    await _play_for_checkout(ctx, event, m.DepositPaid(event.booking_id, event.amount))


async def on_payment_expired(ctx: HandlerContext, event: ev.PaymentExpired,
                             deps: FsmDeps) -> None:
    await _play_for_checkout(ctx, event, m.HoldLapsed(event.booking_id))


async def _play_for_booking(ctx: HandlerContext, booking_id: uuid.UUID, said: m.Input) -> None:
    async with ctx.write_direct() as db:
        turn = await open_turn_for_booking(db, ctx, booking_id)
        if turn is not None:
            await play(ctx, turn, said, last=True)


async def on_reminder_due(ctx: HandlerContext, event: ev.ReminderDue, deps: FsmDeps) -> None:
    """Send the reminder, if the booking is still confirmed at that time (the machine checks:
    a cancel or move may have crossed the reminder on the bus)."""
    await _play_for_booking(ctx, event.booking_id,
                            m.ReminderArrived(event.booking_id, event.starts_at))


async def on_risk_check(ctx: HandlerContext, timer: Timer, deps: FsmDeps) -> None:
    await _play_for_booking(ctx, uuid.UUID(timer.payload["booking_id"]), m.RiskCheck(
        uuid.UUID(timer.payload["booking_id"]),
        datetime.fromisoformat(timer.payload["starts_at"])))


async def on_appointment_over(ctx: HandlerContext, timer: Timer, deps: FsmDeps) -> None:
    await _play_for_booking(ctx, uuid.UUID(timer.payload["booking_id"]), m.AppointmentOver(
        uuid.UUID(timer.payload["booking_id"]),
        datetime.fromisoformat(timer.payload["ends_at"])))


async def on_waitlist_opening(ctx: HandlerContext, timer: Timer, deps: FsmDeps) -> None:
    """Offer a freed time to those waiting for it, in the order they joined (each one's
    turn, so the machine sees their conversation); outside quiet hours only."""
    start = datetime.fromisoformat(timer.payload["start"])
    end = datetime.fromisoformat(timer.payload["end"])
    async with ctx.write() as session:
        profile = await get_profile(session, timer.business_id)
        now = ctx.clock.now()
        if profile is None or end <= now:
            return
        quiet_until = waitlist.after_quiet_hours(profile, now)
        if quiet_until is not None:
            await waitlist.schedule_opening(session, profile.id, start, end, quiet_until)
            return
        someone_busy = offered = False
        for entry in await waitlist.waiting_for(session, profile.id, start, end):
            if entry.starts_at <= now:
                entry.status = "expired"
                continue
            if await waitlist.has_offer(session, entry.customer_id):
                continue  # one offer at a time: this one keeps their place
            customer = await session.get(Customer, entry.customer_id)
            assert customer is not None
            channel = await session.scalar(select(Conversation.channel).where(
                Conversation.customer_id == customer.id))
            turn = await open_turn(session, ctx, customer.address, channel or "sms")
            outcome = await play(ctx, turn, m.WaitlistOpening(
                entry.id, entry.service, entry.starts_at, uuid.uuid4(),
                now + timedelta(minutes=profile.waitlist.offer_minutes)))
            if any(isinstance(e, m.HoldOffer) for e in outcome.effects):
                offered = True
            elif outcome.conversation.state != m.State.IDLE:
                someone_busy = True
        if someone_busy and not offered and start > now + waitlist.RECHECK_AFTER:
            await waitlist.schedule_opening(session, profile.id, start, end,
                                            now + waitlist.RECHECK_AFTER)


async def on_waitlist_offer_lapse(ctx: HandlerContext, timer: Timer, deps: FsmDeps) -> None:
    entry_id = uuid.UUID(timer.payload["entry_id"])
    async with ctx.write() as session:
        entry = await session.get(WaitlistEntry, entry_id)
        if entry is None or entry.status != "offered":
            return
        customer = await session.get(Customer, entry.customer_id)
        assert customer is not None
        turn = await open_turn(session, ctx, customer.address, "sms")
        await play(ctx, turn, m.OfferLapsed(entry_id), last=True)


async def on_session_timeout(ctx: HandlerContext, timer: Timer, deps: FsmDeps) -> None:
    """The customer stayed silent past the session timeout: drop an unfinished request.
    The timer is not moved by each message (`effects.session_timeout_due`): one that wrote
    since it was set has it moved on instead."""
    async with ctx.write() as session:
        conversation = await session.get(Conversation,
                                         uuid.UUID(timer.payload["conversation_id"]))
        if conversation is None:
            return
        customer = await session.get(Customer, conversation.customer_id)
        assert customer is not None
        turn = await open_turn(session, ctx, customer.address, conversation.channel)
        if await session_timeout_due(turn):
            await play(ctx, turn, m.SessionTimedOut(), last=True)


async def on_calendar_busy_changed(ctx: HandlerContext, event: ev.CalendarBusyChanged,
                                   deps: FsmDeps) -> None:
    """The business's own calendar changed: its busy times replace the blocked ones (unless
    a newer report was applied); availability reads them from the next turn on."""
    async with ctx.write() as session:
        await replace_blocked(session, ctx.business_id, event)


# --- what staff ask for through the admin API (docs/admin.md) -------------------------------


async def _play_for_staff(ctx: HandlerContext, booking_id: uuid.UUID, said: m.Input) -> None:
    """Only a booking of the business the command was sent for (admin checked the key's
    business; this is the last word)."""
    async with ctx.write() as session:
        business_id = await session.scalar(select(Booking.business_id).where(
            Booking.id == booking_id))
        if business_id != ctx.business_id:
            log.warning("staff request for booking %s, which is not a booking of %s: ignored",
                        booking_id, ctx.business_id)
            return
        turn = await open_turn_for_booking(session, ctx, booking_id)
        if turn is not None:
            await play(ctx, turn, said, last=True)


async def on_staff_cancel(ctx: HandlerContext, command: StaffCancelRequested,
                          deps: FsmDeps) -> None:
    await _play_for_staff(ctx, command.booking_id,
                          m.StaffCancel(command.booking_id, command.refund, command.note))


async def on_staff_move(ctx: HandlerContext, command: StaffMoveRequested,
                        deps: FsmDeps) -> None:
    await _play_for_staff(ctx, command.booking_id,
                          m.StaffMove(command.booking_id, command.starts_at, command.note))


async def on_staff_remind(ctx: HandlerContext, command: StaffRemindRequested,
                          deps: FsmDeps) -> None:
    await _play_for_staff(ctx, command.booking_id, m.StaffRemind(command.booking_id))


async def on_staff_takeover(ctx: HandlerContext, command: StaffTakeoverRequested,
                            deps: FsmDeps) -> None:
    """A person takes the conversation (the bot records and answers nothing) or hands it
    back. Requests apply in the order staff made them, whatever order they arrive in."""
    at = ctx.occurred_at
    async with ctx.write() as session:
        customer = await session.scalar(select(Customer).where(
            Customer.business_id == ctx.business_id, Customer.address == command.customer))
        if customer is None:
            log.warning("takeover of a customer unknown at %s: ignored", ctx.business_id)
            return
        channel = await session.scalar(select(Conversation.channel).where(
            Conversation.customer_id == customer.id))
        row = (await open_turn(session, ctx, customer.address, channel or "sms")).row
        if command.on and (row.released_at is None or row.released_at < at):
            taken_over_at, released_at = row.taken_over_at or at, row.released_at
        elif not command.on and (row.taken_over_at is None or row.taken_over_at <= at):
            taken_over_at, released_at = None, at
        else:
            return  # an older request than the last one applied
        await session.execute(update(Conversation).where(Conversation.id == row.id).values(
            taken_over_at=taken_over_at, released_at=released_at))


HANDLERS: HandlerMap[FsmDeps] = {
    ev.MessageUnderstood: on_message_understood,
    ev.MessageUnderstoodV1: on_message_understood,  # published before nlu moved to v2
    ev.CheckoutCreated: on_checkout_created,
    ev.PaymentSucceeded: on_payment_succeeded,
    ev.PaymentExpired: on_payment_expired,
    ev.ReminderDue: on_reminder_due,
    ev.CalendarBusyChanged: on_calendar_busy_changed,
    StaffCancelRequested: on_staff_cancel,
    StaffMoveRequested: on_staff_move,
    StaffRemindRequested: on_staff_remind,
    StaffTakeoverRequested: on_staff_takeover,
}
TIMERS = {SESSION_TIMEOUT: on_session_timeout, RISK_CHECK: on_risk_check,
          APPOINTMENT_OVER: on_appointment_over, waitlist.OPENING: on_waitlist_opening,
          waitlist.OFFER_LAPSE: on_waitlist_offer_lapse}

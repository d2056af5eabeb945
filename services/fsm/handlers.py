"""fsm: I/O around the pure state machine.

Each turn: lock the customer's conversation row, load the world the machine reads, step
the machine, apply its effects (bookings, timers, outgoing events) in the same transaction.
A booking that loses a race at the database (the exclusion constraint) is retried against
the fresh world, where the machine sees the slot taken and says so with alternatives.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from libs.bus.context import Handler, HandlerContext, PermanentError
from libs.business.profile import BusinessProfile
from libs.business.service import get_profile
from libs.contracts import events as ev
from libs.timers import service as timers
from libs.timers.models import Timer
from services.fsm import machine as m
from services.fsm.models import Booking, Conversation, Customer

log = logging.getLogger(__name__)

OWNER = "fsm"
SESSION_TIMEOUT = "session_timeout"
REFERENCE_ALPHABET = "ACDEFGHJKLMNPQRTUVWXY34679"
RACE_RETRIES = 5
E = TypeVar("E", bound=ev.BookingEvent)


class Turn:
    """One locked conversation and what the machine needs to step it."""

    def __init__(self, session: AsyncSession, profile: BusinessProfile, customer: Customer,
                 conversation: Conversation, now: datetime) -> None:
        self.session = session
        self.profile = profile
        self.customer = customer
        self.row = conversation
        self.now = now

    @property
    def conversation(self) -> m.Conversation:
        return m.Conversation(m.State(self.row.state), m.Context.from_json(self.row.context))

    async def world(self) -> m.World:
        horizon = self.now + timedelta(days=self.profile.booking.max_days_ahead + 2)
        live = (await self.session.scalars(
            select(Booking).where(Booking.business_id == self.profile.id,
                                  Booking.status.in_(("held", "confirmed")),
                                  Booking.ends_at > self.now - timedelta(days=1),
                                  Booking.starts_at < horizon))).all()
        mine = (await self.session.scalars(
            select(Booking).where(Booking.customer_id == self.customer.id)
            .order_by(Booking.seq))).all()
        return m.World(
            profile=self.profile, now=self.now,
            busy=[m.Held(booking_id=b.id, resource=b.resource, start=b.starts_at,
                          end=b.ends_at) for b in live],
            bookings=[_view(b) for b in mine], customer=self.customer.address,
            opted_out=self.customer.opted_out, next_booking_id=uuid.uuid4(),
            next_reference=_reference())


def _view(b: Booking) -> m.BookingView:
    return m.BookingView(id=b.id, reference=b.reference, service=b.service, start=b.starts_at,
                         end=b.ends_at, status=b.status, deposit_status=b.deposit_status,
                         deposit_amount=b.deposit_amount, resource=b.resource,
                         deposit_paid=b.deposit_paid_amount)


def _reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


async def open_turn(ctx: HandlerContext, customer_address: str, channel: str) -> Turn:
    """Find or create the customer and conversation, and lock the conversation row so two
    fsm replicas never interleave one customer's turns."""
    session, business_id = ctx.session, ctx.business_id
    profile = await get_profile(session, business_id)
    if profile is None:
        raise PermanentError(f"unknown business {business_id!r}")
    await session.execute(insert(Customer).values(
        id=uuid.uuid4(), business_id=business_id, address=customer_address
    ).on_conflict_do_nothing(index_elements=[Customer.business_id, Customer.address]))
    customer = (await session.scalars(select(Customer).where(
        Customer.business_id == business_id, Customer.address == customer_address))).one()
    await session.execute(insert(Conversation).values(
        id=uuid.uuid4(), customer_id=customer.id, business_id=business_id, channel=channel
    ).on_conflict_do_nothing(index_elements=[Conversation.customer_id]))
    row = (await session.scalars(select(Conversation).where(
        Conversation.customer_id == customer.id).with_for_update())).one()
    return Turn(session, profile, customer, row, ctx.clock.now())


async def play(ctx: HandlerContext, turn: Turn, event: m.Input) -> m.Outcome:
    """Step the machine and apply the outcome; retry against a fresh world on a lost race."""
    for _ in range(RACE_RETRIES):
        outcome = m.step(turn.conversation, event, await turn.world())
        try:
            async with turn.session.begin_nested():
                await apply(ctx, turn, outcome)
            return outcome
        except IntegrityError as exc:
            if "no_overlapping_live_bookings" not in str(exc):
                raise
            log.info("booking lost a race at the database; re-checking with fresh data")
    raise RuntimeError("booking kept losing races; retrying the message later")


async def apply(ctx: HandlerContext, turn: Turn, outcome: m.Outcome) -> None:
    session, profile, now = turn.session, turn.profile, turn.now
    customer = turn.customer.address
    channel = turn.row.channel
    pending: list[ev.Event] = []

    for effect in outcome.effects:
        match effect:
            case m.Reply(text=text):
                pending.append(ev.ReplyRequested(channel=channel, to=customer, text=text))  # type: ignore[arg-type]
            case m.AlertStaff(text=text):
                pending.append(ev.ReplyRequested(channel="sms", to=profile.owner_phone,
                                                 text=text, audience="staff", purpose="alert"))
            case m.CreateBooking():
                held = effect.deposit > 0
                booking = Booking(
                    id=effect.booking_id, reference=effect.reference, business_id=profile.id,
                    customer_id=turn.customer.id, service=effect.service,
                    resource=effect.resource, starts_at=effect.start, ends_at=effect.end,
                    status="held" if held else "confirmed",
                    deposit_status="pending" if held else "none",
                    deposit_amount=effect.deposit if held else None,
                    hold_expires_at=now + timedelta(minutes=profile.deposits.hold_minutes)
                    if held else None,
                    deposit_requests=1 if held else 0,
                    no_show_risk=None if held else "medium", created_at=now, updated_at=now)
                session.add(booking)
                await session.flush()
                if held:
                    pending.append(booking_event(ev.BookingHeld, booking, customer, channel,
                                                  hold_expires_at=booking.hold_expires_at))
                    pending.append(_deposit_request(booking, customer, channel, profile,
                                                    effect.deposit, "Deposit"))
                else:
                    pending.append(booking_event(ev.BookingConfirmed, booking, customer, channel))
            case m.ConfirmBooking(booking_id=booking_id, resource=resource):
                booking = await _locked(session, booking_id)
                booking.status, booking.deposit_status = "confirmed", "paid"
                booking.deposit_paid_amount = booking.deposit_amount
                booking.resource, booking.no_show_risk, booking.updated_at = resource, "medium", now
                await session.flush()
                pending.append(booking_event(ev.BookingConfirmed, booking, customer, channel))
            case m.ExpireBooking(booking_id=booking_id):
                booking = await _locked(session, booking_id)
                booking.status, booking.deposit_status, booking.updated_at = \
                    "expired", "expired", now
                pending.append(booking_event(ev.BookingExpired, booking, customer, channel))
            case m.RefundLatePayment(booking_id=booking_id, amount=amount):
                booking = await _locked(session, booking_id)
                booking.deposit_status, booking.updated_at = "refunded", now
                pending.append(ev.RefundRequested(booking_id=booking.id, amount=amount,
                                                  reason="late_payment_slot_taken"))
            case m.RescheduleBooking():
                booking = await _locked(session, effect.booking_id)
                previous = (booking.starts_at, booking.ends_at)
                booking.starts_at, booking.ends_at = effect.start, effect.end
                booking.resource, booking.updated_at = effect.resource, now
                if effect.top_up:  # only the difference is asked for; the hold rules apply
                    paid = booking.deposit_amount if booking.deposit_status == "paid" else None
                    booking.deposit_paid_amount = paid
                    booking.deposit_amount = (paid or 0) + effect.top_up
                    booking.status, booking.deposit_status = "held", "pending"
                    booking.hold_expires_at = now + timedelta(
                        minutes=profile.deposits.hold_minutes)
                    booking.deposit_requests += 1
                await session.flush()
                pending.append(booking_event(
                    ev.BookingRescheduled, booking, customer, channel,
                    previous_starts_at=previous[0], previous_ends_at=previous[1]))
                if effect.top_up:
                    pending.append(_deposit_request(booking, customer, channel, profile,
                                                    effect.top_up, "Deposit top-up"))
            case m.CancelBooking(booking_id=booking_id, refund=refund):
                booking = await _locked(session, booking_id)
                booking.status, booking.updated_at = "cancelled", now
                if booking.deposit_status == "paid":
                    booking.deposit_status = "refunded" if refund else "forfeited"
                elif booking.deposit_status == "pending":
                    booking.deposit_status = "expired"
                pending.append(booking_event(ev.BookingCancelled, booking, customer, channel,
                                                   cancelled_by="customer"))
            case m.SetOptedOut(opted_out=flag):
                turn.customer.opted_out = flag

    new = outcome.conversation
    turn.row.state = new.state.value
    turn.row.context = new.context.to_json()
    turn.row.updated_at = now
    await _keep_session_timer(session, turn, new.state)
    await session.flush()
    for event in pending:
        ctx.emit(event)


def _deposit_request(b: Booking, customer: str, channel: str, profile: BusinessProfile,
                     amount: Decimal, what: str) -> ev.DepositRequested:
    """Ask payments for a checkout link: the held booking's next attempt."""
    return ev.DepositRequested.model_validate({
        "booking_id": b.id, "reference": b.reference, "customer": customer,
        "channel": channel, "amount": amount, "currency": profile.currency,
        "attempt": b.deposit_requests, "hold_expires_at": b.hold_expires_at,
        "description": f"{what} for {b.service} at {profile.name}"})


def booking_event(kind: type[E], b: Booking, customer: str, channel: str,
                  **extra: object) -> E:
    """A booking event carries the booking as it now is, so consumers need no lookup."""
    return kind.model_validate({
        "booking_id": b.id, "reference": b.reference, "customer": customer,
        "channel": channel, "service": b.service, "starts_at": b.starts_at,
        "ends_at": b.ends_at, "resource": b.resource, "status": b.status,
        "deposit_status": b.deposit_status, "deposit_amount": b.deposit_amount, **extra})


async def _locked(session: AsyncSession, booking_id: str) -> Booking:
    return (await session.scalars(select(Booking).where(
        Booking.id == uuid.UUID(booking_id)).with_for_update())).one()


async def _keep_session_timer(session: AsyncSession, turn: Turn, state: m.State) -> None:
    """An unfinished conversation gets a timeout timer; a finished one loses it."""
    key = f"{SESSION_TIMEOUT}:{turn.row.id}"
    if state in (m.State.IDLE, m.State.PAYMENT_PENDING):
        await timers.cancel(session, owner=OWNER, key=key)
        return
    last = turn.row.last_customer_message_at or turn.now
    due = last + timedelta(minutes=turn.profile.booking.session_timeout_minutes)
    await timers.schedule(session, owner=OWNER, kind=SESSION_TIMEOUT, key=key,
                          business_id=turn.profile.id, due_at=due,
                          payload={"conversation_id": str(turn.row.id)})


def _said(event: ev.MessageUnderstood) -> m.CustomerSaid:
    s = event.slots
    return m.CustomerSaid(intent=event.intent, text=event.text, service=s.service, date=s.date,
                          time=s.time, part_of_day=s.part_of_day)


async def _turn_for_booking(ctx: HandlerContext, booking_id: uuid.UUID) -> Turn | None:
    booking = await ctx.session.get(Booking, booking_id)
    if booking is None:
        log.warning("event for unknown booking %s ignored", booking_id)
        return None
    customer = await ctx.session.get(Customer, booking.customer_id)
    assert customer is not None
    conv = await ctx.session.scalar(select(Conversation).where(
        Conversation.customer_id == customer.id))
    channel = conv.channel if conv else "sms"
    return await open_turn(ctx, customer.address, channel)


def build_handlers() -> dict[str, Handler]:
    async def on_message_understood(ctx: HandlerContext, event: ev.MessageUnderstood) -> None:
        turn = await open_turn(ctx, event.customer, event.channel)
        turn.row.channel = event.channel
        turn.row.last_customer_message_at = ctx.clock.now()
        await play(ctx, turn, _said(event))

    async def on_checkout_created(ctx: HandlerContext, event: ev.CheckoutCreated) -> None:
        turn = await _turn_for_booking(ctx, event.booking_id)
        if turn is not None:
            await play(ctx, turn, m.CheckoutReady(str(event.booking_id), event.url, event.amount))

    async def on_payment_succeeded(ctx: HandlerContext, event: ev.PaymentSucceeded) -> None:
        turn = await _turn_for_booking(ctx, event.booking_id)
        if turn is not None:
            await play(ctx, turn, m.DepositPaid(str(event.booking_id), event.amount))

    async def on_payment_expired(ctx: HandlerContext, event: ev.PaymentExpired) -> None:
        turn = await _turn_for_booking(ctx, event.booking_id)
        if turn is not None:
            await play(ctx, turn, m.HoldLapsed(str(event.booking_id)))

    return {
        ev.MessageUnderstood.TYPE: on_message_understood,
        ev.CheckoutCreated.TYPE: on_checkout_created,
        ev.PaymentSucceeded.TYPE: on_payment_succeeded,
        ev.PaymentExpired.TYPE: on_payment_expired,
    }


async def on_timer(ctx: HandlerContext, timer: Timer) -> None:
    """A session timeout fell due: drop the conversation if the customer is still silent."""
    conversation_id = uuid.UUID(timer.payload["conversation_id"])
    conv = await ctx.session.get(Conversation, conversation_id)
    if conv is None:
        return
    customer = await ctx.session.get(Customer, conv.customer_id)
    assert customer is not None
    turn = await open_turn(ctx, customer.address, conv.channel)
    if turn.row.state in (m.State.IDLE, m.State.PAYMENT_PENDING):
        return
    await play(ctx, turn, m.SessionTimedOut())


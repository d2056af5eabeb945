"""The admin's read model: other services' tables, read for the business's staff.

admin is the one service allowed to read other services' tables (docs/admin.md, "Reads and
writes"): fsm's bookings, customers, conversations and waitlist, notifier's message log,
payments' deposits, reminders' rows. It never writes them; what staff change goes through
the owning service (`services.admin.service`). Every query here is scoped to one business.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.business.profile import BusinessProfile
from libs.contracts.vocabulary import LIVE_BOOKING_STATUSES, OFFERED
from services.admin import schemas as out
from services.fsm import availability as av
from services.fsm.blocked import blocked_between
from services.fsm.models import Booking, Conversation, Customer, TakeoverMessage
from services.notifier.models import MessageLog
from services.payments.models import Deposit

MESSAGES_SHOWN = 50


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants a local day starts and ends (23 or 25 hours on the days clocks change)."""
    start = datetime.combine(day, time(), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz)
    return start, end


def appointments(business_id: str) -> Select[Booking, Customer]:
    """The business's bookings with their customers: not a time held for a move's top-up,
    not a time offered from the waitlist (neither is an appointment)."""
    return (select(Booking, Customer).join(Customer, Customer.id == Booking.customer_id)
            .where(Booking.business_id == business_id, Booking.holds_for.is_(None),
                   Booking.status != OFFERED))


def booking_out(b: Booking, c: Customer, tz: ZoneInfo) -> out.BookingOut:
    return out.BookingOut(
        id=b.id, reference=b.reference, service=b.service, resource=b.resource,
        starts_at=b.starts_at.astimezone(tz), ends_at=b.ends_at.astimezone(tz),
        status=b.status, deposit_status=b.deposit_status, deposit_amount=b.deposit_amount,
        attendance_confirmed=b.attendance_confirmed, no_show_risk=b.no_show_risk,
        customer=customer_out(c))


def customer_out(c: Customer) -> out.CustomerOut:
    return out.CustomerOut(id=c.id, address=c.address, kept=c.kept, no_shows=c.no_shows,
                           late_cancels=c.late_cancels, opted_out=c.opted_out)


async def bookings_on(session: AsyncSession, profile: BusinessProfile, day: date, *,
                      status: str | None = None, risk: str | None = None
                      ) -> list[out.BookingOut]:
    """The bookings starting on a local day, by start and resource."""
    start, end = day_bounds(day, profile.tz)
    query = appointments(profile.id).where(Booking.starts_at >= start, Booking.starts_at < end)
    if status is not None:
        query = query.where(Booking.status == status)
    if risk is not None:
        query = query.where(Booking.no_show_risk == risk)
    rows = (await session.execute(query.order_by(Booking.starts_at, Booking.resource,
                                                 Booking.seq))).all()
    return [booking_out(b, c, profile.tz) for b, c in rows]


async def find_booking(session: AsyncSession, business_id: str, ref: str
                       ) -> tuple[Booking, Customer] | None:
    """A booking of this business by its reference (any case) or id; None for another
    business's, so it is answered exactly like one that does not exist."""
    try:
        where = Booking.id == uuid.UUID(ref)
    except ValueError:
        where = Booking.reference == ref.strip().upper()
    row = (await session.execute(appointments(business_id).where(where))).first()
    return None if row is None else (row[0], row[1])


async def find_customer(session: AsyncSession, business_id: str,
                        customer_id: uuid.UUID) -> Customer | None:
    found: Customer | None = await session.scalar(select(Customer).where(
        Customer.id == customer_id, Customer.business_id == business_id))
    return found


async def booking_detail(session: AsyncSession, profile: BusinessProfile, booking: Booking,
                         customer: Customer) -> out.BookingDetail:
    """The booking, its customer's conversation (with what they wrote while a person had it),
    the messages sent to them, and the booking's payments."""
    tz = profile.tz
    conv = await session.scalar(select(Conversation).where(
        Conversation.customer_id == customer.id))
    held = (await session.scalars(select(TakeoverMessage).where(
        TakeoverMessage.customer_id == customer.id)
        .order_by(TakeoverMessage.received_at.desc(), TakeoverMessage.id.desc())
        .limit(MESSAGES_SHOWN))).all()
    sent = (await session.scalars(select(MessageLog).where(
        MessageLog.business_id == profile.id, MessageLog.to == customer.address,
        MessageLog.audience == "customer")
        .order_by(MessageLog.seq.desc()).limit(MESSAGES_SHOWN))).all()
    # a move's top-up is paid on the row that held the new time
    holds = (await session.scalars(select(Booking.id).where(
        Booking.holds_for == booking.id))).all()
    deposits = (await session.scalars(select(Deposit).where(
        Deposit.business_id == profile.id, Deposit.booking_id.in_([booking.id, *holds]))
        .order_by(Deposit.created_at, Deposit.attempt))).all()
    conversation = None
    if conv is not None:
        conversation = out.ConversationOut(
            state=conv.state, channel=conv.channel,
            taken_over=conv.taken_over_at is not None,
            taken_over_at=conv.taken_over_at.astimezone(tz) if conv.taken_over_at else None,
            last_customer_message_at=(conv.last_customer_message_at.astimezone(tz)
                                      if conv.last_customer_message_at else None),
            received_while_taken_over=[
                out.ReceivedOut(text=m.text, channel=m.channel,
                                received_at=m.received_at.astimezone(tz))
                for m in reversed(held)])
    return out.BookingDetail(
        booking=booking_out(booking, customer, tz), conversation=conversation,
        messages=[out.MessageOut(text=m.body, channel=m.channel, purpose=m.purpose,
                                 status=m.status, at=(m.requested_at or m.created_at)
                                 .astimezone(tz))
                  for m in reversed(sent)],
        payments=[out.PaymentOut(attempt=d.attempt, amount=d.amount, currency=d.currency,
                                 status=d.status, refunded_amount=d.refunded_amount,
                                 paid_at=d.paid_at.astimezone(tz) if d.paid_at else None,
                                 created_at=d.created_at.astimezone(tz))
                  for d in deposits])


async def busy_for_move(session: AsyncSession, profile: BusinessProfile, now: datetime,
                        moving: uuid.UUID) -> list[av.Busy]:
    """What availability counts as taken when staff move `moving`: the business's live (and
    offered) bookings but that one and the time held for its own move, and its blocked
    times on every resource; as fsm's turn reads them (`World.busy_without`)."""
    horizon = now + timedelta(days=profile.booking.max_days_ahead + 2)
    rows = (await session.execute(
        select(Booking.id, Booking.holds_for, Booking.resource, Booking.starts_at,
               Booking.ends_at)
        .where(Booking.business_id == profile.id,
               Booking.status.in_((*LIVE_BOOKING_STATUSES, OFFERED)),
               Booking.ends_at > now - timedelta(days=1), Booking.starts_at < horizon))).all()
    busy: list[av.Busy] = [(resource, start, end) for bid, holds_for, resource, start, end
                           in rows if moving not in (bid, holds_for)]
    blocked = await blocked_between(session, profile.id, now - timedelta(days=1), horizon)
    return busy + av.blocked(blocked, profile.booking.capacity)


@dataclass(frozen=True)
class Lane:
    """One resource's bookings on a day (a chair, a room): the dashboard's columns."""

    resource: int
    bookings: Sequence[out.BookingOut]


def lanes(profile: BusinessProfile, bookings: Sequence[out.BookingOut]) -> list[Lane]:
    """Every resource of the business, each with its bookings in order."""
    count = max([profile.booking.capacity, *(b.resource for b in bookings)])
    return [Lane(r, [b for b in bookings if b.resource == r]) for r in range(1, count + 1)]

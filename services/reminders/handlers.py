"""reminders: plans each booking's reminders and keeps them in step with the booking
(docs/architecture.md, "Reminders"). The due ones are sent by `scheduled.dispatch_due`.

- `booking.confirmed`, `booking.rescheduled`: the booking's plan for its (new) start
  (`rules.plan`, from the business profile, as of when the event occurred); the live rows
  of any other start are cancelled.
- `booking.cancelled`, `.expired`, `.completed`, `.no_show`: its live rows are cancelled.
- `customer.opted_out`: that customer's pending rows at the business become `opted_out`,
  and so do rows planned for them while they stay opted out; `customer.opted_in`: their
  `opted_out` rows still due in the future become pending again.

**Out of order.** Events may arrive late (a retry tier) or twice. Each booking's newest
applied event is kept in `reminder_bookings` (its envelope's `occurred_at`, and its stage in
a booking's life: expired, confirmed, rescheduled, ended, which breaks ties); an event
older than it changes nothing, so a confirmation handled after its booking's cancellation
plans nothing (the kept row is the tombstone). The same for opt-outs, by their `at`.
A replayed event plans the same rows (the plan is computed as of its `occurred_at`, and
rows are upserted by booking, offset and start), so handling it again changes nothing:
booking events take no inbox row (`ctx.write(idempotent=True)`).

**Concurrency.** Every handler takes a transaction-scoped advisory lock on the business and
customer first, so two replicas never interleave one customer's bookings and opt-outs (an
opt-out racing a confirmation could otherwise leave a pending reminder behind).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import (
    ARRAY,
    Table,
    Text,
    all_,
    any_,
    bindparam,
    case,
    delete,
    exists,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from libs.bus.context import HandlerContext, HandlerMap, PermanentError
from libs.business.service import get_profile
from libs.contracts import events as ev
from libs.db.direct import Db, Direct
from libs.db.locks import lock_until_commit, xact_lock
from services.reminders import rules
from services.reminders.models import (
    LIVE_REMINDER_STATUSES,
    Reminder,
    ReminderBooking,
    ReminderOptOut,
)

log = logging.getLogger(__name__)

OWNER = "reminders"
DISPATCH_BATCH = 500


@dataclass(frozen=True)
class RemindersDeps:
    """`batch_size`: due reminders the dispatcher claims per transaction."""

    batch_size: int = DISPATCH_BATCH


REMINDERS, BOOKINGS = cast(Table, Reminder.__table__), cast(Table, ReminderBooking.__table__)

# --- the statements every booking event sends, built once ----------------------------------
# (docs/scaling.md, "Statements built once"), on the tables: no Reminder is loaded in these
# sessions, and on the mapped class an UPDATE takes the ORM's bulk path, which builds the
# statement again on every call ("What a statement costs in Python"). An update's
# parameters may not share a column's name.

_R = REMINDERS.c
_LIVE = _R.status == any_(bindparam("live", value=list(LIVE_REMINDER_STATUSES),
                                    type_=ARRAY(Text)))
"""As one array: an `IN` list is rendered again on every call, which `Direct` refuses."""
_CANCEL_LIVE = Direct.of(update(REMINDERS)
                         .where(_R.booking_id == bindparam("of_booking"), _LIVE)
                         .values(status="cancelled", reason=bindparam("why")))
_MOVED = _R.starts_at != bindparam("new_start")
_CANCEL_OTHER_PLANS = Direct.of(
    update(REMINDERS)
    .where(_R.booking_id == bindparam("of_booking"), _LIVE,
           _MOVED | (_R.offset != all_(bindparam("offsets", type_=ARRAY(Text)))))
    .values(status="cancelled", reason=case((_MOVED, "rescheduled"), else_="replanned")))
"""What was planned for another start, or for an offset no longer in the profile (`!= ALL`
of none is true, as `NOT IN` of none)."""
_OPTED_OUT_NOW = exists().where(ReminderOptOut.business_id == bindparam("business_id"),
                               ReminderOptOut.customer == bindparam("customer"),
                               ReminderOptOut.opted_out)
_NEW_REMINDER = insert(REMINDERS).values(
    id=bindparam("id", type_=_R.id.type),
    business_id=bindparam("business_id", type_=_R.business_id.type),
    booking_id=bindparam("booking_id", type_=_R.booking_id.type),
    customer=bindparam("customer", type_=_R.customer.type),
    channel=bindparam("channel", type_=_R.channel.type),
    service=bindparam("service", type_=_R.service.type),
    starts_at=bindparam("starts_at", type_=_R.starts_at.type),
    offset=bindparam("offset", type_=_R.offset.type),
    due_at=bindparam("due_at", type_=_R.due_at.type),
    reason=bindparam("skipped", type_=_R.reason.type),
    # Read in the statement: the customer's lock was taken in the one before it.
    status=case((bindparam("skipped", type_=_R.reason.type).is_not(None), "skipped"),
                (_OPTED_OUT_NOW, "opted_out"), else_="pending"))
_PLAN = Direct.of(_NEW_REMINDER.on_conflict_do_update(
    index_elements=[_R.booking_id, _R.offset, _R.starts_at],
    set_={name: _NEW_REMINDER.excluded[name]
          for name in ("customer", "channel", "service", "due_at", "status", "reason")},
    where=_R.status != "sent"))  # one already sent stays sent
_LOCKED = select(xact_lock(bindparam("lock_key"))).subquery("locked")
_NEW_STAGE = (insert(BOOKINGS)
              .from_select(["booking_id", "business_id", "event_type", "occurred_at", "stage"],
                           select(bindparam("booking_id", type_=BOOKINGS.c.booking_id.type),
                                  bindparam("business_id", type_=BOOKINGS.c.business_id.type),
                                  bindparam("event_type", type_=BOOKINGS.c.event_type.type),
                                  bindparam("occurred_at", type_=BOOKINGS.c.occurred_at.type),
                                  bindparam("stage", type_=BOOKINGS.c.stage.type))
                           .select_from(_LOCKED)))
_NEWEST = Direct.of(_NEW_STAGE.on_conflict_do_update(
    index_elements=[BOOKINGS.c.booking_id],
    set_={"event_type": _NEW_STAGE.excluded.event_type,
          "occurred_at": _NEW_STAGE.excluded.occurred_at,
          "stage": _NEW_STAGE.excluded.stage, "updated_at": func.now()},
    where=tuple_(BOOKINGS.c.occurred_at, BOOKINGS.c.stage)
    <= tuple_(_NEW_STAGE.excluded.occurred_at, _NEW_STAGE.excluded.stage),
).returning(BOOKINGS.c.booking_id))
"""The customer's lock (`_lock_customer`), then the event kept as the booking's newest
unless a newer one was applied: one statement. The lock is taken in it, so every statement
after it reads what was committed before the lock was granted."""


# --- bookings ------------------------------------------------------------------------------


async def on_booking_confirmed(ctx: HandlerContext, event: ev.BookingConfirmed,
                               deps: RemindersDeps) -> None:
    await _replan(ctx, event)


async def on_booking_rescheduled(ctx: HandlerContext, event: ev.BookingRescheduled,
                                 deps: RemindersDeps) -> None:
    await _replan(ctx, event)


async def on_booking_ended(ctx: HandlerContext, event: ev.BookingEvent,
                           deps: RemindersDeps) -> None:
    """Cancelled, expired, completed or no-show: nothing more to remind of."""
    async with ctx.write_direct(idempotent=True) as db:
        if not await _newest(db, ctx, event):
            return
        await _CANCEL_LIVE.rowcount(db, {"of_booking": event.booking_id,
                                              "why": event.status})


async def _replan(ctx: HandlerContext,
                  event: ev.BookingConfirmed | ev.BookingRescheduled) -> None:
    async with ctx.read() as session:
        profile = await get_profile(session, ctx.business_id)
    if profile is None:
        raise PermanentError(f"unknown business {ctx.business_id!r}")
    # As of when the booking was confirmed or moved, so handling it again plans the same.
    planned = rules.plan_for(profile, event.starts_at, ctx.occurred_at)
    starts_at = event.starts_at
    async with ctx.write_direct(idempotent=True) as db:
        if not await _newest(db, ctx, event):
            return
        # What was planned for another start, or for an offset no longer in the profile.
        await _CANCEL_OTHER_PLANS.rowcount(db, {
            "of_booking": event.booking_id, "new_start": starts_at,
            "offsets": [p.offset for p in planned]})
        if not planned:
            return
        rows = [{"id": uuid.uuid4(), "business_id": ctx.business_id,
                 "booking_id": event.booking_id, "customer": event.customer,
                 "channel": event.channel, "service": event.service, "starts_at": starts_at,
                 "offset": p.offset, "due_at": p.due_at, "skipped": p.skipped}
                for p in planned]
        await _PLAN.many(db, rows)


async def _newest(db: Db, ctx: HandlerContext, event: ev.BookingEvent) -> bool:
    """Under the customer's lock, record `event` as the booking's newest, unless a newer one
    was applied already. That record, not an inbox row, is what makes a booking event safe
    to apply twice: a repeat of the newest plans the same rows again (upserted), and an
    older one changes nothing."""
    applied = await _NEWEST.scalar(db, {
        "lock_key": _lock_key(ctx.business_id, event.customer),
        "booking_id": event.booking_id, "business_id": ctx.business_id,
        "event_type": event.TYPE, "occurred_at": ctx.occurred_at,
        "stage": ev.BOOKING_STAGES[type(event)]})
    if applied is None:
        log.info("%s for booking %s is older than what was applied; ignored", event.TYPE,
                 event.booking_id)
    return applied is not None


# --- opting out and back in ---------------------------------------------------------------


async def on_customer_opted_out(ctx: HandlerContext, event: ev.CustomerOptedOut,
                                deps: RemindersDeps) -> None:
    async with ctx.write() as session:
        await _lock_customer(session, ctx.business_id, event.customer)
        if not await _record_opt_out(session, ctx.business_id, event.customer, True, event.at):
            return
        await session.execute(
            update(Reminder)
            .where(Reminder.business_id == ctx.business_id, Reminder.customer == event.customer,
                   Reminder.status == "pending")
            .values(status="opted_out"))


async def on_customer_opted_in(ctx: HandlerContext, event: ev.CustomerOptedIn,
                               deps: RemindersDeps) -> None:
    async with ctx.write() as session:
        await _lock_customer(session, ctx.business_id, event.customer)
        if not await _record_opt_out(session, ctx.business_id, event.customer, False, event.at):
            return
        await session.execute(
            update(Reminder)
            .where(Reminder.business_id == ctx.business_id, Reminder.customer == event.customer,
                   Reminder.status == "opted_out", Reminder.due_at > ctx.clock.now())
            .values(status="pending"))


async def _record_opt_out(session: AsyncSession, business_id: str, customer: str,
                          opted_out: bool, at: datetime) -> bool:
    """Keep the customer's choice unless a later one was recorded already."""
    stmt = insert(ReminderOptOut).values(business_id=business_id, customer=customer,
                                         opted_out=opted_out, at=at)
    applied = await session.scalar(stmt.on_conflict_do_update(
        index_elements=[ReminderOptOut.business_id, ReminderOptOut.customer],
        set_={"opted_out": stmt.excluded.opted_out, "at": stmt.excluded.at},
        where=ReminderOptOut.at <= stmt.excluded.at)
        .returning(ReminderOptOut.customer))
    if applied is None:
        log.info("an opt-%s older than the customer's last choice; ignored",
                 "out" if opted_out else "in")
    return applied is not None


def _lock_key(business_id: str, customer: str) -> str:
    return f"{OWNER}\x1f{business_id}\x1f{customer}"


async def _lock_customer(session: AsyncSession, business_id: str, customer: str) -> None:
    """One customer's events at one business are applied one at a time (released at
    commit). Two customers whose keys hash alike merely wait for each other."""
    await lock_until_commit(session, _lock_key(business_id, customer))


# --- upkeep --------------------------------------------------------------------------------


async def prune_reminders(session: AsyncSession, cutoff: datetime) -> int:
    """Reminders done with (sent, cancelled, skipped, or opted out) that fell due before the
    cutoff; then the booking records with no reminder left whose last event is older, and
    opt-ins older than it. Opt-outs are kept: they hold until the customer opts back in."""
    removed = 0
    for stmt in (
        delete(Reminder).where(Reminder.status != "pending", Reminder.due_at < cutoff),
        delete(ReminderBooking).where(
            ReminderBooking.occurred_at < cutoff,
            ~exists().where(Reminder.booking_id == ReminderBooking.booking_id)),
        delete(ReminderOptOut).where(ReminderOptOut.opted_out.is_(False),
                                     ReminderOptOut.at < cutoff),
    ):
        result = await session.execute(stmt)
        removed += int(getattr(result, "rowcount", 0) or 0)
    return removed


HANDLERS: HandlerMap[RemindersDeps] = {
    ev.BookingConfirmed: on_booking_confirmed,
    ev.BookingRescheduled: on_booking_rescheduled,
    ev.BookingCancelled: on_booking_ended,
    ev.BookingExpired: on_booking_ended,
    ev.BookingCompleted: on_booking_ended,
    ev.BookingNoShow: on_booking_ended,
    ev.CustomerOptedOut: on_customer_opted_out,
    ev.CustomerOptedIn: on_customer_opted_in,
}

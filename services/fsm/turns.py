"""One turn of a conversation: lock it, load what the machine reads, step, apply.

The conversation row is locked (SELECT ... FOR UPDATE) for the whole turn, so two fsm
replicas never interleave one customer's messages. A booking that loses a race at the
database (the exclusion constraint) rolls the turn back and runs it again (`Conflict`),
where the machine sees the slot taken and says so with alternatives.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import uuid
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    Boolean,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    case,
    func,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from libs.bus.context import Conflict, HandlerContext, PermanentError
from libs.business.profile import BusinessProfile
from libs.business.service import get_profile
from libs.contracts import events as ev
from libs.contracts.message import Message
from libs.contracts.vocabulary import LIVE_BOOKING_STATUSES, OFFERED, Channel, Language
from libs.db.direct import Db, Direct
from libs.settings import Settings
from libs.timers import service as timer_service
from services.fsm import machine as m
from services.fsm.blocked import BLOCKED_COLUMNS, as_ranges
from services.fsm.effects import apply
from services.fsm.models import Booking, Conversation, Customer

log = logging.getLogger(__name__)

REFERENCE_ALPHABET = "ACDEFGHJKLMNPQRTUVWXY34679"
WEB_PREFIX = "web:"  # a web chat visitor's address: web:<session>


BOOKINGS, CUSTOMERS, CONVERSATIONS = (cast(Table, Booking.__table__),
                                       cast(Table, Customer.__table__),
                                       cast(Table, Conversation.__table__))
_B = BOOKINGS.c
_WORLD = Direct.of(select(
    _B.id, _B.business_id, _B.customer_id, _B.reference, _B.service, _B.resource,
    _B.starts_at, _B.ends_at, _B.status, _B.deposit_status, _B.deposit_amount, _B.paid_with,
    _B.attendance_confirmed, _B.no_show_risk, _B.holds_for,
).where(or_(
    and_(_B.business_id == bindparam("business_id"),
         _B.status == any_(bindparam("live", value=[*LIVE_BOOKING_STATUSES, OFFERED],
                                     type_=ARRAY(Text))),
         _B.ends_at > bindparam("window_start"),
         _B.starts_at < bindparam("horizon")),
    _B.customer_id == bindparam("customer_id"),
)).order_by(_B.seq))
"""The business's live bookings in the window, and this customer's own: the columns the
machine reads, not loaded bookings. Every live booking of the business comes back on every
turn, and loading each as an ORM object cost several times reading its columns; a booking
the turn changes is loaded then, locked (`effects._locked`). Through psycopg, with the live
statuses as one array: an `IN` list is rendered again on every call."""
BookingRow = Any  # one of `_WORLD`'s rows: a named tuple of the columns above
_MAKER = aliased(Customer, name="maker")
_ORIGIN = func.coalesce(bindparam("web_origin", type_=Customer.origin.type), Customer.origin)
_MADE_TODAY = (select(func.count()).select_from(Booking)
               .join(_MAKER, _MAKER.id == Booking.customer_id)
               .where(Booking.business_id == bindparam("business_id"),
                      Booking.holds_for.is_(None), Booking.status != OFFERED,
                      Booking.created_at > bindparam("day_ago"),
                      case((_ORIGIN.is_(None), _MAKER.id == Customer.id),
                           else_=_MAKER.origin == _ORIGIN))
               .scalar_subquery())
"""Bookings made in the last day from a web visitor's address (by its hash: the message's,
else the one kept), or by this customer alone when it is not known (`m.WebCaps`)."""


@dataclass
class TurnCustomer:
    """The customer a turn answers, as its opening read them. What the turn changes is
    written with the outcome (`effects.apply`), the counters as increments: staff marking a
    booking (`staff.mark_booking`) may change them at the same time."""

    id: uuid.UUID
    address: str
    language: Language
    origin: str | None
    opted_out: bool
    no_shows: int
    kept: int
    late_cancels: int


@dataclass
class TurnConversation:
    """The turn's conversation row, locked by its opening; written with the outcome
    (`effects.apply`)."""

    id: uuid.UUID
    channel: Channel
    state: str
    context: dict[str, Any]
    last_customer_message_at: datetime | None
    whatsapp_received_at: datetime | None
    taken_over_at: datetime | None
    released_at: datetime | None


_C, _V = CUSTOMERS.c, CONVERSATIONS.c
_CUSTOMER_COLUMNS = len(fields(TurnCustomer))
_OPEN_TURN = Direct.of(
    select(*(_C[f.name] for f in fields(TurnCustomer)),
           *(_V[f.name].label(f"conversation_{f.name}") for f in fields(TurnConversation)),
           *BLOCKED_COLUMNS, case((bindparam("web", type_=Boolean), _MADE_TODAY), else_=None))
    .join(CONVERSATIONS, _V.customer_id == _C.id)
    .where(_C.business_id == bindparam("business_id"), _C.address == bindparam("address"))
    .with_for_update(of=CONVERSATIONS))
"""A known customer, their conversation (locked for the turn), the blocked times, and for a
web chat visitor the bookings made from their address today: columns, not loaded objects
(`TurnCustomer`, `TurnConversation`), through psycopg."""
_NEW_CUSTOMER = (insert(CUSTOMERS)
                 .values(id=bindparam("customer_id"), business_id=bindparam("business_id"),
                         address=bindparam("address"))
                 .on_conflict_do_nothing(index_elements=[CUSTOMERS.c.business_id,
                                                         CUSTOMERS.c.address])
                 .returning(CUSTOMERS.c.id)
                 .cte("new_customer"))
_CUSTOMER_ID = union_all(
    select(_NEW_CUSTOMER.c.id),
    select(CUSTOMERS.c.id).where(CUSTOMERS.c.business_id == bindparam("business_id"),
                                 CUSTOMERS.c.address == bindparam("address"))).subquery()
_FIRST_CONTACT = Direct.of(insert(CONVERSATIONS)
                  .from_select(["id", "customer_id", "business_id", "channel"],
                               select(bindparam("conversation_id", type_=CONVERSATIONS.c.id.type),
                                      _CUSTOMER_ID.c.id,
                                      bindparam("business_id",
                                                type_=CONVERSATIONS.c.business_id.type),
                                      bindparam("channel", type_=CONVERSATIONS.c.channel.type)))
                  .on_conflict_do_nothing(index_elements=[CONVERSATIONS.c.customer_id]))
"""A customer's conversation, and the customer too when they write for the first time, in
one statement. The customer row is the one inserted or the one there already (a statement
does not see its own insert, so one of the two is empty); nothing when another turn is
creating both at the same moment (its commit is awaited, and the next statement sees it)."""
# All are built once: building a statement cost more CPU than sending it (docs/scaling.md,
# "Statements built once").


def new_reference() -> str:
    """A booking reference a customer can read out: no 0/O, 1/I, 2/Z, 5/S, 8/B."""
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


@dataclass(frozen=True)
class WebLimits:
    """What an unverified web chat visitor may book (`WEBCHAT_MAX_LIVE_BOOKINGS`,
    `WEBCHAT_MAX_BOOKINGS_PER_IP`); the machine refuses beyond it (`m.WebCaps`)."""

    max_live: int = 2
    max_per_day: int = 4

    @classmethod
    def from_settings(cls, settings: Settings) -> WebLimits:
        return cls(max_live=settings.webchat_max_live_bookings,
                   max_per_day=settings.webchat_max_bookings_per_ip)


@dataclass
class Turn:
    """One locked conversation and what the machine needs to step it. The customer and the
    conversation are rows read with the turn's opening, not objects the ORM flushes: every
    turn writes the conversation, and the ORM's unit of work cost more CPU than the
    statement (docs/scaling.md, "The ORM's unit of work")."""

    db: Db
    """The turn's transaction: a pooled connection (`HandlerContext.write_direct`), or a
    session for a handler that also changes ORM objects."""
    profile: BusinessProfile
    customer: TurnCustomer
    row: TurnConversation
    now: datetime
    blocked: list[tuple[datetime, datetime]]
    """The business's blocked times in the window, read with the turn's opening."""
    emitted: list[Message] = field(default_factory=list)
    web_limits: WebLimits | None = None  # set for a web chat visitor's own message
    made_today: int | None = None
    """A web chat visitor's bookings of the last day, when read with the turn's opening."""
    moving: set[uuid.UUID] = field(default_factory=set)
    """This customer's bookings that have a held new time (a move waiting on its top-up),
    as the world read them: only these have a hold to let go."""
    timers: timer_service.TimerChanges = field(default_factory=timer_service.TimerChanges)
    """fsm's timers this turn sets and drops, written with the outcome (`effects.apply`)."""
    customer_wrote: bool = False
    """The turn answers the customer's message: their silence counts from now (written
    with the outcome, `effects.apply`)."""
    customer_as_read: TurnCustomer = field(init=False)
    """The customer as the opening read them, to write only what the turn changed."""

    def __post_init__(self) -> None:
        self.customer_as_read = replace(self.customer)

    @property
    def channel(self) -> Channel:
        return self.row.channel


    @property
    def conversation(self) -> m.Conversation:
        return m.Conversation(m.State(self.row.state), m.Context.from_json(self.row.context))

    async def world(self) -> m.World:
        """What the machine reads, in one query: the business's live bookings in the
        horizon together with this customer's own (the blocked times came with the turn's
        opening). Nothing changed in this turn so far is flushed first: it is written with
        the outcome."""
        window_start, horizon = window(self.profile, self.now)
        with _no_autoflush(self.db):
            found = await _WORLD.all(self.db, {
                "business_id": self.profile.id, "window_start": window_start,
                "horizon": horizon, "customer_id": self.customer.id})
            web_caps = self._web_caps()
        # A time offered to this customer from the waitlist is theirs to take: not busy for
        # them, and not one of their bookings.
        live = [b for b in found
                if b.business_id == self.profile.id
                and b.status in (*LIVE_BOOKING_STATUSES, OFFERED)
                and b.ends_at > window_start and b.starts_at < horizon
                and not (b.status == OFFERED and b.customer_id == self.customer.id)]
        rows = [b for b in found if b.customer_id == self.customer.id and b.status != OFFERED]
        moves = {b.holds_for: b for b in rows if b.holds_for is not None}
        self.moving = set(moves)
        return m.World(
            profile=self.profile, now=self.now,
            busy=[m.Held(booking_id=b.id, resource=b.resource, start=b.starts_at,
                         end=b.ends_at, holds_for=b.holds_for) for b in live],
            bookings=[_view(b, moves.get(b.id)) for b in rows if b.holds_for is None],
            customer=self.customer.address, opted_out=self.customer.opted_out,
            web_caps=web_caps,
            next_booking_id=uuid.uuid4(), next_reference=new_reference(),
            extra_booking_id=uuid.uuid4(), extra_reference=new_reference(),
            blocked=self.blocked, taken_over=self.row.taken_over_at is not None,
            language=self.customer.language)

    def _web_caps(self) -> m.WebCaps | None:
        """A web visitor's caps, with the bookings made in the last 24 hours from their
        address (read with the turn's opening, `_MADE_TODAY`)."""
        if self.web_limits is None:
            return None
        if self.made_today is None:
            raise RuntimeError("a web visitor's turn opened without counting their bookings "
                               "(open_turn(customer_said=True))")
        return m.WebCaps(max_live=self.web_limits.max_live,
                         max_per_day=self.web_limits.max_per_day, made_today=self.made_today)


def _no_autoflush(db: Db) -> contextlib.AbstractContextManager[Any]:
    """A session's ORM objects stay unwritten for the block (a pooled connection has none)."""
    return db.no_autoflush if isinstance(db, AsyncSession) else contextlib.nullcontext()


def window(profile: BusinessProfile, now: datetime) -> tuple[datetime, datetime]:
    """What a turn reads of the business's calendar: from a day back (an appointment under
    way) to the booking horizon and two days more (zones and appointments that end late)."""
    return now - timedelta(days=1), now + timedelta(days=profile.booking.max_days_ahead + 2)


def web_visitor(turn: Turn, message: ev.MessageUnderstood | ev.MessageUnderstoodV1,
                limits: WebLimits) -> None:
    """A web chat customer is anyone who opened a session: note the hash of the address they
    write from (ingress's `origin`) and cap what they may book."""
    if not turn.customer.address.startswith(WEB_PREFIX):
        return
    if isinstance(message, ev.MessageUnderstood) and message.origin:
        turn.customer.origin = message.origin
    turn.web_limits = limits


def _view(b: BookingRow, move: BookingRow | None) -> m.BookingView:
    return m.BookingView(
        id=b.id, reference=b.reference, service=b.service, start=b.starts_at, end=b.ends_at,
        status=b.status, deposit_status=b.deposit_status, deposit_amount=b.deposit_amount,
        resource=b.resource, paid_with=b.paid_with,
        attendance_confirmed=b.attendance_confirmed, no_show_risk=b.no_show_risk,
        move=None if move is None else m.MoveView(
            hold_id=move.id, start=move.starts_at, end=move.ends_at, resource=move.resource,
            top_up=move.deposit_amount or Decimal(0), status=move.status))


async def open_turn(db: Db, ctx: HandlerContext, customer_address: str,
                    channel: Channel, *, customer_said: bool = False,
                    web_origin: str | None = None) -> Turn:
    """Find or create the customer and conversation, and lock the conversation row: one
    statement for a customer we know (nearly every turn). `customer_said`: the turn answers
    the customer's own message (their silence counts from now); for a web chat visitor it
    also counts what they booked today (`web_origin`: the hash of the address the message
    came from, when it said)."""
    business_id = ctx.business_id
    profile = await get_profile(db, business_id)
    if profile is None:
        raise PermanentError(f"unknown business {business_id!r}")
    now = ctx.clock.now()
    window_start, horizon = window(profile, now)
    opening = {"business_id": business_id, "address": customer_address,
               "window_start": window_start, "horizon": horizon,
               "web": customer_said and customer_address.startswith(WEB_PREFIX),
               "web_origin": web_origin or None,
               "day_ago": now - timedelta(days=1)}
    for _ in range(3):
        known = await _OPEN_TURN.first(db, opening)
        if known is not None:
            break
        await _FIRST_CONTACT.rowcount(db, {  # a first message: create, then open
            "customer_id": uuid.uuid4(), "conversation_id": uuid.uuid4(),
            "business_id": business_id, "address": customer_address, "channel": channel})
    else:
        raise RuntimeError(f"no conversation could be opened for a customer of {business_id}")
    *columns, starts, ends, made_today = known
    return Turn(db, profile, TurnCustomer(*columns[:_CUSTOMER_COLUMNS]),
                TurnConversation(*columns[_CUSTOMER_COLUMNS:]), now, as_ranges(starts, ends),
                made_today=made_today, customer_wrote=customer_said)


_CUSTOMER_OF_BOOKING = Direct.of(
    select(Customer.address, Conversation.channel).select_from(Booking)
    .join(Customer, Customer.id == Booking.customer_id)
    .outerjoin(Conversation, Conversation.customer_id == Customer.id)
    .where(Booking.id == bindparam("booking_id")))


async def open_turn_for_booking(db: Db, ctx: HandlerContext,
                                booking_id: uuid.UUID) -> Turn | None:
    """The turn of the customer a booking belongs to (payments and timers speak of
    bookings, not customers)."""
    found = await _CUSTOMER_OF_BOOKING.first(db, {"booking_id": booking_id})
    if found is None:
        log.warning("message for unknown booking %s ignored", booking_id)
        return None
    address, channel = found
    return await open_turn(db, ctx, address, channel or "sms")


async def play(ctx: HandlerContext, turn: Turn, said: m.Input, *,
               last: bool = False) -> m.Outcome:
    """Step the machine and apply the outcome. A time the exclusion constraint refuses (a
    replica booked it since the world was read) is a `Conflict`: the handler's transaction
    rolls back whole and it runs again, where the machine sees the time taken. No savepoint,
    so a turn that books pays no extra round trips for the race it almost never loses.
    `last`: the turn is the handler's last work in its transaction (nothing reads the
    conversation after it), so its conversation is written with the claim
    (`HandlerContext.write_last`)."""
    outcome = m.step(turn.conversation, said, await turn.world())
    try:
        await apply(turn, outcome, write_last=ctx.write_last if last else None)
    except IntegrityError as exc:
        if "no_overlapping_live_bookings" not in str(exc):
            raise
        log.info("booking lost a race at the database; trying again with fresh data")
        raise Conflict("a time this turn took was booked by another turn") from exc
    for message in turn.emitted:
        ctx.emit(message)
    return outcome

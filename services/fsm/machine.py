"""The conversation state machine: a pure function over an explicit transition table.

    step(conversation, input, world) -> Outcome(conversation', effects)

`world` is everything the machine may read (the business, now, who is busy when, this
customer's bookings), loaded by the handler before the turn; `effects` are what the handler
does after it (store a booking, send a reply, alert staff). No I/O happens in here.

Every (state, input) pair has an entry in `TRANSITIONS`; `diagram()` prints the table as a
Mermaid state diagram.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from libs.business.deposits import deposit_for
from libs.business.profile import BusinessProfile, Service
from services.fsm import availability as av
from services.fsm import replies

LOOP_LIMIT = 3


class State(StrEnum):
    IDLE = "IDLE"
    COLLECTING = "COLLECTING"
    CONFIRMING = "CONFIRMING"
    PAYMENT_PENDING = "PAYMENT_PENDING"
    RESCHEDULE_COLLECTING = "RESCHEDULE_COLLECTING"
    RESCHEDULE_CONFIRM = "RESCHEDULE_CONFIRM"
    CANCEL_CONFIRM = "CANCEL_CONFIRM"


# --- what the machine reads ----------------------------------------------------------------


@dataclass(frozen=True)
class BookingView:
    """One of this customer's bookings, as the machine needs to see it."""

    id: uuid.UUID
    reference: str
    service: str
    start: datetime
    end: datetime
    status: str
    deposit_status: str
    deposit_amount: Decimal | None
    resource: int
    deposit_paid: Decimal | None = None  # paid before a reschedule asked for a top-up


@dataclass(frozen=True)
class Held:
    """A live booking at the business: who holds which resource when."""

    booking_id: uuid.UUID
    resource: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class World:
    profile: BusinessProfile
    now: datetime
    busy: Sequence[Held]
    bookings: Sequence[BookingView] = ()
    customer: str = ""
    opted_out: bool = False
    # Identity for a booking this turn may create (chosen outside, so the machine stays pure).
    next_booking_id: uuid.UUID = field(default_factory=uuid.uuid4)
    next_reference: str = ""

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.profile.tz)

    def upcoming(self) -> list[BookingView]:
        return sorted((b for b in self.bookings
                       if b.status in ("held", "confirmed") and b.start > self.now),
                      key=lambda b: b.start)

    def booking(self, booking_id: str | None) -> BookingView | None:
        return next((b for b in self.bookings if str(b.id) == booking_id), None)

    def busy_without(self, booking_id: str | None = None) -> list[av.Busy]:
        """Live bookings as availability reads them, leaving out the one being moved."""
        return [(b.resource, b.start, b.end) for b in self.busy
                if str(b.booking_id) != booking_id]


# --- inputs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerSaid:
    intent: str
    text: str = ""
    service: str | None = None
    date: date | None = None
    time: time | None = None
    part_of_day: str | None = None

    @property
    def kind(self) -> str:
        return self.intent

    def has_slots(self) -> bool:
        return any(v is not None for v in (self.service, self.date, self.time, self.part_of_day))


@dataclass(frozen=True)
class SessionTimedOut:
    kind: str = "session_timeout"


@dataclass(frozen=True)
class CheckoutReady:
    booking_id: str
    url: str
    amount: Decimal
    kind: str = "checkout_ready"


@dataclass(frozen=True)
class DepositPaid:
    booking_id: str
    amount: Decimal
    kind: str = "deposit_paid"


@dataclass(frozen=True)
class HoldLapsed:
    booking_id: str
    kind: str = "hold_lapsed"


Input = CustomerSaid | SessionTimedOut | CheckoutReady | DepositPaid | HoldLapsed

INTENTS = ("book", "inform", "affirm", "deny", "cancel", "reschedule", "status", "faq_hours",
           "faq_location", "faq_services", "faq_prices", "human", "greeting", "thanks",
           "opt_out", "opt_in", "unknown")
SYSTEM_INPUTS = ("session_timeout", "checkout_ready", "deposit_paid", "hold_lapsed")


# --- the conversation's memory ---------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    """What the customer has asked for so far (business-local date and time)."""

    service: str | None = None
    date: date | None = None
    time: time | None = None
    part_of_day: str | None = None

    def merged(self, said: CustomerSaid, profile: BusinessProfile) -> Draft:
        """A new service, date or time replaces the old one; a new date keeps the time."""
        draft = self
        if said.service is not None and profile.service_by_name(said.service) is not None:
            draft = replace(draft, service=profile.service_by_name(said.service).name)  # type: ignore[union-attr]
        if said.date is not None:
            draft = replace(draft, date=said.date)
        if said.time is not None:
            draft = replace(draft, time=said.time, part_of_day=None)
        elif said.part_of_day is not None:
            draft = replace(draft, time=None, part_of_day=said.part_of_day)
        return draft


@dataclass(frozen=True)
class Context:
    draft: Draft = field(default_factory=Draft)
    proposal: datetime | None = None      # local start being proposed
    booking_id: str | None = None         # the booking being paid, moved or cancelled
    candidates: tuple[str, ...] = ()      # bookings to choose from ("which one?")
    misses: int = 0                       # messages in a row the machine could not use

    def to_json(self) -> dict[str, Any]:
        d = self.draft
        return {
            "draft": {"service": d.service, "date": d.date.isoformat() if d.date else None,
                      "time": d.time.isoformat("minutes") if d.time else None,
                      "part_of_day": d.part_of_day},
            "proposal": self.proposal.isoformat() if self.proposal else None,
            "booking_id": self.booking_id,
            "candidates": list(self.candidates),
            "misses": self.misses,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Context:
        d = data.get("draft") or {}
        return cls(
            draft=Draft(service=d.get("service"),
                        date=date.fromisoformat(d["date"]) if d.get("date") else None,
                        time=time.fromisoformat(d["time"]) if d.get("time") else None,
                        part_of_day=d.get("part_of_day")),
            proposal=datetime.fromisoformat(data["proposal"]) if data.get("proposal") else None,
            booking_id=data.get("booking_id"),
            candidates=tuple(data.get("candidates") or ()),
            misses=int(data.get("misses") or 0),
        )


@dataclass(frozen=True)
class Conversation:
    state: State = State.IDLE
    context: Context = field(default_factory=Context)


# --- effects ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    text: str


@dataclass(frozen=True)
class AlertStaff:
    text: str


@dataclass(frozen=True)
class CreateBooking:
    """Store a booking: `held` with a pending deposit when `deposit` > 0, else `confirmed`."""

    service: str
    start: datetime
    end: datetime
    resource: int
    deposit: Decimal
    booking_id: uuid.UUID
    reference: str


@dataclass(frozen=True)
class ConfirmBooking:
    """A held (or, for a late payment, expired) booking's deposit was paid."""

    booking_id: str
    resource: int


@dataclass(frozen=True)
class ExpireBooking:
    booking_id: str


@dataclass(frozen=True)
class RefundLatePayment:
    booking_id: str
    amount: Decimal


@dataclass(frozen=True)
class RescheduleBooking:
    booking_id: str
    start: datetime
    end: datetime
    resource: int
    top_up: Decimal


@dataclass(frozen=True)
class CancelBooking:
    booking_id: str
    refund: bool


@dataclass(frozen=True)
class SetOptedOut:
    opted_out: bool


Effect = (Reply | AlertStaff | CreateBooking | ConfirmBooking | ExpireBooking | RefundLatePayment
          | RescheduleBooking | CancelBooking | SetOptedOut)


@dataclass(frozen=True)
class Outcome:
    conversation: Conversation
    effects: tuple[Effect, ...] = ()


# --- the table -------------------------------------------------------------------------------

Rule = Callable[[Conversation, Any, World], Outcome]


@dataclass(frozen=True)
class Transition:
    rule: Rule
    targets: tuple[State, ...]
    label: str


def _goto(state: State, ctx: Context, *effects: Effect) -> Outcome:
    return Outcome(Conversation(state, ctx), tuple(effects))


def _fresh(*effects: Effect) -> Outcome:
    return Outcome(Conversation(), tuple(effects))


def _stay(conv: Conversation, *effects: Effect) -> Outcome:
    return Outcome(replace(conv, context=replace(conv.context, misses=0)), tuple(effects))


# -- prompts: what the conversation is waiting for, re-asked after a digression ---------------

def prompt(conv: Conversation, world: World) -> str | None:
    ctx, profile = conv.context, world.profile
    if conv.state in (State.CONFIRMING, State.RESCHEDULE_CONFIRM) and ctx.proposal is not None:
        return "Shall I go ahead? Reply yes or no."
    if conv.state in (State.COLLECTING, State.RESCHEDULE_COLLECTING):
        if ctx.draft.service is None:
            return replies.ask_service(profile)
        if ctx.draft.date is None:
            return replies.ask_day(ctx.draft.service)
        return "What time would you like?"
    if conv.state == State.CANCEL_CONFIRM:
        return "Reply yes to cancel or no to keep it." if ctx.booking_id else \
            "Which appointment should I cancel?"
    if conv.state == State.PAYMENT_PENDING:
        booking = world.booking(ctx.booking_id)
        if booking is not None:
            return replies.waiting_for_payment(profile, booking.service,
                                               world.local(booking.start), booking.deposit_amount)
    return None


def _with_prompt(text: str, conv: Conversation, world: World) -> str:
    follow = prompt(conv, world)
    return f"{text} {follow}" if follow else text


# -- digressions: answered wherever the conversation is -------------------------------------

def answer_faq(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    profile = world.profile
    service = profile.service_by_name(said.service) if said.service else None
    topic = replies.faq_topic(profile, said.text)
    if said.intent == "faq_hours":
        text = replies.hours(profile, said.date)
    elif said.intent == "faq_location":
        text = replies.location(profile, said.text)
    elif said.intent == "faq_prices":
        text = replies.prices(profile, service)
    else:
        text = topic or replies.services(profile, service)
    if conv.state == State.IDLE:
        return _stay(conv, Reply(text))
    return _stay(conv, Reply(_with_prompt(text, conv, world)))


def answer_status(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    lines = [(b.service, world.local(b.start),
              "confirmed" if b.status == "confirmed" else "on hold until the deposit is paid")
             for b in world.upcoming()]
    text = replies.status(lines)
    return _stay(conv, Reply(text if conv.state == State.IDLE
                             else _with_prompt(text, conv, world)))


def greet(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    text = replies.greeting(world.profile)
    if conv.state != State.IDLE:
        text = _with_prompt(f"Hi! This is {world.profile.name}.", conv, world)
    return _stay(conv, Reply(text))


def welcome(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    text = replies.thanks()
    return _stay(conv, Reply(text if conv.state in (State.IDLE, State.PAYMENT_PENDING)
                             else _with_prompt(text, conv, world)))


def hand_to_person(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    alert = AlertStaff(replies.staff_alert_person(world.profile, world.customer,
                                                  "asked to talk to a person"))
    keep = conv.state == State.PAYMENT_PENDING
    return (_stay(conv, Reply(replies.person(world.profile)), alert) if keep
            else _fresh(Reply(replies.person(world.profile)), alert))


def opt_out(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    return _fresh(SetOptedOut(True), Reply(replies.opted_out(world.profile)))


def opt_in(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    return _stay(conv, SetOptedOut(False), Reply(replies.opted_in(world.profile)))


def not_understood(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    misses = conv.context.misses + 1
    if misses >= LOOP_LIMIT:
        alert = AlertStaff(replies.staff_alert_person(
            world.profile, world.customer, "could not be understood after 3 messages"))
        if conv.state == State.PAYMENT_PENDING:
            return _goto(conv.state, replace(conv.context, misses=0),
                         Reply(replies.handoff(world.profile)), alert)
        return _fresh(Reply(replies.handoff(world.profile)), alert)
    return _goto(conv.state, replace(conv.context, misses=misses),
                 Reply(replies.not_understood(prompt(conv, world))))


def stray_yes_no(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    return _stay(conv, Reply(replies.stray_yes_no()))


def reprompt(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    return _stay(conv, Reply(prompt(conv, world) or replies.stray_yes_no()))


# -- booking a new appointment ---------------------------------------------------------------

def start_booking(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    draft = Draft().merged(said, world.profile)
    return advance(Conversation(State.COLLECTING, Context(draft=draft)), world)


def collect(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    if not said.has_slots():
        return reprompt(conv, said, world)
    draft = conv.context.draft.merged(said, world.profile)
    ctx = replace(conv.context, draft=draft, proposal=None, misses=0)
    state = (State.RESCHEDULE_COLLECTING if conv.state in (
        State.RESCHEDULE_COLLECTING, State.RESCHEDULE_CONFIRM) else State.COLLECTING)
    return advance(Conversation(state, ctx), world)


def advance(conv: Conversation, world: World) -> Outcome:
    """Ask for what is missing, answer a vague time with free times, or check and propose."""
    profile, ctx = world.profile, conv.context
    draft = ctx.draft
    moving = conv.state in (State.RESCHEDULE_COLLECTING, State.RESCHEDULE_CONFIRM)
    collecting = State.RESCHEDULE_COLLECTING if moving else State.COLLECTING
    confirming = State.RESCHEDULE_CONFIRM if moving else State.CONFIRMING
    if draft.service is None:
        return _goto(collecting, ctx, Reply(replies.ask_service(profile)))
    service = profile.service_by_name(draft.service)
    assert service is not None  # drafts only hold catalog names
    if draft.date is None:
        return _goto(collecting, ctx, Reply(replies.ask_day(service.name)))
    busy = world.busy_without(ctx.booking_id if moving else None)

    day_problem = _day_refusal(profile, service, draft.date, world.now)
    if day_problem is not None:
        start = _local_start(profile, draft.date, draft.time or time(12, 0))
        return _refuse(collecting, ctx, world, service, start, day_problem, busy)
    if draft.time is None:
        window = draft.part_of_day
        if window in av.PARTS_OF_DAY:
            free = av.free_starts_in_window(profile, service, draft.date, window,
                                            world.now, busy, limit=4)
            text = replies.window_times(service.name, draft.date, str(window), free)
        else:
            free = av.free_starts_on_day(profile, service, draft.date, world.now, busy, limit=4)
            text = replies.ask_time(service.name, draft.date, free)
        return _goto(collecting, ctx, Reply(text))

    start = _local_start(profile, draft.date, draft.time)
    verdict = av.check(profile, service, start, world.now, busy)
    if not verdict.ok:
        return _refuse(collecting, ctx, world, service, start, verdict.reason, busy)
    start = verdict.start
    proposed = replace(ctx, proposal=start, misses=0)
    if moving:
        booking = world.booking(ctx.booking_id)
        top_up = _top_up(profile, service, start, booking)
        return _goto(confirming, proposed,
                     Reply(replies.confirm_move(profile, service.name, start, top_up)))
    deposit = deposit_for(profile, service, start)
    return _goto(confirming, proposed,
                 Reply(replies.proposal(profile, service.name, start, deposit)))


def _refuse(state: State, ctx: Context, world: World, service: Service, start: datetime,
            reason: str, busy: Sequence[av.Busy]) -> Outcome:
    """Say why, offer the nearest free times, keep what still holds (spec "Refusals")."""
    alternatives = av.nearest_free_starts(world.profile, service, start, world.now, busy,
                                          limit=3)
    about_the_day = reason in av.DATE_REASONS or (
        reason == "in_the_past" and start.date() < world.local(world.now).date())
    draft = replace(ctx.draft, time=None, part_of_day=None,
                    date=None if about_the_day else ctx.draft.date)
    text = replies.refusal(world.profile, reason, service.name, start, alternatives)
    return _goto(state, replace(ctx, draft=draft, proposal=None, misses=0), Reply(text))


def _day_refusal(profile: BusinessProfile, service: Service, day: date,
                 now: datetime) -> str | None:
    """Why nothing at all can be booked on `day`, if so. Availability checks the day before the
    time of day, so asking about the day's last minute yields exactly the date-level reasons."""
    verdict = av.check(profile, service, datetime.combine(day, time(23, 59)), now, [])
    if verdict.ok or not (verdict.reason in av.DATE_REASONS or verdict.reason == "in_the_past"):
        return None
    return verdict.reason


def _local_start(profile: BusinessProfile, day: date, at: time) -> datetime:
    """A naive business-local wall time: availability resolves DST gaps and folds."""
    return datetime.combine(day, at)


def accept_proposal(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    """Re-check against who is busy *now*: a lost race is "just taken" plus alternatives."""
    profile, ctx = world.profile, conv.context
    service = profile.service_by_name(ctx.draft.service or "")
    if service is None or ctx.proposal is None:
        return advance(Conversation(State.COLLECTING, ctx), world)
    busy = world.busy_without()
    verdict = av.check(profile, service, ctx.proposal, world.now, busy)
    if not verdict.ok:
        reason = "taken" if verdict.reason == "fully_booked" else verdict.reason
        return _refuse(State.COLLECTING, ctx, world, service, ctx.proposal, reason, busy)
    start = verdict.start
    deposit = deposit_for(profile, service, start)
    create = CreateBooking(service=service.name, start=verdict.start_utc, end=verdict.end_utc,
                           resource=verdict.resource, deposit=deposit,
                           booking_id=world.next_booking_id, reference=world.next_reference)
    if deposit:
        # The reply (with the checkout link) is sent when payments has made the link.
        return _goto(State.PAYMENT_PENDING, Context(booking_id=str(world.next_booking_id)),
                     create)
    return _fresh(create, Reply(replies.booked(service.name, start, world.next_reference)))


def decline_proposal(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    if said.has_slots():
        return collect(conv, said, world)
    draft = replace(conv.context.draft, time=None, part_of_day=None)
    return _goto(State.COLLECTING, replace(conv.context, draft=draft, proposal=None, misses=0),
                 Reply(replies.proposal_declined()))


def drop_request(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    return _fresh(Reply(replies.request_dropped()))


def cancel_while_collecting(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    """Without a booking yet, "cancel" drops the request; with upcoming ones, it means them."""
    if world.upcoming():
        return start_cancel(Conversation(), said, world)
    return drop_request(conv, said, world)


def reschedule_while_collecting(conv: Conversation, said: CustomerSaid,
                                world: World) -> Outcome:
    """"Move it to Friday" before anything is booked is a correction of the request."""
    if world.upcoming():
        return start_reschedule(Conversation(), said, world)
    return collect(conv, said, world)


# -- payments -----------------------------------------------------------------------------------

def send_checkout(conv: Conversation, event: CheckoutReady, world: World) -> Outcome:
    booking = world.booking(event.booking_id)
    if booking is None or booking.status != "held":
        return Outcome(conv)
    hold_until = world.local(world.now + timedelta(minutes=world.profile.deposits.hold_minutes))
    text = replies.checkout(world.profile, booking.service, world.local(booking.start),
                            event.amount, event.url, hold_until)
    ctx = Context(booking_id=event.booking_id) if conv.state in (
        State.IDLE, State.PAYMENT_PENDING) else conv.context
    state = State.PAYMENT_PENDING if conv.state == State.IDLE else conv.state
    return _goto(state, ctx, Reply(text))


def deposit_paid(conv: Conversation, event: DepositPaid, world: World) -> Outcome:
    booking = world.booking(event.booking_id)
    if booking is None or booking.deposit_status == "paid":
        return Outcome(conv)
    done = conv.state == State.PAYMENT_PENDING and conv.context.booking_id == event.booking_id
    after = Conversation() if done else conv
    start = world.local(booking.start)
    if booking.status == "held":
        return Outcome(after, (ConfirmBooking(event.booking_id, booking.resource),
                               Reply(replies.deposit_received(booking.service, start,
                                                              booking.reference))))
    if booking.status == "expired":  # a late payment: confirm only if the slot is still free
        resource = av.free_resource(world.profile, booking.start, booking.end,
                                    world.busy_without(event.booking_id))
        if resource is not None:
            return Outcome(after, (ConfirmBooking(event.booking_id, resource),
                                   Reply(replies.deposit_received(booking.service, start,
                                                                  booking.reference))))
        return Outcome(after, (
            RefundLatePayment(event.booking_id, event.amount),
            Reply(replies.late_payment_refunded(world.profile, booking.service, start,
                                                event.amount)),
            AlertStaff(replies.staff_late_refund(world.customer, booking.service, start))))
    return Outcome(conv)


def hold_lapsed(conv: Conversation, event: HoldLapsed, world: World) -> Outcome:
    booking = world.booking(event.booking_id)
    if booking is None or booking.status != "held":
        return Outcome(conv)
    done = conv.state == State.PAYMENT_PENDING and conv.context.booking_id == event.booking_id
    return Outcome(Conversation() if done else conv, (
        ExpireBooking(event.booking_id),
        Reply(replies.hold_expired(world.profile, booking.service, world.local(booking.start),
                                   booking.deposit_paid))))


def cancel_held(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    booking = world.booking(conv.context.booking_id)
    if booking is None:
        return start_cancel(Conversation(), said, world)
    return _confirm_cancel_of(booking, world)


# -- cancelling -------------------------------------------------------------------------------

def _refund_due(booking: BookingView, world: World) -> bool:
    hours = world.profile.cancellation.free_until_hours
    return booking.start - world.now >= timedelta(hours=hours)


def _confirm_cancel_of(booking: BookingView, world: World) -> Outcome:
    paid = booking.deposit_amount if booking.deposit_status == "paid" else None
    text = replies.confirm_cancel(world.profile, booking.service, world.local(booking.start),
                                  paid, _refund_due(booking, world))
    return _goto(State.CANCEL_CONFIRM, Context(booking_id=str(booking.id)), Reply(text))


def _pick(options: Sequence[BookingView], said: CustomerSaid,
          world: World) -> BookingView | None:
    """The booking a message points at: by its date, its time, or its number in a list."""
    matches = list(options)
    if said.date is not None:
        matches = [b for b in matches if world.local(b.start).date() == said.date]
    if said.time is not None:
        matches = [b for b in matches if world.local(b.start).time() == said.time]
    if said.service is not None:
        service = world.profile.service_by_name(said.service)
        by_service = [b for b in matches if service and b.service == service.name]
        matches = by_service or matches
    if len(options) == 1:
        return options[0]
    if len(matches) == 1 and said.has_slots():
        return matches[0]
    digits = [int(w) for w in said.text.replace(")", " ").split() if w.isdigit()]
    if len(digits) == 1 and 1 <= digits[0] <= len(options):
        return options[digits[0] - 1]
    return None


def start_cancel(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    upcoming = world.upcoming()
    if not upcoming:
        return _fresh(Reply(replies.nothing_to_change("cancel")))
    chosen = _pick(upcoming, said, world)
    if chosen is not None:
        return _confirm_cancel_of(chosen, world)
    return _goto(State.CANCEL_CONFIRM, Context(candidates=tuple(str(b.id) for b in upcoming)),
                 Reply(replies.which_booking("cancel", [(b.service, world.local(b.start))
                                                        for b in upcoming])))


def choose_or_confirm_cancel(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    ctx = conv.context
    if ctx.booking_id is None:
        options = [b for b in world.upcoming() if str(b.id) in ctx.candidates]
        chosen = _pick(options, said, world)
        if chosen is None:
            return reprompt(conv, said, world)
        return _confirm_cancel_of(chosen, world)
    if said.intent in ("affirm", "cancel") and not said.has_slots():
        booking = world.booking(ctx.booking_id)
        if booking is None or booking.status not in ("held", "confirmed"):
            return _fresh(Reply(replies.nothing_to_change("cancel")))
        refund = booking.deposit_status == "paid" and _refund_due(booking, world)
        paid = booking.deposit_amount if booking.deposit_status == "paid" else None
        return _fresh(CancelBooking(str(booking.id), refund),
                      Reply(replies.cancelled(world.profile, booking.service,
                                              world.local(booking.start), paid, refund)))
    return reprompt(conv, said, world)


def keep_booking(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    booking = world.booking(conv.context.booking_id)
    if booking is None:
        return _fresh(Reply("OK, nothing was changed."))
    if booking.status == "held":  # the customer still wants the held slot: keep waiting
        return _goto(State.PAYMENT_PENDING, Context(booking_id=str(booking.id)),
                     Reply(replies.waiting_for_payment(world.profile, booking.service,
                                                       world.local(booking.start),
                                                       booking.deposit_amount)))
    return _fresh(Reply(replies.kept(booking.service, world.local(booking.start))))


# -- rescheduling -----------------------------------------------------------------------------

def start_reschedule(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    upcoming = [b for b in world.upcoming() if b.status == "confirmed"]
    if not upcoming:
        return _fresh(Reply(replies.nothing_to_change("move")))
    chosen = upcoming[0] if len(upcoming) == 1 else _pick(upcoming, said, world)
    if chosen is None:
        chosen = upcoming[0]  # the next one; the customer sees which in the reply
    draft = Draft(service=chosen.service, date=said.date, time=said.time,
                  part_of_day=said.part_of_day)
    ctx = Context(draft=draft, booking_id=str(chosen.id))
    if said.date is None and said.time is None and said.part_of_day is None:
        return _goto(State.RESCHEDULE_COLLECTING, ctx,
                     Reply(replies.ask_new_time(chosen.service, world.local(chosen.start))))
    if said.date is None:
        ctx = replace(ctx, draft=replace(draft, date=world.local(chosen.start).date()))
    return advance(Conversation(State.RESCHEDULE_COLLECTING, ctx), world)


def _top_up(profile: BusinessProfile, service: Service, start: datetime,
            booking: BookingView | None) -> Decimal:
    paid = (booking.deposit_amount or Decimal(0)) if booking and \
        booking.deposit_status == "paid" else Decimal(0)
    return max(Decimal("0.00"), deposit_for(profile, service, start) - paid)


def accept_move(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    profile, ctx = world.profile, conv.context
    booking = world.booking(ctx.booking_id)
    service = profile.service_by_name(ctx.draft.service or "")
    if booking is None or service is None or ctx.proposal is None:
        return _fresh(Reply(replies.nothing_to_change("move")))
    busy = world.busy_without(ctx.booking_id)
    verdict = av.check(profile, service, ctx.proposal, world.now, busy)
    if not verdict.ok:
        reason = "taken" if verdict.reason == "fully_booked" else verdict.reason
        return _refuse(State.RESCHEDULE_COLLECTING, ctx, world, service, ctx.proposal, reason,
                       busy)
    top_up = _top_up(profile, service, verdict.start, booking)
    move = RescheduleBooking(str(booking.id), verdict.start_utc, verdict.end_utc,
                             verdict.resource, top_up)
    if top_up:
        # Held at the new time until the difference is paid; the link is the one reply.
        return _goto(State.PAYMENT_PENDING, Context(booking_id=str(booking.id)), move)
    return _fresh(move, Reply(replies.moved(service.name, verdict.start, booking.reference)))


def decline_move(conv: Conversation, said: CustomerSaid, world: World) -> Outcome:
    if said.has_slots():
        return collect(conv, said, world)
    return keep_booking(conv, said, world)


# -- time ---------------------------------------------------------------------------------------

def time_out(conv: Conversation, event: SessionTimedOut, world: World) -> Outcome:
    """Silence past the session timeout drops an unfinished conversation, silently."""
    return _fresh()


def ignore(conv: Conversation, event: Any, world: World) -> Outcome:
    return Outcome(conv)


# --- the table, spelled out ------------------------------------------------------------------

S = State
ALL = tuple(State)
_EVERYWHERE: dict[str, Transition] = {
    "status": Transition(answer_status, (), "answer, stay"),
    "faq_hours": Transition(answer_faq, (), "answer, stay"),
    "faq_location": Transition(answer_faq, (), "answer, stay"),
    "faq_services": Transition(answer_faq, (), "answer, stay"),
    "faq_prices": Transition(answer_faq, (), "answer, stay"),
    "greeting": Transition(greet, (), "greet, stay"),
    "thanks": Transition(welcome, (), "you're welcome, stay"),
    "human": Transition(hand_to_person, (S.IDLE,), "phone + staff alert"),
    "opt_out": Transition(opt_out, (S.IDLE,), "unsubscribe"),
    "opt_in": Transition(opt_in, (), "resubscribe, stay"),
    "unknown": Transition(not_understood, (S.IDLE,), "help; 3rd miss: handoff"),
    "checkout_ready": Transition(send_checkout, (), "send checkout link"),
    "deposit_paid": Transition(deposit_paid, (), "confirm (or refund a late one)"),
    "hold_lapsed": Transition(hold_lapsed, (), "expire the hold"),
    "session_timeout": Transition(time_out, (S.IDLE,), "silence: drop"),
}

_PER_STATE: dict[State, dict[str, Transition]] = {
    S.IDLE: {
        "book": Transition(start_booking, (S.COLLECTING, S.CONFIRMING), "start a booking"),
        "inform": Transition(start_booking, (S.COLLECTING, S.CONFIRMING), "start a booking"),
        "affirm": Transition(stray_yes_no, (), "stray yes"),
        "deny": Transition(stray_yes_no, (), "stray no"),
        "cancel": Transition(start_cancel, (S.CANCEL_CONFIRM,), "which/confirm cancel"),
        "reschedule": Transition(start_reschedule, (S.RESCHEDULE_COLLECTING,
                                                    S.RESCHEDULE_CONFIRM), "move a booking"),
        "session_timeout": Transition(ignore, (), "nothing to drop"),
        "checkout_ready": Transition(send_checkout, (S.PAYMENT_PENDING,), "send checkout link"),
    },
    S.COLLECTING: {
        "book": Transition(collect, (S.CONFIRMING,), "slots given"),
        "inform": Transition(collect, (S.CONFIRMING,), "slots given"),
        "affirm": Transition(reprompt, (), "ask again"),
        "deny": Transition(drop_request, (S.IDLE,), "drop the request"),
        "cancel": Transition(cancel_while_collecting, (S.IDLE, S.CANCEL_CONFIRM), "drop/cancel"),
        "reschedule": Transition(reschedule_while_collecting, (S.RESCHEDULE_COLLECTING,),
                                 "correct or move"),
    },
    S.CONFIRMING: {
        "book": Transition(collect, (S.COLLECTING,), "correction: re-check"),
        "inform": Transition(collect, (S.COLLECTING,), "correction: re-check"),
        "affirm": Transition(accept_proposal, (S.IDLE, S.PAYMENT_PENDING, S.COLLECTING),
                             "book it (held if a deposit is due)"),
        "deny": Transition(decline_proposal, (S.COLLECTING,), "ask for another time"),
        "cancel": Transition(cancel_while_collecting, (S.IDLE, S.CANCEL_CONFIRM), "drop/cancel"),
        "reschedule": Transition(reschedule_while_collecting, (S.RESCHEDULE_COLLECTING,),
                                 "correct or move"),
    },
    S.PAYMENT_PENDING: {
        "book": Transition(reprompt, (), "finish paying first"),
        "inform": Transition(reprompt, (), "finish paying first"),
        "affirm": Transition(reprompt, (), "point at the link"),
        "deny": Transition(cancel_held, (S.CANCEL_CONFIRM,), "cancel the hold?"),
        "cancel": Transition(cancel_held, (S.CANCEL_CONFIRM,), "cancel the hold?"),
        "reschedule": Transition(reprompt, (), "finish paying first"),
        "session_timeout": Transition(ignore, (), "a hold has its own timer"),
        "unknown": Transition(not_understood, (), "help; 3rd miss: handoff"),
        "deposit_paid": Transition(deposit_paid, (S.IDLE,), "confirmed"),
        "hold_lapsed": Transition(hold_lapsed, (S.IDLE,), "expired, slot released"),
    },
    S.RESCHEDULE_COLLECTING: {
        "book": Transition(collect, (S.RESCHEDULE_CONFIRM,), "new time given"),
        "inform": Transition(collect, (S.RESCHEDULE_CONFIRM,), "new time given"),
        "reschedule": Transition(collect, (S.RESCHEDULE_CONFIRM,), "new time given"),
        "affirm": Transition(reprompt, (), "ask again"),
        "deny": Transition(keep_booking, (S.IDLE,), "keep as it is"),
        "cancel": Transition(start_cancel, (S.CANCEL_CONFIRM,), "cancel instead"),
    },
    S.RESCHEDULE_CONFIRM: {
        "book": Transition(collect, (S.RESCHEDULE_COLLECTING,), "correction: re-check"),
        "inform": Transition(collect, (S.RESCHEDULE_COLLECTING,), "correction: re-check"),
        "reschedule": Transition(collect, (S.RESCHEDULE_COLLECTING,), "correction: re-check"),
        "affirm": Transition(accept_move, (S.IDLE, S.RESCHEDULE_COLLECTING), "move it"),
        "deny": Transition(decline_move, (S.IDLE,), "keep as it is"),
        "cancel": Transition(start_cancel, (S.CANCEL_CONFIRM,), "cancel instead"),
    },
    S.CANCEL_CONFIRM: {
        "book": Transition(choose_or_confirm_cancel, (), "pick one"),
        "inform": Transition(choose_or_confirm_cancel, (), "pick one"),
        "affirm": Transition(choose_or_confirm_cancel, (S.IDLE,), "cancel it"),
        "cancel": Transition(choose_or_confirm_cancel, (S.IDLE,), "cancel it"),
        "deny": Transition(keep_booking, (S.IDLE, S.PAYMENT_PENDING), "keep it"),
        "reschedule": Transition(start_reschedule, (S.RESCHEDULE_COLLECTING,), "move instead"),
    },
}

TRANSITIONS: dict[tuple[State, str], Transition] = {
    (state, kind): _PER_STATE[state].get(kind) or _EVERYWHERE[kind]
    for state in ALL for kind in (*INTENTS, *SYSTEM_INPUTS)
    if kind in _PER_STATE[state] or kind in _EVERYWHERE
}


def step(conv: Conversation, event: Input, world: World) -> Outcome:
    """One turn: look the (state, input) pair up in the table and apply its rule."""
    if world.opted_out and isinstance(event, CustomerSaid) and event.intent != "opt_in":
        return Outcome(conv)  # opted out: nothing more to this customer until START
    transition = TRANSITIONS.get((conv.state, event.kind))
    if transition is None:  # an intent the table does not know (e.g. a newer NLU)
        transition = TRANSITIONS[(conv.state, "unknown")]
    outcome = transition.rule(conv, event, world)
    if world.opted_out and SetOptedOut(False) not in outcome.effects:
        # Payments and timers still change an opted-out customer's bookings, silently.
        outcome = replace(outcome, effects=tuple(
            e for e in outcome.effects if not isinstance(e, Reply)))
    return outcome


def diagram() -> str:
    """The transition table as a Mermaid state diagram (stay-put transitions omitted)."""
    lines = ["stateDiagram-v2", "    [*] --> IDLE"]
    edges: dict[tuple[State, State], list[str]] = {}
    for (state, kind), transition in TRANSITIONS.items():
        for target in transition.targets:
            if target != state:
                edges.setdefault((state, target), []).append(kind)
    for (source, target), kinds in sorted(edges.items()):
        lines.append(f"    {source} --> {target}: {', '.join(sorted(set(kinds)))}")
    return "\n".join(lines)


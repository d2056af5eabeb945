"""What the machine reads (`World`), remembers (`Context`), is told (inputs) and asks for
(effects). Plain frozen values: the rules in the sibling modules are pure functions of them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from libs.business.profile import BusinessProfile
from libs.contracts.vocabulary import (
    BookingStatus,
    ConversationState,
    DepositStatus,
    Intent,
    Language,
    NoShowRisk,
)
from services.fsm import availability as av
from services.fsm.machine.effects import (  # re-exported: `m.Reply` reads as before
    C_R_X as C_R_X,
    YES_NO as YES_NO,
    AlertStaff as AlertStaff,
    CancelBooking as CancelBooking,
    CompleteBooking as CompleteBooking,
    ConfirmAttendance as ConfirmAttendance,
    ConfirmBooking as ConfirmBooking,
    CreateBooking as CreateBooking,
    DeclineOffer as DeclineOffer,
    Effect as Effect,
    ExpireBooking as ExpireBooking,
    HoldMove as HoldMove,
    HoldOffer as HoldOffer,
    JoinWaitlist as JoinWaitlist,
    LapseOffer as LapseOffer,
    RefundLatePayment as RefundLatePayment,
    ReleaseMove as ReleaseMove,
    Reply as Reply,
    RescheduleBooking as RescheduleBooking,
    SetOptedOut as SetOptedOut,
    SetRisk as SetRisk,
    TakeOffer as TakeOffer,
)

State = ConversationState
LOOP_LIMIT = 3


# --- what the machine reads ----------------------------------------------------------------


@dataclass(frozen=True)
class MoveView:
    """A move waiting for its deposit top-up: the new time is held (a row of its own) while
    the booking keeps its old time and status; `status` is `expired` once the hold lapsed."""

    hold_id: uuid.UUID
    start: datetime
    end: datetime
    resource: int
    top_up: Decimal
    status: BookingStatus


@dataclass(frozen=True)
class BookingView:
    """One of this customer's bookings, as the machine needs to see it."""

    id: uuid.UUID
    reference: str
    service: str
    start: datetime
    end: datetime
    status: BookingStatus
    deposit_status: DepositStatus
    deposit_amount: Decimal | None
    resource: int
    move: MoveView | None = None          # a move waiting for its top-up
    paid_with: uuid.UUID | None = None    # booked with another service, paid in one checkout
    attendance_confirmed: bool = False    # the customer answered a reminder with C / yes
    no_show_risk: NoShowRisk | None = None


@dataclass(frozen=True)
class Held:
    """A live booking at the business (or a time held for a move): who holds which resource
    when. `holds_for` names the booking a move hold belongs to."""

    booking_id: uuid.UUID
    resource: int
    start: datetime
    end: datetime
    holds_for: uuid.UUID | None = None


@dataclass(frozen=True)
class WebCaps:
    """Limits on an unverified web chat visitor, who anyone can become by opening a session:
    at most `max_live` live bookings per session, and `max_per_day` bookings made in 24 hours
    from one address (all its sessions; `made_today` so far, counted by the handler)."""

    max_live: int
    max_per_day: int
    made_today: int = 0


@dataclass(frozen=True)
class World:
    profile: BusinessProfile
    now: datetime
    busy: Sequence[Held]
    bookings: Sequence[BookingView] = ()
    customer: str = ""
    opted_out: bool = False
    web_caps: WebCaps | None = None  # None: not a web chat visitor, nothing capped
    # Identity for the bookings this turn may create (chosen outside, so the machine stays
    # pure): the first, and a second when two services are booked together.
    next_booking_id: uuid.UUID = field(default_factory=uuid.uuid4)
    next_reference: str = ""
    extra_booking_id: uuid.UUID = field(default_factory=uuid.uuid4)
    extra_reference: str = ""
    # Times the business's own calendar shows busy (calendar's busy import): no resource
    # is free over them.
    blocked: Sequence[tuple[datetime, datetime]] = ()
    # A person has the conversation (admin's takeover): the customer's messages are only
    # recorded, and nothing is said to them but what staff ask for.
    taken_over: bool = False
    # The language the customer is answered in (`customers.language`, kept by fsm with
    # hysteresis): `step` writes every reply of the turn in it (services/fsm/i18n.py).
    language: Language = "en"

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.profile.tz)

    def upcoming(self) -> list[BookingView]:
        """Live bookings still ahead, in the order they were made (lists are numbered so)."""
        return [b for b in self.bookings
                if b.status in ("held", "confirmed") and b.start > self.now]

    def booking(self, booking_id: uuid.UUID | None) -> BookingView | None:
        return next((b for b in self.bookings if b.id == booking_id), None)

    def busy_without(self, booking_id: uuid.UUID | None = None) -> list[av.Busy]:
        """Live bookings as availability reads them, leaving out the one being moved (and
        the time held for moving it), and the blocked times on every resource."""
        return [(b.resource, b.start, b.end) for b in self.busy
                if booking_id is None or booking_id not in (b.booking_id, b.holds_for)
                ] + av.blocked(self.blocked, self.profile.booking.capacity)

    def bundle(self, leader: uuid.UUID) -> list[BookingView]:
        """The booking and those paid together with it, in the order made."""
        return [b for b in self.bookings if leader in (b.id, b.paid_with)]


# --- inputs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerSaid:
    """A message as nlu read it: the intent, the scored slots, and the extras (a second
    service, the zone a time was given in, a wish for the earliest time, a topic)."""

    intent: Intent
    text: str = ""
    service: str | None = None
    date: date | None = None
    time: time | None = None
    part_of_day: str | None = None
    service2: str | None = None
    zone: str | None = None
    earliest: bool = False
    topic: str | None = None

    @property
    def kind(self) -> str:
        return self.intent

    def has_slots(self) -> bool:
        return self.earliest or any(v is not None for v in (
            self.service, self.date, self.time, self.part_of_day, self.service2))


@dataclass(frozen=True)
class SessionTimedOut:
    kind: str = "session_timeout"


@dataclass(frozen=True)
class CheckoutReady:
    booking_id: uuid.UUID
    url: str
    amount: Decimal
    kind: str = "checkout_ready"


@dataclass(frozen=True)
class DepositPaid:
    booking_id: uuid.UUID
    amount: Decimal
    kind: str = "deposit_paid"


@dataclass(frozen=True)
class HoldLapsed:
    booking_id: uuid.UUID
    kind: str = "hold_lapsed"


@dataclass(frozen=True)
class ReminderArrived:
    """A reminder for the booking that starts at `starts_at` fell due (reminders service)."""

    booking_id: uuid.UUID
    starts_at: datetime
    kind: str = "reminder_due"


@dataclass(frozen=True)
class RiskCheck:
    """An hour before the booking that starts at `starts_at`: is attendance confirmed?"""

    booking_id: uuid.UUID
    starts_at: datetime
    kind: str = "risk_check"


@dataclass(frozen=True)
class AppointmentOver:
    """Half an hour after the booking that ends at `ends_at`."""

    booking_id: uuid.UUID
    ends_at: datetime
    kind: str = "appointment_over"


@dataclass(frozen=True)
class WaitlistOpening:
    """The time a waiting customer asked for may be free: offer it to them, held as
    `offer_booking_id` until `expires_at`, if they are free to talk and it still fits."""

    entry_id: uuid.UUID
    service: str
    start: datetime
    offer_booking_id: uuid.UUID
    expires_at: datetime
    kind: str = "waitlist_offer"


@dataclass(frozen=True)
class OfferLapsed:
    """A waitlist offer was not answered in time."""

    entry_id: uuid.UUID
    kind: str = "offer_lapsed"


@dataclass(frozen=True)
class StaffCancel:
    """Staff cancelled the booking on the customer's behalf (the admin API): a paid deposit
    is refunded (`refund` True), kept (False), or as the cancellation policy says (None)."""

    booking_id: uuid.UUID
    refund: bool | None = None
    note: str = ""
    kind: str = "staff_cancel"


@dataclass(frozen=True)
class StaffMove:
    """Staff moved the booking to `start` (an instant) on the customer's behalf."""

    booking_id: uuid.UUID
    start: datetime
    note: str = ""
    kind: str = "staff_move"


@dataclass(frozen=True)
class StaffRemind:
    """Staff asked for the booking's reminder to be sent again, now."""

    booking_id: uuid.UUID
    kind: str = "staff_remind"


Input = (CustomerSaid | SessionTimedOut | CheckoutReady | DepositPaid | HoldLapsed
         | ReminderArrived | RiskCheck | AppointmentOver | WaitlistOpening | OfferLapsed
         | StaffCancel | StaffMove | StaffRemind)
STAFF_INPUTS = ("staff_cancel", "staff_move", "staff_remind")
"""What staff ask for through the admin API: said to the customer even while a person has
the conversation."""
SYSTEM_INPUTS = ("session_timeout", "checkout_ready", "deposit_paid", "hold_lapsed",
                 "reminder_due", "risk_check", "appointment_over", "waitlist_offer",
                 "offer_lapsed", *STAFF_INPUTS)


# --- the conversation's memory ---------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    """What the customer has asked for so far: the date and time as they said them, in
    `zone` when they named one ("1pm eastern"), else in the business's zone."""

    service: str | None = None
    date: date | None = None
    time: time | None = None
    part_of_day: str | None = None
    service2: str | None = None
    zone: str | None = None
    earliest: bool = False

    def merged(self, said: CustomerSaid, profile: BusinessProfile) -> Draft:
        """A new service (or pair) replaces the old one; a new date keeps the time; a new
        time replaces a part of the day; a zone, once named, stays until another is."""
        draft = self
        service = profile.service_by_name(said.service) if said.service is not None else None
        if service is not None:
            second = profile.service_by_name(said.service2) if said.service2 else None
            draft = replace(draft, service=service.name,
                            service2=second.name if second and second != service else None)
        if said.date is not None:
            draft = replace(draft, date=said.date, earliest=False)
        if said.time is not None:
            draft = replace(draft, time=said.time, part_of_day=None, earliest=False)
        elif said.part_of_day is not None:
            draft = replace(draft, time=None, part_of_day=said.part_of_day)
        if said.zone is not None:
            draft = replace(draft, zone=None if said.zone == profile.timezone else said.zone)
        if said.earliest and said.date is None and said.time is None:
            draft = replace(draft, earliest=True)
        return draft


@dataclass(frozen=True)
class Context:
    draft: Draft = field(default_factory=Draft)
    proposal: datetime | None = None         # local start being proposed
    booking_id: uuid.UUID | None = None      # the booking being paid, moved or cancelled
    candidates: tuple[uuid.UUID, ...] = ()   # bookings to choose from ("which one?")
    misses: int = 0                          # messages in a row the machine could not use
    reminded: uuid.UUID | None = None        # the booking the last reminder was about
    full: datetime | None = None             # a fully booked start one may wait for (UTC)
    offer: uuid.UUID | None = None           # the waitlist entry whose time is on offer

    def to_json(self) -> dict[str, Any]:
        d = self.draft
        return {
            "draft": {"service": d.service, "date": d.date.isoformat() if d.date else None,
                      "time": d.time.isoformat("minutes") if d.time else None,
                      "part_of_day": d.part_of_day, "service2": d.service2, "zone": d.zone,
                      "earliest": d.earliest},
            "proposal": self.proposal.isoformat() if self.proposal else None,
            "booking_id": str(self.booking_id) if self.booking_id else None,
            "candidates": [str(c) for c in self.candidates],
            "misses": self.misses,
            "reminded": str(self.reminded) if self.reminded else None,
            "full": self.full.isoformat() if self.full else None,
            "offer": str(self.offer) if self.offer else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Context:
        d = data.get("draft") or {}
        return cls(
            draft=Draft(service=d.get("service"),
                        date=date.fromisoformat(d["date"]) if d.get("date") else None,
                        time=time.fromisoformat(d["time"]) if d.get("time") else None,
                        part_of_day=d.get("part_of_day"), service2=d.get("service2"),
                        zone=d.get("zone"), earliest=bool(d.get("earliest"))),
            proposal=datetime.fromisoformat(data["proposal"]) if data.get("proposal") else None,
            booking_id=uuid.UUID(data["booking_id"]) if data.get("booking_id") else None,
            candidates=tuple(uuid.UUID(c) for c in data.get("candidates") or ()),
            misses=int(data.get("misses") or 0),
            reminded=uuid.UUID(data["reminded"]) if data.get("reminded") else None,
            full=datetime.fromisoformat(data["full"]) if data.get("full") else None,
            offer=uuid.UUID(data["offer"]) if data.get("offer") else None,
        )


@dataclass(frozen=True)
class Conversation:
    state: State = State.IDLE
    context: Context = field(default_factory=Context)


@dataclass(frozen=True)
class Outcome:
    conversation: Conversation
    effects: tuple[Effect, ...] = ()


# --- building outcomes -----------------------------------------------------------------------

Rule = Callable[[Conversation, Any, World], Outcome]


@dataclass(frozen=True)
class Transition:
    """`targets`: the states the rule may move to besides staying where it is."""

    rule: Rule
    targets: tuple[State, ...]
    label: str


def goto(state: State, ctx: Context, *effects: Effect) -> Outcome:
    return Outcome(Conversation(state, ctx), tuple(effects))


def fresh(*effects: Effect) -> Outcome:
    """Back to IDLE with nothing remembered."""
    return Outcome(Conversation(), tuple(effects))


def stay(conv: Conversation, *effects: Effect) -> Outcome:
    """Same state, the miss counter reset (the message was understood)."""
    return Outcome(replace(conv, context=replace(conv.context, misses=0)), tuple(effects))

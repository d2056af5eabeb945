"""Every event (a fact) on the bus: one frozen pydantic model per type (docs/architecture.md,
"Contracts"). Commands, which ask one service to act, are in `libs.contracts.commands`.

A released model may only change additively (new optional fields); anything else is a new
`.v2` class published beside this one. `tests/unit/test_contract_schemas.py` enforces it
against the JSON Schemas generated into `libs/contracts/schemas/`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from libs.contracts.message import Event
from libs.contracts.vocabulary import (
    BookingStatus,
    Channel,
    DeliveryState,
    DepositStatus,
    Intent,
    IntentV1,
    Language,
    PartOfDay,
    RefundReason,
)

Money = Decimal


# --- messages in and out ---------------------------------------------------------------


class InboundMessageReceived(Event):
    """A customer's message, normalized from any channel's webhook by ingress."""

    TYPE: ClassVar[str] = "inbound.message.received.v1"
    channel: Channel
    provider_message_id: str
    customer: str = Field(description="E.164 phone number, or `web:<session>` for web chat")
    to: str = Field(description="the business address the message was sent to")
    text: str
    received_at: AwareDatetime
    origin: str | None = Field(
        default=None, description="web chat: a keyed hash of the visitor's IP address (never "
                                  "the address), so bookings can be capped per address")


class Slots(BaseModel):
    """What a message says about a booking (docs/nlu.md, "Slots"). The first four are the
    scored slots; the others are extras the conversation uses (additive, optional)."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")
    service: str | None = None
    date: dt.date | None = None
    time: dt.time | None = None
    part_of_day: PartOfDay | None = None
    service2: str | None = Field(
        default=None, description="a second service asked for in the same message")
    timezone: str | None = Field(
        default=None, description="the IANA zone the customer gave the time in ('1pm eastern')")
    earliest: bool = Field(
        default=False, description="asks for the earliest, soonest or first free time")
    topic: str | None = Field(
        default=None, description="what a message is about when that is no slot: "
                                  "deposit_policy, cancellation_policy, unanswerable, rude, "
                                  "new_link, or staff:<name> (a person asked for by name)")


class MessageUnderstood(Event):
    """The inbound message with the intent and slots nlu read from it (docs/nlu.md), and
    the language it is written in (replies follow it)."""

    TYPE: ClassVar[str] = "nlu.message.understood.v2"
    channel: Channel
    provider_message_id: str
    customer: str
    text: str
    received_at: AwareDatetime
    intent: Intent
    slots: Slots
    confidence: float = Field(ge=0.0, le=1.0)
    extractor: str
    language: Language = "en"
    language_seen: Language | None = Field(
        default=None, description="the language this message itself shows; none for a "
                                  "message without a language signal (\"ok\", \"3pm\", "
                                  "\"C\"), so the conversation keeps its own")
    origin: str | None = Field(
        default=None, description="copied from the inbound message: web chat's keyed hash "
                                  "of the visitor's IP address")


class MessageUnderstoodV1(Event):
    """v1 of the understood message, without the `waitlist` intent or a language. nlu now
    publishes v2; fsm still reads v1, so messages published before an upgrade are handled."""

    TYPE: ClassVar[str] = "nlu.message.understood.v1"
    channel: Channel
    provider_message_id: str
    customer: str
    text: str
    received_at: AwareDatetime
    intent: IntentV1
    slots: Slots
    confidence: float = Field(ge=0.0, le=1.0)
    extractor: str


class DeliveryStatus(Event):
    """A provider's report on an outbound message (sent, delivered, read, failed)."""

    TYPE: ClassVar[str] = "delivery.status.v1"
    channel: Channel
    provider_message_id: str
    status: DeliveryState
    error_code: str | None = None
    reported_at: AwareDatetime


# --- bookings (owned by fsm) -----------------------------------------------------------


class BookingEvent(Event):
    """Fields every booking event carries, so consumers need no lookup in fsm's tables."""

    booking_id: uuid.UUID
    reference: str
    customer: str
    channel: Channel
    service: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    resource: int
    status: BookingStatus
    deposit_status: DepositStatus
    deposit_amount: Money | None = None
    deposit_booking_id: uuid.UUID | None = Field(
        default=None, description="the booking whose checkout took this booking's deposit, "
                                  "when it was paid together with another (two services)")


class BookingHeld(BookingEvent):
    TYPE: ClassVar[str] = "booking.held.v1"
    hold_expires_at: AwareDatetime


class BookingConfirmed(BookingEvent):
    TYPE: ClassVar[str] = "booking.confirmed.v1"


class BookingRescheduled(BookingEvent):
    TYPE: ClassVar[str] = "booking.rescheduled.v1"
    previous_starts_at: AwareDatetime
    previous_ends_at: AwareDatetime


class BookingCancelled(BookingEvent):
    TYPE: ClassVar[str] = "booking.cancelled.v1"
    cancelled_by: Literal["customer", "staff"]


class BookingExpired(BookingEvent):
    TYPE: ClassVar[str] = "booking.expired.v1"


class BookingCompleted(BookingEvent):
    TYPE: ClassVar[str] = "booking.completed.v1"


class BookingNoShow(BookingEvent):
    TYPE: ClassVar[str] = "booking.no_show.v1"


BOOKING_STAGES: dict[type[BookingEvent], int] = {
    BookingExpired: 0,  # a held booking's hold lapsed; a late payment may confirm it
    BookingConfirmed: 1,
    BookingRescheduled: 2,
    BookingCancelled: 3, BookingCompleted: 3, BookingNoShow: 3,
}
"""The order a booking's events follow one another in: of two events at the same instant,
the later stage is the newer (reminders and calendar order what they receive by it)."""


# --- deposits (owned by payments) ------------------------------------------------------


class CheckoutCreated(Event):
    TYPE: ClassVar[str] = "checkout.created.v1"
    booking_id: uuid.UUID
    checkout_session_id: str
    url: str
    amount: Money
    currency: str
    expires_at: AwareDatetime


class PaymentSucceeded(Event):
    TYPE: ClassVar[str] = "payment.succeeded.v1"
    booking_id: uuid.UUID
    checkout_session_id: str
    amount: Money
    currency: str
    paid_at: AwareDatetime


class PaymentExpired(Event):
    TYPE: ClassVar[str] = "payment.expired.v1"
    booking_id: uuid.UUID
    checkout_session_id: str


class PaymentRefunded(Event):
    TYPE: ClassVar[str] = "payment.refunded.v1"
    booking_id: uuid.UUID
    amount: Money
    currency: str
    refund_id: str
    reason: RefundReason


class StripeEventReceived(Event):
    """A Stripe webhook whose signature ingress verified; payments interprets it."""

    TYPE: ClassVar[str] = "stripe.event.received.v1"
    stripe_event_id: str = Field(pattern=r"^evt_")
    stripe_type: str
    created: int
    livemode: bool
    data_object: dict[str, Any]


# --- reminders and calendar ------------------------------------------------------------


class ReminderDue(Event):
    """A reminder timer fell due; fsm sends it and reads the customer's reply in its light."""

    TYPE: ClassVar[str] = "reminder.due.v1"
    booking_id: uuid.UUID
    reminder_id: uuid.UUID
    offset: str
    customer: str
    channel: Channel
    service: str
    starts_at: AwareDatetime


# --- customers (owned by fsm) ------------------------------------------------------------


class CustomerOptedOut(Event):
    """The customer sent STOP (or the like): nothing more goes to them at this business,
    reminders included, until they opt back in."""

    TYPE: ClassVar[str] = "customer.opted_out.v1"
    customer: str
    at: AwareDatetime


class CustomerOptedIn(Event):
    """The customer sent START: messages, reminders included, may go to them again."""

    TYPE: ClassVar[str] = "customer.opted_in.v1"
    customer: str
    at: AwareDatetime


class CalendarSynced(Event):
    TYPE: ClassVar[str] = "calendar.synced.v1"
    booking_id: uuid.UUID
    calendar_event_id: str
    action: Literal["inserted", "patched", "deleted"]
    synced_at: AwareDatetime


class BusyRange(BaseModel):
    """A time the business's own calendar shows busy: `[starts_at, ends_at)`."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class CalendarBusyChanged(Event):
    """What the business's Google Calendar shows busy between `window_start` and
    `window_end` (its staff's own appointments; the bookings calendar wrote are left out),
    whenever it changed. It replaces every range heard before; fsm blocks those times."""

    TYPE: ClassVar[str] = "calendar.busy.changed.v1"
    window_start: AwareDatetime
    window_end: AwareDatetime
    busy: tuple[BusyRange, ...]
    checked_at: AwareDatetime = Field(description="when Google was asked: the newest wins")


ALL_EVENTS: tuple[type[Event], ...] = (
    InboundMessageReceived, MessageUnderstood, MessageUnderstoodV1, DeliveryStatus,
    BookingHeld, BookingConfirmed, BookingRescheduled, BookingCancelled, BookingExpired,
    BookingCompleted, BookingNoShow,
    CheckoutCreated, PaymentSucceeded, PaymentExpired, PaymentRefunded,
    StripeEventReceived, ReminderDue, CustomerOptedOut, CustomerOptedIn, CalendarSynced,
    CalendarBusyChanged,
)

"""Every v1 event on the bus: one frozen pydantic model per type (DESIGN.md, "Event contracts").

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

Channel = Literal["sms", "whatsapp", "web"]
Intent = Literal[
    "book", "inform", "affirm", "deny", "cancel", "reschedule", "status",
    "faq_hours", "faq_location", "faq_services", "faq_prices",
    "human", "greeting", "thanks", "opt_out", "opt_in", "unknown",
]
PartOfDay = Literal["morning", "afternoon", "evening"]
BookingStatus = Literal["held", "confirmed", "cancelled", "expired", "completed", "no_show"]
DepositStatus = Literal["none", "pending", "paid", "refunded", "forfeited", "expired"]
Money = Decimal


class Event(BaseModel):
    """Base of every payload. `TYPE` is the routing key and the envelope's `type`."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")
    TYPE: ClassVar[str]


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


class Slots(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")
    service: str | None = None
    date: dt.date | None = None
    time: dt.time | None = None
    part_of_day: PartOfDay | None = None


class MessageUnderstood(Event):
    """The inbound message with the intent and slots nlu read from it (spec/nlu.md)."""

    TYPE: ClassVar[str] = "nlu.message.understood.v1"
    channel: Channel
    provider_message_id: str
    customer: str
    text: str
    received_at: AwareDatetime
    intent: Intent
    slots: Slots
    confidence: float = Field(ge=0.0, le=1.0)
    extractor: str


class ReplyRequested(Event):
    """fsm asks notifier to deliver one message, to a customer or to the business's staff."""

    TYPE: ClassVar[str] = "reply.requested.v1"
    channel: Channel
    to: str
    text: str
    audience: Literal["customer", "staff"] = "customer"
    purpose: Literal["reply", "reminder", "alert", "notice"] = "reply"
    booking_id: uuid.UUID | None = None


class DeliveryStatus(Event):
    """A provider's report on an outbound message (sent, delivered, read, failed)."""

    TYPE: ClassVar[str] = "delivery.status.v1"
    channel: Channel
    provider_message_id: str
    status: Literal["queued", "sent", "delivered", "read", "failed", "undelivered"]
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


# --- deposits (owned by payments) ------------------------------------------------------


class DepositRequested(Event):
    """fsm asks payments for a checkout link for a held booking (or a top-up on reschedule)."""

    TYPE: ClassVar[str] = "deposit.requested.v1"
    booking_id: uuid.UUID
    reference: str
    customer: str
    channel: Channel
    amount: Money
    currency: str = Field(pattern=r"^[a-z]{3}$")
    attempt: int = Field(ge=1)
    hold_expires_at: AwareDatetime
    description: str


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
    reason: Literal["cancelled", "late_payment_slot_taken", "staff"]


class RefundRequested(Event):
    """fsm asks payments to give a deposit back that it cannot honour (a late payment for a
    slot taken meanwhile). Cancellation refunds ride on `booking.cancelled.v1` instead."""

    TYPE: ClassVar[str] = "refund.requested.v1"
    booking_id: uuid.UUID
    amount: Money
    reason: Literal["late_payment_slot_taken"]


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


class CalendarSynced(Event):
    TYPE: ClassVar[str] = "calendar.synced.v1"
    booking_id: uuid.UUID
    calendar_event_id: str
    action: Literal["inserted", "patched", "deleted"]
    synced_at: AwareDatetime


ALL_EVENTS: tuple[type[Event], ...] = (
    InboundMessageReceived, MessageUnderstood, ReplyRequested, DeliveryStatus,
    BookingHeld, BookingConfirmed, BookingRescheduled, BookingCancelled, BookingExpired,
    BookingCompleted, BookingNoShow,
    DepositRequested, CheckoutCreated, PaymentSucceeded, PaymentExpired, PaymentRefunded,
    RefundRequested, StripeEventReceived, ReminderDue, CalendarSynced,
)

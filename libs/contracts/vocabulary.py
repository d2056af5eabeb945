"""The words every part of the system shares, declared once.

Contracts, tables (check constraints), the state machine, the NLU and the scenario format
all read these Literals, or the tuples derived from them, so a new intent or status is
added in one place.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, get_args

Channel = Literal["sms", "whatsapp", "web"]
Intent = Literal[
    "book", "inform", "affirm", "deny", "cancel", "reschedule", "status",
    "faq_hours", "faq_location", "faq_services", "faq_prices",
    "human", "greeting", "thanks", "opt_out", "opt_in", "waitlist", "unknown",
]
IntentV1 = Literal[
    "book", "inform", "affirm", "deny", "cancel", "reschedule", "status",
    "faq_hours", "faq_location", "faq_services", "faq_prices",
    "human", "greeting", "thanks", "opt_out", "opt_in", "unknown",
]
"""The intents of `nlu.message.understood.v1`, frozen with it (v2 adds `waitlist`)."""
Language = Literal["en", "es"]
PartOfDay = Literal["morning", "afternoon", "evening"]
BookingStatus = Literal["held", "confirmed", "cancelled", "expired", "completed", "no_show"]
DepositStatus = Literal["none", "pending", "paid", "refunded", "forfeited", "expired"]
NoShowRisk = Literal["low", "medium", "high"]


class ConversationState(StrEnum):
    """Where a customer's conversation is (docs/conversations.md, "States")."""

    IDLE = "IDLE"
    COLLECTING = "COLLECTING"
    CONFIRMING = "CONFIRMING"
    PAYMENT_PENDING = "PAYMENT_PENDING"
    RESCHEDULE_COLLECTING = "RESCHEDULE_COLLECTING"
    RESCHEDULE_CONFIRM = "RESCHEDULE_CONFIRM"
    CANCEL_CONFIRM = "CANCEL_CONFIRM"


Audience = Literal["customer", "staff"]
DeliveryState = Literal["queued", "sent", "delivered", "read", "failed", "undelivered"]
RefundReason = Literal["cancelled", "late_payment_slot_taken", "staff"]

CHANNELS: tuple[Channel, ...] = get_args(Channel)
INTENTS: tuple[Intent, ...] = get_args(Intent)
LANGUAGES: tuple[Language, ...] = get_args(Language)
PARTS_OF_DAY: tuple[PartOfDay, ...] = get_args(PartOfDay)
BOOKING_STATUSES: tuple[BookingStatus, ...] = get_args(BookingStatus)
LIVE_BOOKING_STATUSES: tuple[BookingStatus, ...] = ("held", "confirmed")
OFFERED = "offered"
"""fsm's own status for a time kept for a waiting customer while it is offered to them: it
takes capacity like a live booking, but it is not a booking (never in events or lists)."""
DEPOSIT_STATUSES: tuple[DepositStatus, ...] = get_args(DepositStatus)
NO_SHOW_RISKS: tuple[NoShowRisk, ...] = get_args(NoShowRisk)
CONVERSATION_STATES: tuple[str, ...] = tuple(ConversationState)
DELIVERY_STATES: tuple[DeliveryState, ...] = get_args(DeliveryState)


def sql_in(column: str, values: tuple[str, ...]) -> str:
    """`status IN ('held','confirmed')`: a check constraint spelled from the vocabulary."""
    return f"{column} IN ({','.join(repr(v) for v in values)})"

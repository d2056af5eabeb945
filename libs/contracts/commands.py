"""Every command on the bus: a message that asks one service to act, with exactly one
consumer (docs/architecture.md, "Events and commands")."""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from libs.contracts.events import Money
from libs.contracts.message import Command
from libs.contracts.vocabulary import Audience, Channel, Language


class ReplyRequested(Command):
    """fsm asks notifier to deliver one message, to a customer or to the business's staff."""

    TYPE: ClassVar[str] = "reply.requested.v1"
    channel: Channel
    to: str
    text: str
    audience: Audience = "customer"
    purpose: Literal["reply", "reminder", "alert", "notice"] = Field(
        default="reply", description="reminder: a message the business starts (a template "
                                     "outside WhatsApp's 24-hour window); notice: the opt-out "
                                     "or opt-in confirmation, sent whatever the opt-out state")
    booking_id: uuid.UUID | None = None
    choices: list[str] = Field(
        default_factory=list, description="quick replies the channel may offer as buttons "
                                          "(Yes/No, C/R/X); a button comes back as its text")
    language: Language | None = Field(
        default=None, description="the language the text is written in (a customer's reply): "
                                  "notifier picks the WhatsApp template for it")
    customer_wrote_at: AwareDatetime | None = Field(
        default=None, description="WhatsApp: when the customer's last WhatsApp message to the "
                                  "business was received (free text may be sent for 24 hours "
                                  "from then, a template after); None: they never wrote there, "
                                  "or another channel")


class DepositRequested(Command):
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


class RefundRequested(Command):
    """fsm asks payments to give a deposit back that it cannot honour (a late payment for a
    slot taken meanwhile). Cancellation refunds ride on `booking.cancelled.v1` instead."""

    TYPE: ClassVar[str] = "refund.requested.v1"
    booking_id: uuid.UUID
    amount: Money
    reason: Literal["late_payment_slot_taken"]


# --- staff (owned by admin: docs/admin.md) -------------------------------------------------


class StaffCancelRequested(Command):
    """Staff cancel a booking on the customer's behalf (admin -> fsm). fsm cancels it as a
    customer's cancellation would (`booking.cancelled.v1` with `cancelled_by: staff`) and
    tells the customer."""

    TYPE: ClassVar[str] = "staff.cancel.requested.v1"
    booking_id: uuid.UUID
    refund: bool | None = Field(
        default=None, description="a paid deposit: true refunds it, false keeps it; null: the "
                                  "cancellation policy decides (cancellation.free_until_hours)")
    note: str = Field(default="", max_length=500,
                      description="staff's words, added to the message the customer gets")


class StaffMoveRequested(Command):
    """Staff move a confirmed booking to a new start (admin -> fsm). fsm checks the time
    again, moves it (`booking.rescheduled.v1`) and tells the customer, or alerts staff that
    it could not."""

    TYPE: ClassVar[str] = "staff.move.requested.v1"
    booking_id: uuid.UUID
    starts_at: AwareDatetime
    note: str = Field(default="", max_length=500,
                      description="staff's words, added to the message the customer gets")


class StaffRemindRequested(Command):
    """Staff ask for the booking's reminder to be sent again now (admin -> fsm)."""

    TYPE: ClassVar[str] = "staff.remind.requested.v1"
    booking_id: uuid.UUID


class StaffTakeoverRequested(Command):
    """A person takes the customer's conversation over (`on`), or hands it back to the bot
    (admin -> fsm). While taken over, fsm records the customer's messages and answers none."""

    TYPE: ClassVar[str] = "staff.takeover.requested.v1"
    customer: str = Field(description="E.164 phone number, or `web:<session>` for web chat")
    on: bool


ALL_COMMANDS: tuple[type[Command], ...] = (ReplyRequested, DepositRequested, RefundRequested,
                                           StaffCancelRequested, StaffMoveRequested,
                                           StaffRemindRequested, StaffTakeoverRequested)

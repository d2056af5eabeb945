"""Every command on the bus: a message that asks one service to act, with exactly one
consumer (docs/architecture.md, "Events and commands")."""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from libs.contracts.events import Money
from libs.contracts.message import Command
from libs.contracts.vocabulary import Audience, Channel


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


ALL_COMMANDS: tuple[type[Command], ...] = (ReplyRequested, DepositRequested, RefundRequested)

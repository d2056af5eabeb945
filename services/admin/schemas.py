"""What the admin API takes and answers (its OpenAPI document is built from these).

Times are answered in the business's zone, with their offset; a time given without an
offset (`"2026-12-02T15:00"`) is the business's local wall time.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field


class CustomerOut(BaseModel):
    id: uuid.UUID
    address: str = Field(description="E.164 phone number, or web:<session> for web chat")
    kept: int = Field(description="appointments kept at this business")
    no_shows: int
    late_cancels: int = Field(description="confirmed bookings cancelled inside the "
                                          "free-cancellation window")
    opted_out: bool


class BookingOut(BaseModel):
    id: uuid.UUID
    reference: str
    service: str
    resource: int = Field(description="which of the business's capacity it holds (1..N)")
    starts_at: datetime
    ends_at: datetime
    status: str
    deposit_status: str
    deposit_amount: Decimal | None
    attendance_confirmed: bool
    no_show_risk: str | None
    customer: CustomerOut


class ReceivedOut(BaseModel):
    text: str
    channel: str
    received_at: datetime


class ConversationOut(BaseModel):
    state: str
    channel: str
    taken_over: bool = Field(description="a person has it: the bot answers nothing")
    taken_over_at: datetime | None
    last_customer_message_at: datetime | None
    received_while_taken_over: list[ReceivedOut]


class MessageOut(BaseModel):
    text: str
    channel: str
    purpose: str = Field(description="reply, reminder or notice")
    status: str = Field(description="notifier's delivery status")
    at: datetime


class PaymentOut(BaseModel):
    attempt: int
    amount: Decimal
    currency: str
    status: str = Field(description="open, paid, expired or refunded")
    refunded_amount: Decimal
    paid_at: datetime | None
    created_at: datetime


class BookingDetail(BaseModel):
    booking: BookingOut
    conversation: ConversationOut | None
    messages: list[MessageOut] = Field(description="the latest messages sent to the customer")
    payments: list[PaymentOut]


class MarkBody(BaseModel):
    outcome: Literal["completed", "no_show"]


class CancelBody(BaseModel):
    refund: bool | None = Field(
        default=None, description="a paid deposit: true refunds it, false keeps it; null or "
                                  "left out: the cancellation policy decides")
    note: str = Field(default="", max_length=500,
                      description="added to the message the customer gets")


class MoveBody(BaseModel):
    start: datetime = Field(description="the new start; without an offset, local time")
    note: str = Field(default="", max_length=500,
                      description="added to the message the customer gets")


class TakeoverBody(BaseModel):
    on: bool = Field(description="true: a person takes the conversation; false: the bot "
                                 "has it back")


class Accepted(BaseModel):
    """The request is on its way to fsm (it is applied within moments; the customer is
    told by fsm)."""

    status: Literal["accepted"] = "accepted"
    command: str
    command_id: uuid.UUID


class Problems(BaseModel):
    detail: str
    problems: list[str] = Field(default_factory=list,
                                description="for a refused profile: every problem, by key path")


class ProfileSaved(BaseModel):
    business_id: str
    outcome: Literal["created", "updated"]


class CustomerRank(BaseModel):
    customer: CustomerOut
    reliability: float = Field(description="kept / (kept + no_shows + late_cancels)")


class Bucket(BaseModel):
    key: str
    completed: int
    no_show: int
    rate: float | None = Field(description="no_show / (completed + no_show); null when none")


class NoShows(BaseModel):
    overall: Bucket
    by_week: list[Bucket] = Field(description="key: the week's Monday (local)")
    by_service: list[Bucket]
    by_weekday: list[Bucket] = Field(description="key: Mon ... Sun (local)")
    by_hour: list[Bucket] = Field(description="key: the local start hour, 00 ... 23")


class Reminders(BaseModel):
    reminded: int = Field(description="bookings at least one reminder was sent for")
    confirmed: int = Field(description="of those, attendance confirmed")
    rate: float | None


class Money(BaseModel):
    count: int
    amount: Decimal


class Deposits(BaseModel):
    currency: str
    taken: Money = Field(description="deposits paid (by when they were paid)")
    refunded: Money = Field(description="of those, given back")
    forfeited: Money = Field(description="kept: cancelled late, or the customer did not come")
    kept_revenue: Decimal = Field(description="what deposits kept: the forfeited amount")


class WaitlistEntryOut(BaseModel):
    service: str
    starts_at: datetime
    status: str
    position: int = Field(description="place in line for that service and time")
    customer: CustomerOut


class Waitlist(BaseModel):
    by_status: dict[str, int]
    openings_filled: int = Field(description="entries that became bookings")
    waiting: list[WaitlistEntryOut] = Field(description="still waiting or on offer, ahead")


class Analytics(BaseModel):
    since: date
    until: date = Field(description="exclusive")
    timezone: str
    no_shows: NoShows
    reminders: Reminders
    deposits: Deposits
    waitlist: Waitlist


class AuditOut(BaseModel):
    at: datetime
    key_id: str | None
    action: str
    target: str
    payload: dict[str, object]

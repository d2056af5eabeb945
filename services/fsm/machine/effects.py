"""What the machine asks for (effects): plain frozen values the handler carries out after a
turn (`services/fsm/effects.py` applies each one). Split from `model`, which re-exports them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from libs.contracts.vocabulary import NoShowRisk

# --- effects ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """Say `text` to the customer, on the channel they wrote from. A reminder is a message
    the business starts (`purpose`), which a channel may have to send as a template."""

    text: str
    purpose: Literal["reply", "reminder", "notice"] = "reply"
    booking_id: uuid.UUID | None = None
    choices: tuple[str, ...] = ()  # quick replies a channel may offer as buttons


YES_NO = ("Yes", "No")
C_R_X = ("C", "R", "X")


@dataclass(frozen=True)
class AlertStaff:
    """Tell the business's staff (`owner_phone`, by SMS): a person is needed."""

    text: str


@dataclass(frozen=True)
class CreateBooking:
    """Store a booking: `held` with a pending deposit when `deposit` > 0, else `confirmed`.

    Two services booked together are paid in one checkout: the first asks for `checkout`
    (the sum); the second names it in `paid_with` and asks for nothing itself."""

    service: str
    start: datetime
    end: datetime
    resource: int
    deposit: Decimal
    booking_id: uuid.UUID
    reference: str
    checkout: Decimal | None = None
    paid_with: uuid.UUID | None = None


@dataclass(frozen=True)
class ConfirmBooking:
    """A held (or, for a late payment, expired) booking's deposit was paid."""

    booking_id: uuid.UUID
    resource: int


@dataclass(frozen=True)
class ExpireBooking:
    """The hold lapsed unpaid: the booking expires and its time is free again."""

    booking_id: uuid.UUID


@dataclass(frozen=True)
class RefundLatePayment:
    """A payment came after the hold lapsed and the time was taken meanwhile: the money
    goes back (payments refunds it) and the booking stays expired (or, for a move's late
    top-up, stays where it was)."""

    booking_id: uuid.UUID
    amount: Decimal
    whole_deposit: bool = True


@dataclass(frozen=True)
class RescheduleBooking:
    """Move the booking (same reference) to `[start, end)` on `resource`, now. `paid_top_up`
    is what a move that needed more deposit added (already paid)."""

    booking_id: uuid.UUID
    start: datetime
    end: datetime
    resource: int
    paid_top_up: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class HoldMove:
    """A move that needs `top_up` more deposit: hold the new time (a row of its own) and ask
    for the difference; the booking keeps its old time and status until it is paid."""

    booking_id: uuid.UUID
    hold_id: uuid.UUID
    start: datetime
    end: datetime
    resource: int
    top_up: Decimal


@dataclass(frozen=True)
class ReleaseMove:
    """The top-up was not paid in time: the held new time is free again."""

    booking_id: uuid.UUID


@dataclass(frozen=True)
class CancelBooking:
    """The customer confirmed (or staff cancelled for them, `by`): cancel, refunding a paid
    deposit when `refund`."""

    booking_id: uuid.UUID
    refund: bool
    by: Literal["customer", "staff"] = "customer"


@dataclass(frozen=True)
class ConfirmAttendance:
    """The customer answered a reminder with C / yes: they will come (risk low)."""

    booking_id: uuid.UUID


@dataclass(frozen=True)
class SetRisk:
    booking_id: uuid.UUID
    risk: NoShowRisk


@dataclass(frozen=True)
class CompleteBooking:
    """The appointment is over and staff did not mark it a no-show: it was kept."""

    booking_id: uuid.UUID


@dataclass(frozen=True)
class JoinWaitlist:
    """Put the customer on the list for `service` at `[start, end)`."""

    service: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class HoldOffer:
    """Keep `[start, end)` on `resource` for the waiting customer (a row of status
    `offered`) until `expires_at`, while it is offered to them."""

    entry_id: uuid.UUID
    booking_id: uuid.UUID
    service: str
    start: datetime
    end: datetime
    resource: int
    expires_at: datetime


@dataclass(frozen=True)
class TakeOffer:
    """The customer said yes: the held time gives way to their booking (same turn)."""

    entry_id: uuid.UUID


@dataclass(frozen=True)
class DeclineOffer:
    """The customer said no: the time goes to the next in line."""

    entry_id: uuid.UUID


@dataclass(frozen=True)
class LapseOffer:
    """Nobody answered in time: the time goes to the next in line."""

    entry_id: uuid.UUID


@dataclass(frozen=True)
class SetOptedOut:
    """STOP (True) or START (False): nothing more is sent while opted out."""

    opted_out: bool


Effect = (Reply | AlertStaff | CreateBooking | ConfirmBooking | ExpireBooking | RefundLatePayment
          | RescheduleBooking | HoldMove | ReleaseMove | CancelBooking | ConfirmAttendance
          | SetRisk | CompleteBooking | JoinWaitlist | HoldOffer | TakeOffer | DeclineOffer
          | LapseOffer | SetOptedOut)

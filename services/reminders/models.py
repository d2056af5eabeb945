"""reminders' tables. Only reminders writes them (docs/architecture.md, "Reminders").

- `reminders`: one row per booking, offset and start: when it is due and what became of it.
- `reminder_bookings`: the last booking event applied to each booking, so an event that
  arrives after a newer one (a confirmation after its cancellation) changes nothing.
- `reminder_opt_outs`: the customers who opted out, and when, so reminders planned for
  them while they are opted out are kept back (and a stale opt-in or opt-out is ignored).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal, get_args

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Index,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from libs.contracts.vocabulary import sql_in
from libs.db.base import Base

ReminderStatus = Literal["pending", "sent", "cancelled", "skipped", "opted_out"]
REMINDER_STATUSES: tuple[ReminderStatus, ...] = get_args(ReminderStatus)
LIVE_REMINDER_STATUSES: tuple[ReminderStatus, ...] = ("pending", "opted_out")
"""Not yet sent and still meant for the booking: a move or an end cancels these."""


class Reminder(Base):
    """A reminder of one booking's start (`starts_at`), `offset` before it (real elapsed
    time, moved out of quiet hours): `due_at`. The dispatcher sends the pending ones."""

    __tablename__ = "reminders"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    business_id: Mapped[str] = mapped_column(Text)
    booking_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    customer: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(16))
    service: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    offset: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        # Replanning upserts on it; it is also the index for lookups by booking.
        UniqueConstraint("booking_id", "offset", "starts_at"),
        CheckConstraint(sql_in("status", REMINDER_STATUSES), name="status"),
        Index("ix_reminders_pending_due", "due_at", postgresql_where=text("status = 'pending'")),
        Index("ix_reminders_customer", "business_id", "customer"),
    )


class ReminderBooking(Base):
    """The newest booking event applied to a booking: its envelope's `occurred_at` and its
    `stage` (expired 0, confirmed 1, rescheduled 2, ended 3: the order they can follow each
    other in, which breaks ties between equal instants)."""

    __tablename__ = "reminder_bookings"

    booking_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    business_id: Mapped[str] = mapped_column(Text)
    event_type: Mapped[str] = mapped_column(String(120))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stage: Mapped[int] = mapped_column(SmallInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())


class ReminderOptOut(Base):
    """A customer's opt-out at one business as last heard (`at`: when they said it)."""

    __tablename__ = "reminder_opt_outs"

    business_id: Mapped[str] = mapped_column(Text)
    customer: Mapped[str] = mapped_column(Text)
    opted_out: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (PrimaryKeyConstraint("business_id", "customer"),)

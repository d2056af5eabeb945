"""calendar's tables. Only calendar writes them (docs/architecture.md, "Calendar").

- `calendar_bookings`: per booking, what its newest event says the calendar should show
  (`occurred_at`, `stage`: so an older event never undoes a newer one), what the calendar is
  known to hold, and whether the two agree (`synced`).
- `calendar_busy`: per business, when its free/busy is next read and the fingerprint of
  the busy times last published, so only a change is published.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from libs.contracts.vocabulary import sql_in
from libs.db.base import Base

KNOWN = ("present", "absent", "unknown")


class CalendarBooking(Base):
    """One booking's event in Google Calendar: wanted (from the newest booking event) and
    known (from the last request). `revision` counts every change, so a request's result is
    recorded only if nothing changed while it was in flight."""

    __tablename__ = "calendar_bookings"

    booking_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    business_id: Mapped[str] = mapped_column(Text)
    calendar_id: Mapped[str] = mapped_column(Text)
    event_type: Mapped[str] = mapped_column(String(120))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stage: Mapped[int] = mapped_column(SmallInteger)
    shown: Mapped[bool] = mapped_column(Boolean)
    reference: Mapped[str] = mapped_column(Text)
    service: Mapped[str] = mapped_column(Text)
    customer: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    known: Mapped[str | None] = mapped_column(String(16))
    known_starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    known_ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    synced: Mapped[bool] = mapped_column(Boolean)
    revision: Mapped[int] = mapped_column(Integer)
    synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())

    __table_args__ = (
        CheckConstraint(sql_in("known", KNOWN), name="known"),
        Index("ix_calendar_bookings_ends_at", "ends_at", postgresql_where=text("synced")),
    )


class CalendarBusy(Base):
    """A business's free/busy polling: next due at `next_poll_at`; `digest` of the busy
    times last published (None: nothing published yet); `calendar_id` as last read from the
    profile (None: it has no calendar, so nothing is polled)."""

    __tablename__ = "calendar_busy"

    business_id: Mapped[str] = mapped_column(Text, primary_key=True)
    calendar_id: Mapped[str | None] = mapped_column(Text)
    next_poll_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    digest: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_calendar_busy_next_poll_at", "next_poll_at"),)

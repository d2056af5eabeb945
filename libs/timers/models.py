"""Durable timers: rows with a `due_at`, claimed by a ticker with FOR UPDATE SKIP LOCKED."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, String, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from libs.db.base import Base


class Timer(Base):
    """A timer belongs to one service (`owner`), which alone writes its rows; `key` makes
    scheduling idempotent (a reschedule replaces the row with the same key).

    Firing is two steps: a ticker claims due rows for a lease (`claimed_until`), runs the
    handler outside any transaction, and the handler's own transaction sets `fired_at` only
    if it is still unset. A ticker that dies after claiming loses its lease, and the timer
    fires later, still exactly once."""

    __tablename__ = "timers"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    owner: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(48))
    key: Mapped[str] = mapped_column(Text)
    business_id: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    fired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_until: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True),
        comment="a ticker is firing it until then; past it, another ticker may claim it")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())

    __table_args__ = (
        UniqueConstraint("owner", "key"),
        Index("ix_timers_due", "owner", "due_at", postgresql_where=text("fired_at IS NULL")),
    )

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
    scheduling idempotent (a reschedule replaces the row with the same key)."""

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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())

    __table_args__ = (
        UniqueConstraint("owner", "key"),
        Index("ix_timers_due", "owner", "due_at", postgresql_where=text("fired_at IS NULL")),
    )

"""payments' tables: deposits and the Stripe webhook events already applied."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Integer, Numeric, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from libs.db.base import Base


class Deposit(Base):
    """One checkout attempt for a booking's deposit (a reschedule top-up is another attempt)."""

    __tablename__ = "deposits"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    business_id: Mapped[str] = mapped_column(Text)
    booking_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), comment="open|paid|expired|refunded")
    payment_intent: Mapped[str | None] = mapped_column(Text, index=True)
    checkout_session_id: Mapped[str | None] = mapped_column(Text, unique=True)
    checkout_url: Mapped[str | None] = mapped_column(Text)
    hold_expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refund_id: Mapped[str | None] = mapped_column(Text)
    refunded_amount: Mapped[Decimal] = mapped_column(
        Numeric(10, 2), server_default="0",
        comment="given back so far; a deposit paid for two bookings is refunded in parts")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())

    __table_args__ = (UniqueConstraint("booking_id", "attempt"),)


class StripeWebhookEvent(Base):
    """An `evt_` id recorded in the same transaction as its effect: redelivery changes nothing."""

    __tablename__ = "stripe_webhook_events"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    type: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                   server_default=func.now())

"""Shared reference data: businesses and their service catalog.

Written only by `libs.business.service.import_profile` (the `business import` command);
every service may read it. The normalized profile in `businesses.profile` is the source of
truth; the other columns are copies kept for lookups and constraints (a channel address can
belong to one business only) and for reading the catalog in SQL.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    Numeric,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from libs.db.base import Base


class Business(Base):
    """One business, as last imported from its YAML profile."""

    __tablename__ = "businesses"

    id: Mapped[str] = mapped_column(Text, primary_key=True, comment="slug from the profile")
    name: Mapped[str] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(Text, comment="IANA zone of every wall-clock rule")
    currency: Mapped[str] = mapped_column(Text, comment="lower-case ISO 4217 (Stripe)")
    sms_number: Mapped[str | None] = mapped_column(
        Text, unique=True, comment="E.164; inbound SMS to it belongs to this business")
    whatsapp_phone_number_id: Mapped[str | None] = mapped_column(
        Text, unique=True, comment="WhatsApp Cloud API phone-number id")
    owner_phone: Mapped[str] = mapped_column(Text, comment="E.164; staff alerts")
    profile: Mapped[dict[str, Any]] = mapped_column(
        JSONB, comment="BusinessProfile.to_json_dict(): the source of truth")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())


class BusinessService(Base):
    """One entry of a business's catalog; replaced as a whole on every import."""

    __tablename__ = "business_services"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, comment="order in the profile")
    name: Mapped[str] = mapped_column(Text)
    aliases: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    deposit: Mapped[Decimal] = mapped_column(Numeric(10, 2), server_default=text("0"))

    __table_args__ = (
        UniqueConstraint("business_id", "name"),
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("deposit >= 0", name="deposit_not_negative"),
    )

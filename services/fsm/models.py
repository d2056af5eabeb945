"""fsm's tables: customers, conversations and bookings. Only fsm writes them."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID, ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from libs.contracts.vocabulary import (
    BOOKING_STATUSES,
    DEPOSIT_STATUSES,
    LANGUAGES,
    LIVE_BOOKING_STATUSES,
    OFFERED,
    BookingStatus,
    Channel,
    DepositStatus,
    Language,
    NoShowRisk,
    sql_in,
)
from libs.db.base import Base


class Customer(Base):
    """A customer as known to one business (the same phone at two businesses is two rows)."""

    __tablename__ = "customers"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    business_id: Mapped[str] = mapped_column(sa.ForeignKey("businesses.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(sa.Text, comment="E.164 phone or web:<session>")
    opted_out: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.text("false"))
    origin: Mapped[str | None] = mapped_column(
        sa.Text, comment="web chat: keyed hash of the IP address last written from, to cap "
                         "bookings per address (never the address itself)")
    # The record no-show risk starts from (docs/conversations.md, "No-show risk").
    kept: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"),
                                      comment="appointments completed")
    no_shows: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"),
                                          comment="appointments staff marked no_show")
    late_cancels: Mapped[int] = mapped_column(
        sa.Integer, server_default=sa.text("0"),
        comment="confirmed bookings cancelled inside the free-cancellation window")
    language: Mapped[Language] = mapped_column(
        sa.String(8), server_default="en",
        comment="the language replies are written in: changed only by a message that shows "
                "one (docs/conversations.md, \"Spanish\")")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True),
                                                 server_default=sa.func.now())

    __table_args__ = (
        sa.UniqueConstraint("business_id", "address"),
        sa.Index("ix_customers_origin", "business_id", "origin",
                 postgresql_where=sa.text("origin IS NOT NULL")),
        sa.CheckConstraint(sql_in("language", LANGUAGES), name="language_known"),
    )


class Conversation(Base):
    """The state machine's state for one customer; locked per turn (SELECT ... FOR UPDATE)."""

    __tablename__ = "conversations"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="CASCADE"), unique=True)
    business_id: Mapped[str] = mapped_column(sa.ForeignKey("businesses.id", ondelete="CASCADE"))
    channel: Mapped[Channel] = mapped_column(sa.String(16))
    state: Mapped[str] = mapped_column(sa.String(32), server_default="IDLE")
    context: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=sa.text("'{}'::jsonb"))
    last_customer_message_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    whatsapp_received_at: Mapped[datetime | None] = mapped_column(
        sa.DateTime(timezone=True),
        comment="when the customer's latest WhatsApp message was received: WhatsApp's "
                "24-hour window runs from it, and every reply carries it to notifier")
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True),
                                                 server_default=sa.func.now())
    taken_over_at: Mapped[datetime | None] = mapped_column(
        sa.DateTime(timezone=True),
        comment="set while a person has the conversation (admin's takeover): the bot "
                "records the customer's messages and answers none")
    released_at: Mapped[datetime | None] = mapped_column(
        sa.DateTime(timezone=True),
        comment="when staff last handed it back: an older takeover request arriving late "
                "changes nothing")


class TakeoverMessage(Base):
    """A customer's message received while a person had the conversation: recorded for
    staff (the admin API shows it), not answered by the bot."""

    __tablename__ = "takeover_messages"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    business_id: Mapped[str] = mapped_column(sa.ForeignKey("businesses.id", ondelete="CASCADE"))
    customer_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    channel: Mapped[Channel] = mapped_column(sa.String(16))
    text: Mapped[str] = mapped_column(sa.Text)
    received_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


# Equality spelled as the overlap of one-point ranges, which plain GiST indexes (no
# btree_gist extension: the demo's embedded PostgreSQL has no contrib modules). The business
# is compared by a 64-bit hash of its id: two businesses whose ids collide (odds about 1 in
# 2^64 per pair) would only see each other's bookings as taken, never a double booking.
SAME_BUSINESS = ("int8range(hashtextextended(business_id, 0), "
                 "hashtextextended(business_id, 0), '[]')")
SAME_RESOURCE = "int4range(resource, resource, '[]')"


class Booking(Base):
    """An appointment holding one resource over [starts_at, ends_at).

    The exclusion constraint is the final guard against double booking: two live bookings
    on one resource of one business can never overlap, whatever races above it.
    """

    __tablename__ = "bookings"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    seq: Mapped[int] = mapped_column(
        sa.BigInteger, sa.Identity(), unique=True,
        comment="creation order: bookings made in one turn share created_at")
    reference: Mapped[str] = mapped_column(sa.String(16), unique=True)
    business_id: Mapped[str] = mapped_column(sa.ForeignKey("businesses.id", ondelete="CASCADE"))
    customer_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="CASCADE"))
    service: Mapped[str] = mapped_column(sa.Text)
    resource: Mapped[int] = mapped_column(sa.Integer)
    starts_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    status: Mapped[BookingStatus] = mapped_column(
        sa.String(16), comment="or 'offered': a time kept for a waiting customer (waitlist)")
    deposit_status: Mapped[DepositStatus] = mapped_column(sa.String(16), server_default="none")
    deposit_amount: Mapped[Decimal | None] = mapped_column(sa.Numeric(10, 2))
    deposit_paid_amount: Mapped[Decimal | None] = mapped_column(
        sa.Numeric(10, 2), comment="what was paid before a top-up was asked for")
    deposit_requests: Mapped[int] = mapped_column(
        sa.Integer, server_default=sa.text("0"), comment="checkout attempts asked of payments")
    hold_expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    holds_for: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("bookings.id", ondelete="CASCADE"), index=True,
        comment="set on a row that only holds a new time for moving that booking until its "
                "deposit top-up is paid; not an appointment of its own")
    paid_with: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("bookings.id", ondelete="SET NULL"),
        comment="the booking whose checkout took this one's deposit (two services at once)")
    attendance_confirmed: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.text("false"))
    no_show_risk: Mapped[NoShowRisk | None] = mapped_column(sa.String(8))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True),
                                                 server_default=sa.func.now())
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True),
                                                 server_default=sa.func.now())

    __table_args__ = (
        # Every turn reads the business's bookings not yet over and the customer's own
        # (`turns._WORLD`); the staff's calendar reads a business's days: by index, not by
        # scanning every booking ever made (migration 0017).
        sa.Index("ix_bookings_customer_id", "customer_id"),
        sa.Index("ix_bookings_business_ends_at", "business_id", "ends_at"),
        sa.Index("ix_bookings_business_starts_at", "business_id", "starts_at"),
        sa.CheckConstraint("ends_at > starts_at", name="positive_duration"),
        sa.CheckConstraint(sql_in("status", (*BOOKING_STATUSES, OFFERED)), name="status"),
        sa.CheckConstraint(sql_in("deposit_status", DEPOSIT_STATUSES), name="deposit_status"),
        ExcludeConstraint(
            (sa.text(SAME_BUSINESS), "&&"),
            (sa.text(SAME_RESOURCE), "&&"),
            (sa.func.tstzrange(sa.text("starts_at"), sa.text("ends_at"), "[)"), "&&"),
            name="no_overlapping_live_bookings",
            using="gist",
            where=sa.text(sql_in("status", (*LIVE_BOOKING_STATUSES, OFFERED))),
        ),
    )


class KnownCheckout(Base):
    """A checkout session payments announced (`checkout.created`). fsm acts on a payment
    only for a session listed here, so a payment event nobody asked for changes nothing."""

    __tablename__ = "fsm_checkouts"

    checkout_session_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    booking_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("bookings.id", ondelete="CASCADE"), index=True)
    amount: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True),
                                                 server_default=sa.func.now())

    __table_args__ = {"comment": "checkout sessions payments announced; a payment for any "
                                 "other is ignored"}


WAITLIST_STATUSES = ("waiting", "offered", "booked", "declined", "lapsed", "expired",
                     "opted_out")


class WaitlistEntry(Base):
    """A customer waiting for a taken time (service and start), in the order they joined.
    While the time is offered to them it is held by a booking row of status `offered`."""

    __tablename__ = "waitlist_entries"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    seq: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), unique=True,
                                     comment="the order customers joined in")
    business_id: Mapped[str] = mapped_column(sa.ForeignKey("businesses.id", ondelete="CASCADE"))
    customer_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="CASCADE"))
    service: Mapped[str] = mapped_column(sa.Text)
    starts_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    status: Mapped[str] = mapped_column(sa.String(16), server_default="waiting")
    offer_booking_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), comment="the offered row holding the time while it is offered")
    offer_expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    offers: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True),
                                                 server_default=sa.func.now())
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True),
                                                 server_default=sa.func.now())

    __table_args__ = (
        sa.CheckConstraint(sql_in("status", WAITLIST_STATUSES), name="status"),
        sa.Index("uq_waitlist_once", "customer_id", "service", "starts_at", unique=True,
                 postgresql_where=sa.text("status IN ('waiting','offered')")),
        sa.Index("uq_waitlist_one_offer", "customer_id", unique=True,
                 postgresql_where=sa.text("status = 'offered'")),
        sa.Index("ix_waitlist_waiting", "business_id", "starts_at",
                 postgresql_where=sa.text("status = 'waiting'")),
    )


class BlockedTime(Base):
    """A time the business's own calendar shows busy (a staff member's personal
    appointment), as calendar last reported it: no resource is free over it."""

    __tablename__ = "blocked_times"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    business_id: Mapped[str] = mapped_column(sa.Text)
    starts_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))

    __table_args__ = (
        sa.CheckConstraint("ends_at > starts_at", name="positive_duration"),
        sa.Index("ix_blocked_times_business_id", "business_id", "starts_at"),
    )


class BlockedTimeImport(Base):
    """When a business's blocked times were last read from its calendar (`checked_at` of the
    `calendar.busy.changed` applied), so an older report never replaces a newer one."""

    __tablename__ = "blocked_time_imports"

    business_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    checked_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))

"""waitlist_entries, and bookings.status 'offered': a time kept for a waiting customer

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

CONSTRAINT = "no_overlapping_live_bookings"
EXCLUDE = (
    f"ALTER TABLE bookings ADD CONSTRAINT {CONSTRAINT} EXCLUDE USING gist ("
    "int8range(hashtextextended(business_id, 0), hashtextextended(business_id, 0), '[]')"
    " WITH &&, int4range(resource, resource, '[]') WITH &&, "
    "tstzrange(starts_at, ends_at, '[)') WITH &&) WHERE (status IN ({statuses}))")
STATUSES = "'held','confirmed','cancelled','expired','completed','no_show'"


def _booking_statuses(extra: str, live: str) -> None:
    op.drop_constraint(op.f("ck_bookings_status"), "bookings", type_="check")
    op.create_check_constraint(op.f("ck_bookings_status"), "bookings",
                               f"status IN ({STATUSES}{extra})")
    # Dropped and added in one transaction: no moment is unguarded.
    op.execute(f"ALTER TABLE bookings DROP CONSTRAINT {CONSTRAINT}")
    op.execute(EXCLUDE.format(statuses=live))


def upgrade() -> None:
    _booking_statuses(",'offered'", "'held','confirmed','offered'")
    op.alter_column("bookings", "status", existing_type=sa.String(16),
                    comment="or 'offered': a time kept for a waiting customer (waitlist)")
    op.create_table(
        "waitlist_entries",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("seq", sa.BigInteger(), sa.Identity(), nullable=False,
                  comment="the order customers joined in"),
        sa.Column("business_id", sa.Text(),
                  sa.ForeignKey("businesses.id", ondelete="CASCADE"), nullable=False),
        sa.Column("customer_id", UUID(as_uuid=True),
                  sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("service", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), server_default="waiting", nullable=False),
        sa.Column("offer_booking_id", UUID(as_uuid=True), nullable=True,
                  comment="the offered row holding the time while it is offered"),
        sa.Column("offer_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("offers", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.CheckConstraint(
            "status IN ('waiting','offered','booked','declined','lapsed','expired',"
            "'opted_out')", name=op.f("ck_waitlist_entries_status")),
        sa.UniqueConstraint("seq", name=op.f("uq_waitlist_entries_seq")),
    )
    op.create_index("uq_waitlist_once", "waitlist_entries",
                    ["customer_id", "service", "starts_at"], unique=True,
                    postgresql_where=sa.text("status IN ('waiting','offered')"))
    op.create_index("uq_waitlist_one_offer", "waitlist_entries", ["customer_id"], unique=True,
                    postgresql_where=sa.text("status = 'offered'"))
    op.create_index("ix_waitlist_waiting", "waitlist_entries", ["business_id", "starts_at"],
                    postgresql_where=sa.text("status = 'waiting'"))


def downgrade() -> None:
    op.drop_table("waitlist_entries")
    op.execute("DELETE FROM bookings WHERE status = 'offered'")
    _booking_statuses("", "'held','confirmed'")

"""calendar: each booking's event in Google Calendar (wanted, known, in sync) and each
business's free/busy polling; fsm's blocked times (the business's own busy times) and when
they were last read

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_bookings",
        sa.Column("booking_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("business_id", sa.Text(), nullable=False),
        sa.Column("calendar_id", sa.Text(), nullable=False),
        sa.Column("event_type", sa.String(length=120), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stage", sa.SmallInteger(), nullable=False),
        sa.Column("shown", sa.Boolean(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("service", sa.Text(), nullable=False),
        sa.Column("customer", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("known", sa.String(length=16), nullable=True),
        sa.Column("known_starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("known_ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("synced", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.CheckConstraint("known IN ('present','absent','unknown')",
                           name=op.f("ck_calendar_bookings_known")),
    )
    op.create_index("ix_calendar_bookings_ends_at", "calendar_bookings", ["ends_at"],
                    postgresql_where=sa.text("synced"))
    op.create_table(
        "calendar_busy",
        sa.Column("business_id", sa.Text(), primary_key=True),
        sa.Column("calendar_id", sa.Text(), nullable=True),
        sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("digest", sa.Text(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_calendar_busy_next_poll_at", "calendar_busy", ["next_poll_at"])
    op.create_table(
        "blocked_times",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("business_id", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("ends_at > starts_at",
                           name=op.f("ck_blocked_times_positive_duration")),
    )
    op.create_index("ix_blocked_times_business_id", "blocked_times",
                    ["business_id", "starts_at"])
    op.create_table(
        "blocked_time_imports",
        sa.Column("business_id", sa.Text(), primary_key=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("blocked_time_imports")
    op.drop_index("ix_blocked_times_business_id", table_name="blocked_times")
    op.drop_table("blocked_times")
    op.drop_index("ix_calendar_busy_next_poll_at", table_name="calendar_busy")
    op.drop_table("calendar_busy")
    op.drop_index("ix_calendar_bookings_ends_at", table_name="calendar_bookings")
    op.drop_table("calendar_bookings")

"""reminders: each booking's reminders and when they are due; the last booking event and
opt-out heard, so events arriving out of order change nothing

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reminders",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("business_id", sa.Text(), nullable=False),
        sa.Column("booking_id", UUID(as_uuid=True), nullable=False),
        sa.Column("customer", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("service", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("offset", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("booking_id", "offset", "starts_at",
                            name=op.f("uq_reminders_booking_id")),
        sa.CheckConstraint(
            "status IN ('pending','sent','cancelled','skipped','opted_out')",
            name=op.f("ck_reminders_status")),
    )
    op.create_index("ix_reminders_pending_due", "reminders", ["due_at"],
                    postgresql_where=sa.text("status = 'pending'"))
    op.create_index("ix_reminders_customer", "reminders", ["business_id", "customer"])
    op.create_table(
        "reminder_bookings",
        sa.Column("booking_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("business_id", sa.Text(), nullable=False),
        sa.Column("event_type", sa.String(length=120), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stage", sa.SmallInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
    )
    op.create_table(
        "reminder_opt_outs",
        sa.Column("business_id", sa.Text(), nullable=False),
        sa.Column("customer", sa.Text(), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("business_id", "customer", name=op.f("pk_reminder_opt_outs")),
    )


def downgrade() -> None:
    op.drop_table("reminder_opt_outs")
    op.drop_table("reminder_bookings")
    op.drop_index("ix_reminders_customer", table_name="reminders")
    op.drop_index("ix_reminders_pending_due", table_name="reminders")
    op.drop_table("reminders")

"""fsm_checkouts: the checkout sessions fsm heard of, so it ignores a payment for any other

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fsm_checkouts",
        sa.Column("checkout_session_id", sa.Text(), primary_key=True),
        sa.Column("booking_id", UUID(as_uuid=True),
                  sa.ForeignKey("bookings.id", ondelete="CASCADE"), nullable=False),
        sa.Column("amount", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        comment="checkout sessions payments announced; a payment for any other is ignored")
    op.create_index("ix_fsm_checkouts_booking_id", "fsm_checkouts", ["booking_id"])
    # Deposits asked for before this revision: their sessions were announced already.
    op.execute("""
        INSERT INTO fsm_checkouts (checkout_session_id, booking_id, amount)
        SELECT d.checkout_session_id, d.booking_id, d.amount FROM deposits d
        WHERE d.checkout_session_id IS NOT NULL
          AND EXISTS (SELECT 1 FROM bookings b WHERE b.id = d.booking_id)
        ON CONFLICT DO NOTHING""")


def downgrade() -> None:
    op.drop_table("fsm_checkouts")

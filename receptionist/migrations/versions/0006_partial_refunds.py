"""deposits.refunded_amount: a deposit paid for two bookings is refunded in parts

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("deposits", sa.Column(
        "refunded_amount", sa.Numeric(precision=10, scale=2), server_default="0",
        nullable=False,
        comment="given back so far; a deposit paid for two bookings is refunded in parts"))
    op.execute("UPDATE deposits SET refunded_amount = amount WHERE status = 'refunded'")


def downgrade() -> None:
    op.drop_column("deposits", "refunded_amount")

"""bookings.holds_for (a new time held while a move's top-up is unpaid) and
bookings.paid_with (two services paid in one checkout)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("bookings", sa.Column(
        "holds_for", sa.UUID(), nullable=True,
        comment="set on a row that only holds a new time for moving that booking until its "
                "deposit top-up is paid; not an appointment of its own"))
    op.add_column("bookings", sa.Column(
        "paid_with", sa.UUID(), nullable=True,
        comment="the booking whose checkout took this one's deposit (two services at once)"))
    op.create_index(op.f("ix_bookings_holds_for"), "bookings", ["holds_for"])
    op.create_foreign_key(op.f("fk_bookings_holds_for_bookings"), "bookings", "bookings",
                          ["holds_for"], ["id"], ondelete="CASCADE")
    op.create_foreign_key(op.f("fk_bookings_paid_with_bookings"), "bookings", "bookings",
                          ["paid_with"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    op.drop_constraint(op.f("fk_bookings_paid_with_bookings"), "bookings", type_="foreignkey")
    op.drop_constraint(op.f("fk_bookings_holds_for_bookings"), "bookings", type_="foreignkey")
    op.drop_index(op.f("ix_bookings_holds_for"), table_name="bookings")
    op.drop_column("bookings", "paid_with")
    op.drop_column("bookings", "holds_for")

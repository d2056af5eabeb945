"""customers.kept, no_shows, late_cancels: the record no-show risk starts from

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

COLUMNS = (
    ("kept", "appointments completed"),
    ("no_shows", "appointments staff marked no_show"),
    ("late_cancels", "confirmed bookings cancelled inside the free-cancellation window"),
)


def upgrade() -> None:
    for name, comment in COLUMNS:
        op.add_column("customers", sa.Column(name, sa.Integer(), server_default="0",
                                             nullable=False, comment=comment))
    # The record so far, from the bookings already there.
    op.execute("""
        UPDATE customers c SET
          kept = (SELECT count(*) FROM bookings b
                  WHERE b.customer_id = c.id AND b.status = 'completed'),
          no_shows = (SELECT count(*) FROM bookings b
                      WHERE b.customer_id = c.id AND b.status = 'no_show')""")


def downgrade() -> None:
    for name, _ in COLUMNS:
        op.drop_column("customers", name)

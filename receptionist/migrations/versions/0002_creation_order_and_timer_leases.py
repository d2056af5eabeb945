"""bookings.seq (a stable creation order) and timers.claimed_until (timer leases)

Bookings made in the same turn (or the same simulated minute) share `created_at`, and
ordering by the random id broke the tie at random: an identity column orders them as they
were inserted. Timers are claimed for a lease and fired in the handler's own transaction,
so no row lock is held while a handler calls an outside system.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("bookings", sa.Column(
        "seq", sa.BigInteger(), sa.Identity(always=False), nullable=False,
        comment="creation order: bookings made in one turn share created_at"))
    op.create_unique_constraint(op.f("uq_bookings_seq"), "bookings", ["seq"])
    op.add_column("timers", sa.Column(
        "claimed_until", sa.DateTime(timezone=True), nullable=True,
        comment="a ticker is firing it until then; past it, another ticker may claim it"))


def downgrade() -> None:
    op.drop_column("timers", "claimed_until")
    op.drop_constraint(op.f("uq_bookings_seq"), "bookings", type_="unique")
    op.drop_column("bookings", "seq")

"""bookings.seq: a stable creation order

Bookings made in the same turn (or the same simulated minute) share `created_at`, and
ordering by the random id broke the tie at random. An identity column orders them as
they were inserted.

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


def downgrade() -> None:
    op.drop_constraint(op.f("uq_bookings_seq"), "bookings", type_="unique")
    op.drop_column("bookings", "seq")

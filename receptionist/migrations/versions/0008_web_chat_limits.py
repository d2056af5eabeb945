"""customers.origin: web chat's keyed hash of a visitor's IP address, so fsm can cap the
bookings one address makes in a day (never the address itself)

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("customers", sa.Column(
        "origin", sa.Text(), nullable=True,
        comment="web chat: keyed hash of the IP address last written from, to cap bookings "
                "per address (never the address itself)"))
    op.create_index("ix_customers_origin", "customers", ["business_id", "origin"],
                    postgresql_where=sa.text("origin IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_customers_origin", table_name="customers")
    op.drop_column("customers", "origin")

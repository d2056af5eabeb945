"""message_log.seq: the order messages were sent, for the web chat's reply stream

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("message_log", sa.Column(
        "seq", sa.BigInteger(), sa.Identity(always=False), nullable=False,
        comment="send order: the web chat's reply stream resumes after the last one seen"))
    op.create_unique_constraint(op.f("uq_message_log_seq"), "message_log", ["seq"])
    op.create_index("ix_message_log_recipient", "message_log", ["business_id", "to", "seq"])


def downgrade() -> None:
    op.drop_index("ix_message_log_recipient", table_name="message_log")
    op.drop_constraint(op.f("uq_message_log_seq"), "message_log", type_="unique")
    op.drop_column("message_log", "seq")

"""WhatsApp's 24-hour window travels with each reply: fsm keeps when a customer's latest
WhatsApp message was received (conversations.whatsapp_received_at), every reply carries it,
and notifier records it with the message (message_log.customer_wrote_at). notifier no longer
consumes every inbound message to keep its own copy, so notifier_windows goes; what it held
is carried over to the conversations first.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("conversations", sa.Column(
        "whatsapp_received_at", sa.DateTime(timezone=True), nullable=True,
        comment="when the customer's latest WhatsApp message was received: WhatsApp's "
                "24-hour window runs from it, and every reply carries it to notifier"))
    op.execute("""
        UPDATE conversations AS c SET whatsapp_received_at = w.last_inbound_at
        FROM customers AS cu, notifier_windows AS w
        WHERE cu.id = c.customer_id AND w.business_id = cu.business_id
          AND w.customer = cu.address""")
    op.add_column("message_log", sa.Column(
        "customer_wrote_at", sa.DateTime(timezone=True), nullable=True,
        comment="WhatsApp: when the customer's latest message there was received, as the "
                "reply said (free text within 24 hours of it, a template after)"))
    op.drop_index(op.f("ix_notifier_windows_last_inbound_at"), table_name="notifier_windows")
    op.drop_table("notifier_windows")


def downgrade() -> None:
    op.create_table(
        "notifier_windows",
        sa.Column("business_id", sa.Text(), nullable=False),
        sa.Column("customer", sa.Text(), nullable=False, comment="E.164"),
        sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("business_id", "customer", name=op.f("pk_notifier_windows")),
    )
    op.create_index(op.f("ix_notifier_windows_last_inbound_at"), "notifier_windows",
                    ["last_inbound_at"])
    op.execute("""
        INSERT INTO notifier_windows (business_id, customer, last_inbound_at)
        SELECT cu.business_id, cu.address, c.whatsapp_received_at
        FROM conversations AS c JOIN customers AS cu ON cu.id = c.customer_id
        WHERE c.whatsapp_received_at IS NOT NULL""")
    op.drop_column("message_log", "customer_wrote_at")
    op.drop_column("conversations", "whatsapp_received_at")

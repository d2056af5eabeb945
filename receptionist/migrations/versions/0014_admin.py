"""admin: businesses' API keys and the audit log; conversations a person has taken over,
and the customer messages recorded meanwhile

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("business_id", sa.Text(),
                  sa.ForeignKey("businesses.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False,
                  comment="hex SHA-256 of the whole key"),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("key_hash", name=op.f("uq_admin_keys_key_hash")),
    )
    op.create_index("ix_admin_keys_business_id", "admin_keys", ["business_id"])
    op.create_table(
        "admin_audit",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("business_id", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target", sa.Text(), server_default="", nullable=False),
        sa.Column("payload", JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_admin_audit_business_at", "admin_audit", ["business_id", "at"])
    op.add_column("conversations", sa.Column(
        "taken_over_at", sa.DateTime(timezone=True), nullable=True,
        comment="set while a person has the conversation (admin's takeover): the bot "
                "records the customer's messages and answers none"))
    op.add_column("conversations", sa.Column(
        "released_at", sa.DateTime(timezone=True), nullable=True,
        comment="when staff last handed it back: an older takeover request arriving late "
                "changes nothing"))
    op.create_table(
        "takeover_messages",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("business_id", sa.Text(),
                  sa.ForeignKey("businesses.id", ondelete="CASCADE"), nullable=False),
        sa.Column("customer_id", UUID(as_uuid=True),
                  sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_takeover_messages_customer_id", "takeover_messages", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_takeover_messages_customer_id", table_name="takeover_messages")
    op.drop_table("takeover_messages")
    op.drop_column("conversations", "released_at")
    op.drop_column("conversations", "taken_over_at")
    op.drop_index("ix_admin_audit_business_at", table_name="admin_audit")
    op.drop_table("admin_audit")
    op.drop_index("ix_admin_keys_business_id", table_name="admin_keys")
    op.drop_table("admin_keys")

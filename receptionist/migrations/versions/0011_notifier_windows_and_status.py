"""notifier sends for real: message_log keeps what a provider needs to send a message again
(purpose, quick replies, when it was asked for) and every part's provider id; the statuses
providers reported (kept even before the message's row has the id); each WhatsApp customer's
last message (the 24-hour window); who opted out

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

LOG_STATUSES = ("sending", "queued", "sent", "delivered", "read", "failed", "undelivered",
                "suppressed", "dead")


def upgrade() -> None:
    op.add_column("message_log", sa.Column(
        "purpose", sa.String(length=16), server_default="reply", nullable=False,
        comment="reply, reminder, alert or notice (an opt-out confirmation: sent regardless)"))
    op.add_column("message_log", sa.Column(
        "choices", ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False,
        comment="quick replies the channel may offer as buttons"))
    op.add_column("message_log", sa.Column(
        "requested_at", sa.DateTime(timezone=True), nullable=True,
        comment="when it was asked for (the command's occurred_at): the order it leaves in"))
    op.add_column("message_log", sa.Column(
        "provider_message_ids", ARRAY(sa.Text()), server_default=sa.text("'{}'"),
        nullable=False,
        comment="every part's provider id (an SMS over 1600 characters goes in parts)"))
    op.add_column("message_log", sa.Column(
        "attempts", sa.Integer(), server_default="0", nullable=False,
        comment="provider calls made for it"))
    op.add_column("message_log", sa.Column(
        "sent_as", sa.String(length=16), nullable=True,
        comment="text, buttons or template (WhatsApp), sms, web"))
    op.create_index("ix_message_log_provider_message_ids", "message_log",
                    ["provider_message_ids"], postgresql_using="gin")
    op.create_check_constraint(
        op.f("ck_message_log_status_known"), "message_log",
        "status IN (" + ",".join(f"'{s}'" for s in LOG_STATUSES) + ")")

    op.create_table(
        "notifier_message_statuses",
        sa.Column("provider_message_id", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.Text(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.PrimaryKeyConstraint("provider_message_id", "status",
                                name=op.f("pk_notifier_message_statuses")),
    )
    op.create_index(op.f("ix_notifier_message_statuses_recorded_at"),
                    "notifier_message_statuses", ["recorded_at"])
    op.create_table(
        "notifier_windows",
        sa.Column("business_id", sa.Text(), nullable=False),
        sa.Column("customer", sa.Text(), nullable=False, comment="E.164"),
        sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("business_id", "customer", name=op.f("pk_notifier_windows")),
    )
    op.create_index(op.f("ix_notifier_windows_last_inbound_at"), "notifier_windows",
                    ["last_inbound_at"])
    op.create_table(
        "notifier_suppressions",
        sa.Column("business_id", sa.Text(), nullable=False),
        sa.Column("customer", sa.Text(), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("business_id", "customer",
                                name=op.f("pk_notifier_suppressions")),
    )


def downgrade() -> None:
    op.drop_table("notifier_suppressions")
    op.drop_index(op.f("ix_notifier_windows_last_inbound_at"), table_name="notifier_windows")
    op.drop_table("notifier_windows")
    op.drop_index(op.f("ix_notifier_message_statuses_recorded_at"),
                  table_name="notifier_message_statuses")
    op.drop_table("notifier_message_statuses")
    op.drop_constraint(op.f("ck_message_log_status_known"), "message_log", type_="check")
    op.drop_index("ix_message_log_provider_message_ids", table_name="message_log")
    for column in ("sent_as", "attempts", "provider_message_ids", "requested_at", "choices",
                   "purpose"):
        op.drop_column("message_log", column)

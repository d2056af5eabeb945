"""customers.language: the language each customer is answered in; message_log.language: the
language a reply is written in (notifier picks the WhatsApp template by it)

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("customers", sa.Column(
        "language", sa.String(8), server_default="en", nullable=False,
        comment='the language replies are written in: changed only by a message that shows '
                'one (docs/conversations.md, "Spanish")'))
    op.create_check_constraint(op.f("ck_customers_language_known"), "customers",
                               "language IN ('en','es')")
    op.add_column("message_log", sa.Column(
        "language", sa.String(8), nullable=True,
        comment="the language the text is written in: picks the WhatsApp template"))


def downgrade() -> None:
    op.drop_column("message_log", "language")
    op.drop_constraint(op.f("ck_customers_language_known"), "customers", type_="check")
    op.drop_column("customers", "language")

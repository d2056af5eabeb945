"""admin's tables: the businesses' API keys and the audit log of what staff did. Only admin
writes them (`receptionist business key ...` is admin's code, run by the CLI).

admin is also the one service that reads other services' tables, for reporting (a read
model: docs/admin.md, "Reads and writes"); it changes them only through their owner's code
or commands.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from libs.db.base import Base


class AdminKey(Base):
    """An API key of one business. Only its SHA-256 is kept: the key itself is shown once,
    when it is created. `id` names it (to list and revoke it, in the audit log, in the
    dashboard's session cookie); `prefix` is its first characters, to recognise it."""

    __tablename__ = "admin_keys"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    business_id: Mapped[str] = mapped_column(sa.ForeignKey("businesses.id", ondelete="CASCADE"),
                                             index=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True,
                                          comment="hex SHA-256 of the whole key")
    prefix: Mapped[str] = mapped_column(sa.Text)
    label: Mapped[str] = mapped_column(sa.Text, server_default="")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class AdminAudit(Base):
    """One row per admin action, written in the action's own transaction: who (the key),
    what (`action`), to what (`target`: a booking reference, a customer, the profile) and
    with which arguments (`payload`)."""

    __tablename__ = "admin_audit"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    business_id: Mapped[str] = mapped_column(sa.Text)
    key_id: Mapped[str | None] = mapped_column(sa.String(32))
    action: Mapped[str] = mapped_column(sa.String(40))
    target: Mapped[str] = mapped_column(sa.Text, server_default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=sa.text("'{}'::jsonb"))
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))

    __table_args__ = (sa.Index("ix_admin_audit_business_at", "business_id", "at"),)

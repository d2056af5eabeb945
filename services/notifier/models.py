"""notifier's message log: every outbound send and its delivery status."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Identity, Index, String, Text, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from libs.db.base import Base


class MessageLog(Base):
    __tablename__ = "message_log"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    seq: Mapped[int] = mapped_column(
        BigInteger, Identity(), unique=True,
        comment="send order: the web chat's reply stream resumes after the last one seen")
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True,
                                                comment="the reply.requested event it delivers")
    business_id: Mapped[str] = mapped_column(Text, index=True)
    channel: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(8), server_default="out")
    audience: Mapped[str] = mapped_column(String(16))
    to: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(Text, index=True)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())

    __table_args__ = (Index("ix_message_log_recipient", "business_id", "to", "seq"),)

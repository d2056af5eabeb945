"""notifier's tables: every outbound message and its delivery status, the statuses providers
reported, each WhatsApp customer's last message (the 24-hour window), and who opted out."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from typing import cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Identity,
    Index,
    Integer,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from libs.contracts.vocabulary import sql_in
from libs.db.base import Base

LOG_STATUSES: tuple[str, ...] = (
    "sending", "queued", "sent", "delivered", "read", "failed", "undelivered", "suppressed",
    "dead")
"""`sending`: recorded, not yet accepted by the provider (the only status that is sent, or
sent again); `queued` ... `read`: what the provider said; `failed` / `undelivered`: it never
arrived; `suppressed`: not sent, the customer opted out; `dead`: given up (dead-lettered
with the reason), sent again only when the message is replayed. docs/architecture.md,
"Delivery statuses"."""


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
    purpose: Mapped[str] = mapped_column(
        String(16), server_default="reply",
        comment="reply, reminder, alert or notice (an opt-out confirmation: sent regardless)")
    choices: Mapped[list[str]] = mapped_column(
        ARRAY(Text), server_default=text("'{}'"),
        comment="quick replies the channel may offer as buttons")
    requested_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True),
        comment="when it was asked for (the command's occurred_at): the order it leaves in")
    provider_message_ids: Mapped[list[str]] = mapped_column(
        ARRAY(Text), server_default=text("'{}'"),
        comment="every part's provider id (an SMS over 1600 characters goes in parts)")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0",
                                          comment="provider calls made for it")
    sent_as: Mapped[str | None] = mapped_column(
        String(16), comment="text, buttons or template (WhatsApp), sms, web")
    language: Mapped[str | None] = mapped_column(
        String(8), comment="the language the text is written in: picks the WhatsApp template")
    customer_wrote_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True),
        comment="WhatsApp: when the customer's latest message there was received, as the "
                "reply said (free text within 24 hours of it, a template after)")

    __table_args__ = (
        Index("ix_message_log_recipient", "business_id", "to", "seq"),
        Index("ix_message_log_provider_message_ids", "provider_message_ids",
              postgresql_using="gin"),
        CheckConstraint(sql_in("status", LOG_STATUSES), name="status_known"),
    )


MESSAGE_LOG = cast(Table, MessageLog.__table__)
"""The message log's table, for the statements every reply sends: run on the mapped class,
an INSERT or UPDATE takes the ORM's bulk path, which builds the statement and its cache key
again on every call (docs/scaling.md, "What a statement costs in Python")."""


class MessageStatus(Base):
    """Every status a provider reported, by its message id, in whatever order it came: kept
    even when no message_log row has that id yet (a status can beat our own commit), and
    applied to the row when it gets the id."""

    __tablename__ = "notifier_message_statuses"

    provider_message_id: Mapped[str] = mapped_column(Text, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(Text)
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now(), index=True)


class Suppression(Base):
    """Whether a customer opted out of a business's messages (STOP) or back in (START), as
    of `changed_at`: an older change arriving late never overrides a newer one."""

    __tablename__ = "notifier_suppressions"

    business_id: Mapped[str] = mapped_column(Text, primary_key=True)
    customer: Mapped[str] = mapped_column(Text, primary_key=True)
    opted_out: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass
class Outgoing:
    """A recorded message about to be sent, as `delivery._NEXT_UNSENT` read it (locked): its
    columns, not a loaded object. What the sending transaction decides about it is written
    by `statuses.settle` or `statuses.stamp_sent`, one statement."""

    id: uuid.UUID
    seq: int
    business_id: str
    channel: str
    audience: str
    purpose: str
    to: str
    body: str
    choices: list[str] | None
    language: str | None
    customer_wrote_at: datetime | None
    requested_at: datetime | None
    created_at: datetime
    status: str
    error: str | None
    attempts: int
    provider_message_id: str | None
    updated_at: datetime


OUTGOING_COLUMNS = [MESSAGE_LOG.c[f.name] for f in fields(Outgoing)]
"""The message log's columns an `Outgoing` is made of, in its order: `Outgoing(*row)`."""

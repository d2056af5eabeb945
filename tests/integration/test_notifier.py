"""notifier records an attempt before it calls the provider and never resends a message the
provider already took."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.clock import SystemClock
from services.notifier.adapters.base import OutboundMessage
from services.notifier.adapters.recording import RecordingChannel
from services.notifier.handlers import NotifierDeps, on_reply_requested
from services.notifier.models import MessageLog
from tests.helpers import handle_envelope, reply_envelope

pytestmark = pytest.mark.integration
Sessions = async_sessionmaker[AsyncSession]


class FailingOnce(RecordingChannel):
    """The provider is down for the first call."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def send(self, message: OutboundMessage) -> str:
        self.calls += 1
        if self.calls == 1:
            raise ConnectionError("provider down")
        return await super().send(message)


async def logged(sessions: Sessions, event_id: uuid.UUID) -> MessageLog:
    async with sessions() as s:
        return (await s.scalars(select(MessageLog).where(MessageLog.event_id == event_id))).one()


async def test_a_failed_send_leaves_the_attempt_and_the_retry_sends_it_once(
        session_factory: Sessions) -> None:
    channel = FailingOnce()
    envelope = reply_envelope("see you at 3")
    with pytest.raises(ConnectionError):
        await handle_envelope(on_reply_requested, envelope, NotifierDeps(channel),
                              sessions=session_factory, clock=SystemClock(),
                              consumer="notifier")
    assert (await logged(session_factory, envelope.event_id)).status == "sending"
    await handle_envelope(on_reply_requested, envelope, NotifierDeps(channel),
                          sessions=session_factory, clock=SystemClock(), consumer="notifier")
    row = await logged(session_factory, envelope.event_id)
    assert (row.status, row.provider_message_id) == ("sent", "rec-1")
    assert [m.text for m in channel.sent] == ["see you at 3"]


async def test_a_message_the_provider_took_is_never_sent_again(
        session_factory: Sessions) -> None:
    """The provider answered and the status was recorded, but the inbox row was lost with
    the crash: the redelivery finds the message sent and sends nothing."""
    channel = RecordingChannel()
    envelope = reply_envelope("your booking is confirmed")
    await handle_envelope(on_reply_requested, envelope, NotifierDeps(channel),
                          sessions=session_factory, clock=SystemClock(), consumer="notifier")
    redelivered = envelope.model_copy()  # same event id, and no inbox entry for a new consumer
    await handle_envelope(on_reply_requested, redelivered, NotifierDeps(channel),
                          sessions=session_factory, clock=SystemClock(),
                          consumer="notifier-replica")
    assert len(channel.sent) == 1


async def test_the_log_row_carries_the_message(session_factory: Sessions) -> None:
    envelope = reply_envelope("hello")
    await handle_envelope(on_reply_requested, envelope, NotifierDeps(RecordingChannel()),
                          sessions=session_factory, clock=SystemClock(), consumer="notifier")
    row = await logged(session_factory, envelope.event_id)
    assert (row.to, row.body, row.audience, row.channel) == ("+15555550100", "hello",
                                                             "customer", "sms")

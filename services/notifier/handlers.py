"""notifier: deliver what fsm asked for through the customer's channel, and log it.

The attempt is recorded first (a `sending` row, in its own transaction), then the provider
is called, then the row says `sent` with the provider's id, in the same transaction as the
inbox row. A redelivery that finds the row `sent` never sends again. Only a crash between
the provider's answer and that commit (no provider here takes an idempotency key) can send
a message twice: delivery is at least once, in that narrow window only.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from libs.bus.context import HandlerContext, HandlerMap
from libs.contracts.commands import ReplyRequested
from libs.contracts.events import DeliveryStatus
from libs.logs import mask_phone
from libs.metrics import OUTBOUND_MESSAGES
from services.notifier.adapters.base import OutboundChannel, OutboundMessage
from services.notifier.models import MessageLog

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NotifierDeps:
    channel: OutboundChannel


async def on_reply_requested(ctx: HandlerContext, command: ReplyRequested,
                             deps: NotifierDeps) -> None:
    assert ctx.envelope is not None
    event_id = ctx.envelope.event_id
    async with ctx.record() as session:
        await session.execute(insert(MessageLog).values(
            id=uuid.uuid4(), event_id=event_id, business_id=ctx.business_id,
            channel=command.channel, audience=command.audience, to=command.to,
            body=command.text, status="sending").on_conflict_do_nothing(
                index_elements=[MessageLog.event_id]))
        attempt = (await session.scalars(select(MessageLog).where(
            MessageLog.event_id == event_id))).one()
    if attempt.status != "sending":
        log.info("%s message %s was already sent; not sending it again", command.channel,
                 event_id)
        return  # the inbox row is written for it when the handler returns
    message = OutboundMessage(business_id=ctx.business_id, channel=command.channel,
                              to=command.to, text=command.text, audience=command.audience)
    try:
        provider_id = await deps.channel.send(message)
    except Exception as exc:
        OUTBOUND_MESSAGES.labels(command.channel, type(exc).__name__).inc()
        raise
    OUTBOUND_MESSAGES.labels(command.channel, "sent").inc()
    async with ctx.write() as session:
        await session.execute(update(MessageLog).where(MessageLog.event_id == event_id)
                              .values(status="sent", provider_message_id=provider_id,
                                      updated_at=ctx.clock.now()))
    log.info("sent %s message to %s", command.channel, mask_phone(command.to))


async def on_delivery_status(ctx: HandlerContext, event: DeliveryStatus,
                             deps: NotifierDeps) -> None:
    async with ctx.write() as session:
        await session.execute(
            update(MessageLog)
            .where(MessageLog.provider_message_id == event.provider_message_id)
            .values(status=event.status, error=event.error_code, updated_at=ctx.clock.now()))


HANDLERS: HandlerMap[NotifierDeps] = {
    ReplyRequested: on_reply_requested,
    DeliveryStatus: on_delivery_status,
}

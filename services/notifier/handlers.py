"""notifier: deliver what fsm asked for through the customer's channel, and log it.

The send is a network call, so it happens before the handler's transaction; the log row
then commits with the inbox row. A send whose commit fails is sent again on retry:
delivery to a provider is at least once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import update

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
    message = OutboundMessage(business_id=ctx.business_id, channel=command.channel,
                              to=command.to, text=command.text, audience=command.audience)
    try:
        provider_id = await deps.channel.send(message)
    except Exception as exc:
        OUTBOUND_MESSAGES.labels(command.channel, type(exc).__name__).inc()
        raise
    OUTBOUND_MESSAGES.labels(command.channel, "sent").inc()
    async with ctx.write() as session:
        session.add(MessageLog(
            event_id=ctx.envelope.event_id, business_id=ctx.business_id,
            channel=command.channel, audience=command.audience, to=command.to,
            body=command.text, provider_message_id=provider_id, status="sent"))
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

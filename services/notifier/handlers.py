"""notifier: deliver what fsm asked for through the customer's channel, and log it."""

from __future__ import annotations

import logging

from sqlalchemy import update

from libs.bus.context import Handler, HandlerContext
from libs.contracts.events import DeliveryStatus, ReplyRequested
from libs.logs import mask_phone
from services.notifier.adapters.base import OutboundChannel, OutboundMessage
from services.notifier.models import MessageLog

log = logging.getLogger(__name__)


def build_handlers(channel: OutboundChannel) -> dict[str, Handler]:
    async def on_reply_requested(ctx: HandlerContext, event: ReplyRequested) -> None:
        """The inbox skips a redelivery; the log row commits with it. A send whose commit
        then fails is sent again on retry: delivery to a provider is at least once."""
        assert ctx.envelope is not None
        event_id = ctx.envelope.event_id
        message = OutboundMessage(business_id=ctx.business_id, channel=event.channel,
                                  to=event.to, text=event.text, audience=event.audience)
        provider_id = await channel.send(message)
        ctx.session.add(MessageLog(
            event_id=event_id, business_id=ctx.business_id, channel=event.channel,
            audience=event.audience, to=event.to, body=event.text,
            provider_message_id=provider_id, status="sent"))
        log.info("sent %s message to %s", event.channel, mask_phone(event.to))

    async def on_delivery_status(ctx: HandlerContext, event: DeliveryStatus) -> None:
        await ctx.session.execute(
            update(MessageLog)
            .where(MessageLog.provider_message_id == event.provider_message_id)
            .values(status=event.status, error=event.error_code, updated_at=ctx.clock.now()))

    return {ReplyRequested.TYPE: on_reply_requested, DeliveryStatus.TYPE: on_delivery_status}

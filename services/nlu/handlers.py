"""nlu: read one inbound message (intent and slots) and pass it on. Stateless."""

from __future__ import annotations

from libs.bus.context import Handler, HandlerContext, PermanentError
from libs.business.service import get_profile
from libs.contracts.events import InboundMessageReceived, MessageUnderstood
from services.nlu.catalog import Catalog
from services.nlu.extractor import Extractor
from services.nlu.extractors import make_extractor


def build_handlers(extractor: Extractor | None = None) -> dict[str, Handler]:
    chosen = extractor or make_extractor()

    async def on_inbound_message(ctx: HandlerContext, event: InboundMessageReceived) -> None:
        profile = await get_profile(ctx.session, ctx.business_id)
        if profile is None:
            raise PermanentError(f"unknown business {ctx.business_id!r}")
        understood = chosen.extract(event.text, Catalog.from_profile(profile), event.received_at)
        ctx.emit(MessageUnderstood(
            channel=event.channel, provider_message_id=event.provider_message_id,
            customer=event.customer, text=event.text, received_at=event.received_at,
            intent=understood.intent, slots=understood.slots,
            confidence=understood.confidence, extractor=understood.extractor))

    return {InboundMessageReceived.TYPE: on_inbound_message}

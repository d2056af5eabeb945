"""nlu: read one inbound message (intent and slots) and pass it on. Stateless.

"Now" is when the message was received, not when it is handled, so a redelivered or
delayed message reads the same ("tomorrow" stays the day after it was sent)."""

from __future__ import annotations

import asyncio
from functools import lru_cache

from libs.bus.context import Handler, HandlerContext, PermanentError
from libs.business.service import get_profile
from libs.contracts.events import InboundMessageReceived, MessageUnderstood
from services.nlu.catalog import Catalog
from services.nlu.extractor import Extractor, Understanding
from services.nlu.extractors import make_extractor


@lru_cache(maxsize=1)
def default_extractor() -> Extractor:
    """Groq when GROQ_API_KEY is set, else the offline rules; built once per process."""
    return make_extractor()


async def understand(extractor: Extractor, text: str, catalog: Catalog,
                     event: InboundMessageReceived) -> Understanding:
    """Extract off the event loop when the extractor makes network calls."""
    if getattr(extractor, "blocking", False):
        return await asyncio.to_thread(extractor.extract, text, catalog, event.received_at)
    return extractor.extract(text, catalog, event.received_at)


async def handle_inbound(ctx: HandlerContext, event: InboundMessageReceived,
                         extractor: Extractor) -> None:
    profile = await get_profile(ctx.session, ctx.business_id)
    if profile is None:
        raise PermanentError(f"unknown business {ctx.business_id!r}")
    catalog = Catalog.from_profile(profile)
    understood = await understand(extractor, event.text, catalog, event)
    ctx.emit(MessageUnderstood(
        channel=event.channel, provider_message_id=event.provider_message_id,
        customer=event.customer, text=event.text, received_at=event.received_at,
        intent=understood.intent, slots=understood.slots,
        confidence=understood.confidence, extractor=understood.extractor))


async def on_inbound_message(ctx: HandlerContext, event: InboundMessageReceived) -> None:
    """inbound.message.received.v1 → nlu.message.understood.v1, with the default extractor."""
    await handle_inbound(ctx, event, default_extractor())


def build_handlers(extractor: Extractor | None = None) -> dict[str, Handler]:
    """The consumer's routing table; pass an extractor to pin one (tests, the demo)."""
    if extractor is None:
        default_extractor()  # build (and warm Duckling) now, not on the first message
        return {InboundMessageReceived.TYPE: on_inbound_message}
    chosen = extractor

    async def on_inbound(ctx: HandlerContext, event: InboundMessageReceived) -> None:
        await handle_inbound(ctx, event, chosen)

    return {InboundMessageReceived.TYPE: on_inbound}

"""nlu: read one inbound message (intent and slots) and pass it on. Stateless.

"Now" is when the message was received, not when it is handled, so a redelivered or
delayed message reads the same ("tomorrow" stays the day after it was sent). The extractor
(Groq: a network call) runs outside any transaction.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from libs.bus.context import HandlerContext, HandlerMap, PermanentError
from libs.business.service import get_profile
from libs.contracts.events import InboundMessageReceived, MessageUnderstood
from services.nlu.catalog import Catalog
from services.nlu.extractor import Extractor, Understanding


@dataclass(frozen=True)
class NluDeps:
    extractor: Extractor


async def understand(extractor: Extractor, text: str, catalog: Catalog,
                     message: InboundMessageReceived) -> Understanding:
    """Extract off the event loop when the extractor makes network calls."""
    if getattr(extractor, "blocking", False):
        return await asyncio.to_thread(extractor.extract, text, catalog, message.received_at)
    return extractor.extract(text, catalog, message.received_at)


async def on_inbound_message_received(ctx: HandlerContext, message: InboundMessageReceived,
                                      deps: NluDeps) -> None:
    """inbound.message.received.v1 → nlu.message.understood.v1."""
    async with ctx.read() as session:
        profile = await get_profile(session, ctx.business_id)
    if profile is None:
        raise PermanentError(f"unknown business {ctx.business_id!r}")
    understood = await understand(deps.extractor, message.text, Catalog.from_profile(profile),
                                  message)
    # The message's own language; a message with no language signal ("ok", "3pm") has no
    # `language_seen`, so fsm keeps the conversation's (docs/nlu.md, "Language").
    language = ({"language": understood.language, "language_seen": understood.language}
                if understood.language else {})
    ctx.emit(MessageUnderstood(
        channel=message.channel, provider_message_id=message.provider_message_id,
        customer=message.customer, text=message.text, received_at=message.received_at,
        intent=understood.intent, slots=understood.slots,
        confidence=understood.confidence, extractor=understood.extractor,
        origin=message.origin, **language))


HANDLERS: HandlerMap[NluDeps] = {InboundMessageReceived: on_inbound_message_received}

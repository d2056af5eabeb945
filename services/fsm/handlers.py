"""fsm: the conversation engine's event handlers (the walking skeleton's echo for now)."""

from __future__ import annotations

from libs.bus.context import Handler, HandlerContext
from libs.contracts.events import MessageUnderstood, ReplyRequested


def build_handlers() -> dict[str, Handler]:
    async def on_message_understood(ctx: HandlerContext, event: MessageUnderstood) -> None:
        ctx.emit(ReplyRequested(channel=event.channel, to=event.customer,
                                text=f"Thanks! We read that as: {event.intent}."))

    return {MessageUnderstood.TYPE: on_message_understood}

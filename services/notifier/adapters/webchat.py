"""Web chat delivery: there is no provider to call. The message log row the handler writes
is the delivery, and the visitor's page reads it from notifier's reply stream
(`services/notifier/web.py`)."""

from __future__ import annotations

import uuid

from services.notifier.adapters.base import OutboundMessage


class WebChatChannel:
    async def send(self, message: OutboundMessage) -> str:
        return f"web-{uuid.uuid4().hex}"

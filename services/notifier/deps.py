"""What notifier's handlers are given: the outbound channel (every channel behind one port),
the retry bounds, the default WhatsApp template, and the sleep the retries wait with."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from services.notifier.adapters.base import OutboundChannel, Template
from services.notifier.sending import RetryPolicy, Sleep


@dataclass(frozen=True)
class NotifierDeps:
    channel: OutboundChannel
    """Every message goes through it, staff alerts included (channel "sms")."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    template: Template | None = None
    """The WhatsApp template for businesses whose profile names none (settings)."""
    sleep: Sleep = asyncio.sleep

"""Small helpers shared by the integration tests."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from libs.contracts.envelope import Envelope
from libs.contracts.events import ReplyRequested
from libs.contracts.registry import make_envelope

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("RECEPTIONIST_SHARED", REPO.parent / "shared"))
FIXTURE_BUSINESSES = SHARED / "fixtures" / "businesses"


async def eventually(check: Callable[[], Awaitable[bool]], *, within_s: float = 15.0,
                     what: str = "condition") -> None:
    """Wait until `check()` holds; fail naming `what` if it never does (a bound, not a timing
    assertion: nothing here depends on how fast it happens)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def reply_envelope(text: str = "hello", *, business_id: str = "salon",
                   event_id: uuid.UUID | None = None) -> Envelope:
    return make_envelope(
        ReplyRequested(channel="sms", to="+15555550100", text=text),
        business_id=business_id, occurred_at=datetime(2026, 12, 1, 14, 0, tzinfo=UTC),
        event_id=event_id)

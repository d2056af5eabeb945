"""The nlu consumer: inbound.message.received.v1 in, nlu.message.understood.v1 out, with the
business's catalog and zone, "now" = when the message was received."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from libs.bus.context import HandlerContext, PermanentError
from libs.business.profile import BusinessProfile, load_profile
from libs.clock import SimulatedClock
from libs.contracts.events import InboundMessageReceived, MessageUnderstood
from libs.contracts.registry import make_envelope
from services.nlu import handlers
from services.nlu.adapters.groq import GroqExtractor, GroqSettings
from services.nlu.rules import RulesExtractor

from .groq_stub import KEY, GroqStub, reply

# 04:30 UTC on Dec 2 is 23:30 on Tuesday Dec 1 in New York: "tomorrow" is Dec 2 there
RECEIVED = datetime(2026, 12, 2, 4, 30, tzinfo=UTC)


def inbound(text: str) -> InboundMessageReceived:
    return InboundMessageReceived(channel="sms", provider_message_id="SM123",
                                  customer="+15555550101", to="+12125550100", text=text,
                                  received_at=RECEIVED)


def context(event: InboundMessageReceived, business_id: str = "salon") -> HandlerContext:
    envelope = make_envelope(event, business_id=business_id, occurred_at=RECEIVED)
    # the handler only passes the session on to get_profile, which the tests replace
    return HandlerContext.for_event(envelope, cast(AsyncSession, object()),
                                    SimulatedClock(datetime(2026, 12, 2, 9, 0, tzinfo=UTC)))


@pytest.fixture
def profiles(businesses_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, BusinessProfile]:
    loaded = {b: load_profile(businesses_dir / f"{b}.yaml") for b in ("salon", "clinic")}
    asked: list[str] = []

    async def get_profile(session: Any, business_id: str) -> BusinessProfile | None:
        asked.append(business_id)
        return loaded.get(business_id)

    monkeypatch.setattr(handlers, "get_profile", get_profile)
    return loaded


@pytest.fixture
def offline_default(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    handlers.default_extractor.cache_clear()
    yield
    handlers.default_extractor.cache_clear()


async def test_emits_the_understood_message(profiles: dict[str, BusinessProfile],
                                            offline_default: None) -> None:
    event = inbound("can i get a haircut tomorrow at 3pm")
    ctx = context(event)
    await handlers.on_inbound_message(ctx, event)

    (out,) = ctx.emitted
    assert out.type == MessageUnderstood.TYPE
    assert out.business_id == "salon"
    assert ctx.envelope is not None
    assert out.causation_id == ctx.envelope.event_id
    assert out.correlation_id == ctx.envelope.correlation_id
    msg = MessageUnderstood.model_validate(out.payload, strict=False)  # JSON mode payload
    assert (msg.channel, msg.provider_message_id, msg.customer, msg.text, msg.received_at) == (
        "sms", "SM123", "+15555550101", event.text, RECEIVED)
    assert msg.intent == "book"
    assert msg.slots.service == "Haircut"
    assert str(msg.slots.date) == "2026-12-02"  # the business's tomorrow, not UTC's
    assert str(msg.slots.time) == "15:00:00"
    assert msg.extractor == "rules"
    assert 0.0 <= msg.confidence <= 1.0


async def test_uses_the_business_zone(profiles: dict[str, BusinessProfile]) -> None:
    event = inbound("today")  # 20:30 on Dec 1 in Los Angeles
    ctx = context(event, "clinic")
    await handlers.build_handlers(RulesExtractor())[InboundMessageReceived.TYPE](ctx, event)
    assert ctx.emitted[0].payload["slots"]["date"] == "2026-12-01"


async def test_unknown_business_is_permanent(profiles: dict[str, BusinessProfile]) -> None:
    event = inbound("hi")
    with pytest.raises(PermanentError):
        await handlers.build_handlers(RulesExtractor())[InboundMessageReceived.TYPE](
            context(event, "nope"), event)


async def test_garbage_still_emits(profiles: dict[str, BusinessProfile]) -> None:
    for text in ("", "🙂" * 100, "x" * 5000, "Я хочу записаться"):
        event = inbound(text)
        ctx = context(event)
        await handlers.build_handlers(RulesExtractor())[InboundMessageReceived.TYPE](ctx, event)
        assert ctx.emitted[0].payload["intent"] == "unknown"


async def test_groq_runs_off_the_event_loop(profiles: dict[str, BusinessProfile]) -> None:
    with GroqStub() as stub:
        stub.script(reply({"intent": "human"}))
        ex = GroqExtractor(GroqSettings(api_key=KEY, base_url=stub.base_url, cascade=False),
                           fallback=RulesExtractor())
        event = inbound("my hair is a total disaster, help me out")
        ctx = context(event)
        await handlers.build_handlers(ex)[InboundMessageReceived.TYPE](ctx, event)
    assert ctx.emitted[0].payload["intent"] == "human"
    assert ctx.emitted[0].payload["extractor"] == "groq"

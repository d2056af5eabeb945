"""The nlu consumer: inbound.message.received.v1 in, nlu.message.understood.v2 out, with the
business's catalog and zone, "now" = when the message was received."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.context import HandlerContext, PermanentError
from libs.business.profile import BusinessProfile, load_profile
from libs.clock import SimulatedClock
from libs.contracts.events import InboundMessageReceived, MessageUnderstood
from libs.contracts.registry import make_envelope
from libs.db.direct import Db
from services.nlu import handlers
from services.nlu.adapters.groq import GroqExtractor, GroqSettings
from services.nlu.catalog import Catalog
from services.nlu.extractor import Extractor, Understanding
from services.nlu.handlers import NluDeps
from services.nlu.rules import RulesExtractor

from .groq_stub import KEY, GroqStub, reply

# 04:30 UTC on Dec 2 is 23:30 on Tuesday Dec 1 in New York: "tomorrow" is Dec 2 there
RECEIVED = datetime(2026, 12, 2, 4, 30, tzinfo=UTC)


def inbound(text: str) -> InboundMessageReceived:
    return InboundMessageReceived(channel="sms", provider_message_id="SM123",
                                  customer="+15555550101", to="+12125550100", text=text,
                                  received_at=RECEIVED)


class _NoSession:
    """The handler only passes its read session on to get_profile, which the tests replace."""

    async def __aenter__(self) -> object:
        return object()

    async def __aexit__(self, *exc: object) -> None:
        return None


async def _never(db: Db) -> bool:
    raise AssertionError("nlu writes nothing of its own")


def context(event: InboundMessageReceived, business_id: str = "salon") -> HandlerContext:
    envelope = make_envelope(event, business_id=business_id, occurred_at=RECEIVED)
    return HandlerContext(envelope=envelope,
                          sessions=cast(async_sessionmaker[AsyncSession], _NoSession),
                          clock=SimulatedClock(datetime(2026, 12, 2, 9, 0, tzinfo=UTC)),
                          business_id=business_id, guard=_never,
                          correlation_id=envelope.correlation_id)


async def understand(ctx: HandlerContext, event: InboundMessageReceived,
                     extractor: Extractor | None = None) -> None:
    await handlers.on_inbound_message_received(ctx, event,
                                               NluDeps(extractor or RulesExtractor()))


@pytest.fixture
def asked(businesses_dir: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The businesses whose profile the handler looked up, in order."""
    loaded = {b: load_profile(businesses_dir / f"{b}.yaml") for b in ("salon", "clinic")}
    seen: list[str] = []

    async def get_profile(session: Any, business_id: str) -> BusinessProfile | None:
        seen.append(business_id)
        return loaded.get(business_id)

    monkeypatch.setattr(handlers, "get_profile", get_profile)
    return seen


async def test_emits_the_understood_message(asked: list[str]) -> None:
    event = inbound("can i get a haircut tomorrow at 3pm")
    ctx = context(event)
    await understand(ctx, event)
    assert asked == ["salon"]

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


async def test_a_web_visitors_origin_is_passed_on(asked: list[str]) -> None:
    """fsm caps web bookings per address by ingress's hash of it; nlu only carries it."""
    event = inbound("hi").model_copy(update={"channel": "web", "customer": "web:abcdefgh",
                                             "origin": "hash-of-an-address"})
    ctx = context(event)
    await understand(ctx, event)
    assert ctx.emitted[0].payload["origin"] == "hash-of-an-address"
    sms = inbound("hi")
    ctx = context(sms)
    await understand(ctx, sms)
    assert ctx.emitted[0].payload["origin"] is None


async def test_uses_the_business_zone(asked: list[str]) -> None:
    event = inbound("today")  # 20:30 on Dec 1 in Los Angeles
    ctx = context(event, "clinic")
    await understand(ctx, event)
    assert ctx.emitted[0].payload["slots"]["date"] == "2026-12-01"
    assert asked == ["clinic"]


async def test_unknown_business_is_permanent(asked: list[str]) -> None:
    event = inbound("hi")
    with pytest.raises(PermanentError):
        await understand(context(event, "nope"), event)
    assert asked == ["nope"]


async def test_garbage_still_emits(asked: list[str]) -> None:
    for text in ("", "🙂" * 100, "x" * 5000, "Я хочу записаться"):
        event = inbound(text)
        ctx = context(event)
        await understand(ctx, event)
        assert ctx.emitted[0].payload["intent"] == "unknown"


class ThreadRecordingGroq(GroqExtractor):
    """The real Groq extractor, noting which thread each extraction ran on."""

    threads: list[threading.Thread] = []

    def extract(self, text: str, catalog: Catalog, now: datetime) -> Understanding:
        self.threads.append(threading.current_thread())
        return super().extract(text, catalog, now)


async def test_groq_runs_off_the_event_loop(asked: list[str]) -> None:
    with GroqStub() as stub:
        stub.script(reply({"intent": "human"}))
        ex = ThreadRecordingGroq(GroqSettings(api_key=KEY, base_url=stub.base_url,
                                              cascade=False), fallback=RulesExtractor())
        ex.threads = []
        event = inbound("my hair is a total disaster, help me out")
        ctx = context(event)
        await understand(ctx, event, ex)
    assert ctx.emitted[0].payload["intent"] == "human"
    assert ctx.emitted[0].payload["extractor"] == "groq"
    assert len(ex.threads) == 1 and ex.threads[0] is not threading.main_thread()

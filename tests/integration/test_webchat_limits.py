"""The web chat on the internet: sessions are issued by the server as signed, expiring tokens
(a client-chosen or forged one is 401), requests are rate limited per client IP, session and
business (429 with Retry-After), and the reply stream is only readable with the token.

The buckets run on a simulated clock the tests move, so nothing depends on speed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.memory import MemoryTransport
from libs.business.profile import load_profile
from libs.business.service import import_profile
from libs.clock import SimulatedClock
from libs.contracts.events import InboundMessageReceived
from libs.contracts.registry import parse_envelope, parse_payload
from libs.webchat_tokens import WebChatTokens
from services.ingress.app import create_app
from services.ingress.deps import IngressConfig, IngressDeps
from services.ingress.limits import Rate
from services.ingress.webchat_guard import WebChatConfig
from services.notifier import web
from services.notifier.models import MessageLog
from tests.helpers import FIXTURE_BUSINESSES

pytestmark = pytest.mark.integration
Sessions = async_sessionmaker[AsyncSession]

SECRET = "webchat-test-secret"
START = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
DAY = timedelta(days=1)
VISITOR_IP = "203.0.113.7"
OTHER_IP = "198.51.100.20"
ROOMY = Rate(per_minute=6000, burst=1000)  # a bucket a test does not mean to reach


@pytest.fixture
async def sessions(session_factory: Sessions) -> Sessions:
    async with session_factory() as s, s.begin():
        for business in ("salon", "barber"):
            await import_profile(s, load_profile(FIXTURE_BUSINESSES / f"{business}.yaml"))
    return session_factory


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


def ingress(bus: MemoryTransport, sessions: Sessions, clock: SimulatedClock,
            secret: str | None = SECRET, per_ip: Rate = ROOMY, per_session: Rate = ROOMY,
            per_business: Rate = ROOMY) -> FastAPI:
    webchat = WebChatConfig(secret=secret, per_ip=per_ip, per_session=per_session,
                            per_business=per_business)
    return create_app(IngressDeps(transport=bus, session_factory=sessions, clock=clock,
                                  config=IngressConfig(webchat=webchat)))


def client(app: FastAPI, ip: str = VISITOR_IP) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 50000)),
                             base_url="https://x")


async def new_session(c: httpx.AsyncClient, business: str = "salon") -> str:
    response = await c.post(f"/webchat/{business}/sessions")
    assert response.status_code == 201, response.text
    token: str = response.json()["session"]
    return token


async def say(c: httpx.AsyncClient, token: str | None, text: str = "hi",
              business: str = "salon", **extra: Any) -> httpx.Response:
    return await c.post(f"/webchat/{business}/messages",
                        json={"session": token, "text": text, **extra})


def inbound(bus: MemoryTransport) -> list[InboundMessageReceived]:
    found = [parse_payload(parse_envelope(body)) for _, body in bus.published]
    assert all(isinstance(m, InboundMessageReceived) for m in found)
    return found  # type: ignore[return-value]


# --- sessions and tokens -----------------------------------------------------------------


async def test_a_session_is_issued_and_its_messages_go_in_as_that_session(
        bus: MemoryTransport, sessions: Sessions, clock: SimulatedClock) -> None:
    app = ingress(bus, sessions, clock)
    async with client(app) as c, client(app, OTHER_IP) as elsewhere:
        issued = await c.post("/webchat/salon/sessions")
        assert issued.status_code == 201
        body = issued.json()
        assert body["expires_in"] == DAY.total_seconds()
        assert datetime.fromisoformat(body["expires_at"]) == START + DAY
        token = body["session"]
        assert (await say(c, token)).status_code == 202
        bearer = await c.post("/webchat/salon/messages", json={"text": "also me"},
                              headers={"Authorization": f"Bearer {token}"})
        assert bearer.status_code == 202
        assert (await say(c, await new_session(c))).status_code == 202
        assert (await say(elsewhere, await new_session(elsewhere))).status_code == 202
    first, second, same_ip, other_ip = inbound(bus)
    session_id = token.split(".")[0]
    assert first.customer == second.customer == f"web:{session_id}"
    assert same_ip.customer != first.customer  # a new session is a new visitor
    assert first.origin and first.origin == second.origin == same_ip.origin
    assert other_ip.origin and other_ip.origin != first.origin
    assert VISITOR_IP not in str(bus.published) and OTHER_IP not in str(bus.published)


async def test_a_session_for_an_unknown_business_is_404(
        bus: MemoryTransport, sessions: Sessions, clock: SimulatedClock) -> None:
    async with client(ingress(bus, sessions, clock)) as c:
        assert (await c.post("/webchat/nowhere/sessions")).status_code == 404


async def test_messages_without_a_valid_token_are_401_and_publish_nothing(
        bus: MemoryTransport, sessions: Sessions, clock: SimulatedClock) -> None:
    async with client(ingress(bus, sessions, clock)) as c:
        token = await new_session(c)
        barbers = await new_session(c, "barber")
        session_id, expires, signature = token.split(".")
        refused = {
            "none": await say(c, None),
            "a chosen session id": await c.post("/webchat/salon/messages", json={
                "session_id": "abcdef123456", "text": "hi"}),
            "another visitor's id": await say(c, "visitor15555550101"),
            "forged": await say(c, f"{session_id}.{int(expires) + 3600}.{signature}"),
            "another business's": await say(c, barbers),
            "another secret's": await say(
                c, WebChatTokens("guessed", DAY).issue("salon", START)[0]),
            "not bearer": await c.post("/webchat/salon/messages", json={"text": "hi"},
                                       headers={"Authorization": f"Basic {token}"}),
        }
        clock.advance(DAY)
        refused["expired"] = await say(c, token)
    assert {what: r.status_code for what, r in refused.items()} == dict.fromkeys(refused, 401)
    assert "expired" in refused["expired"].text
    assert bus.published == []


@pytest.mark.parametrize("secret", [None, "", "   "], ids=["unset", "empty", "blank"])
async def test_without_a_secret_web_chat_is_503(
        bus: MemoryTransport, sessions: Sessions, clock: SimulatedClock,
        secret: str | None) -> None:
    async with client(ingress(bus, sessions, clock, secret=secret)) as c:
        assert (await c.post("/webchat/salon/sessions")).status_code == 503
        forged = WebChatTokens("anything", DAY).issue("salon", START)[0]
        assert (await say(c, forged)).status_code == 503
    assert bus.published == []


# --- rate limits -------------------------------------------------------------------------


async def test_one_ip_is_limited_and_told_when_to_retry(
        bus: MemoryTransport, sessions: Sessions, clock: SimulatedClock) -> None:
    app = ingress(bus, sessions, clock, per_ip=Rate(per_minute=12, burst=3))  # 1 per 5 s
    async with client(app) as c, client(app, OTHER_IP) as other:
        token = await new_session(c)
        assert [(await say(c, token)).status_code for _ in range(2)] == [202, 202]
        refused = await say(c, token)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "5"
        limited = await c.post("/webchat/salon/sessions")  # issuing counts too
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "5"
        assert (await say(other, await new_session(other))).status_code == 202
        clock.advance(timedelta(seconds=4))
        assert (await say(c, token)).headers["Retry-After"] == "1"
        clock.advance(timedelta(seconds=1))
        assert (await say(c, token)).status_code == 202
    assert len(bus.published) == 4


async def test_a_forwarded_for_header_does_not_change_the_client(
        bus: MemoryTransport, sessions: Sessions, clock: SimulatedClock) -> None:
    app = ingress(bus, sessions, clock, per_ip=Rate(per_minute=1, burst=1))
    async with client(app) as c:
        await new_session(c)
        spoofed = await c.post("/webchat/salon/sessions",
                               headers={"X-Forwarded-For": OTHER_IP})
    assert spoofed.status_code == 429


async def test_one_session_is_limited_whatever_its_address(
        bus: MemoryTransport, sessions: Sessions, clock: SimulatedClock) -> None:
    app = ingress(bus, sessions, clock, per_session=Rate(per_minute=6, burst=2))  # 1 per 10 s
    async with client(app) as c, client(app, OTHER_IP) as moved:
        token = await new_session(c)
        assert (await say(c, token)).status_code == 202
        assert (await say(moved, token)).status_code == 202
        refused = await say(c, token)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "10"
        assert (await say(moved, token)).status_code == 429
        assert (await say(c, await new_session(c))).status_code == 202
        clock.advance(timedelta(seconds=10))
        assert (await say(moved, token)).status_code == 202


async def test_one_business_is_limited_across_addresses(
        bus: MemoryTransport, sessions: Sessions, clock: SimulatedClock) -> None:
    app = ingress(bus, sessions, clock, per_business=Rate(per_minute=30, burst=4))  # 1 per 2 s
    async with client(app) as c, client(app, OTHER_IP) as other:
        mine, theirs = await new_session(c), await new_session(other)
        assert (await say(c, mine)).status_code == 202
        assert (await say(other, theirs)).status_code == 202
        refused = await say(other, theirs)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "2"
        assert (await c.post("/webchat/salon/sessions")).status_code == 429
        assert (await new_session(c, "barber"))  # another business has its own bucket


async def test_a_flood_from_one_session_is_mostly_refused_with_the_default_limits(
        bus: MemoryTransport, sessions: Sessions, clock: SimulatedClock) -> None:
    """The probe: 300 messages at once were all accepted. With the default limits only the
    session's burst gets through until time passes."""
    app = create_app(IngressDeps(transport=bus, session_factory=sessions, clock=clock,
                                 config=IngressConfig(webchat=WebChatConfig(secret=SECRET))))
    async with client(app) as c:
        token = await new_session(c)
        statuses = [(await say(c, token, message_id=f"m{i}")).status_code for i in range(300)]
    assert statuses.count(202) == WebChatConfig().per_session.burst
    assert set(statuses) == {202, 429}


# --- the reply stream (notifier) ---------------------------------------------------------


class Ticking:
    """A clock that moves `step` on every reading: time passes while a stream is open."""

    def __init__(self, start: datetime, step: timedelta) -> None:
        self.at, self.step = start - step, step

    def now(self) -> datetime:
        self.at += self.step
        return self.at


async def log_reply(sessions: Sessions, to: str, text: str, business: str = "salon") -> None:
    async with sessions() as s, s.begin():
        s.add(MessageLog(event_id=uuid.uuid4(), business_id=business, channel="web",
                         audience="customer", to=to, body=text, status="sent"))


def notifier(sessions: Sessions, clock: Any, secret: str | None = SECRET
             ) -> httpx.AsyncClient:
    tokens = WebChatTokens.from_secret(secret, DAY.total_seconds())
    app = web.create_app(sessions, (), tokens, clock)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://x")


async def test_only_the_token_holder_reads_a_sessions_replies(
        bus: MemoryTransport, sessions: Sessions, clock: SimulatedClock) -> None:
    async with client(ingress(bus, sessions, clock)) as c:
        mine, theirs = await new_session(c), await new_session(c)
    my_id, their_id = mine.split(".")[0], theirs.split(".")[0]
    await log_reply(sessions, f"web:{my_id}", "your haircut is booked")
    await log_reply(sessions, f"web:{their_id}", "their color is booked")
    base = "/webchat/salon/sessions"
    async with notifier(sessions, clock) as n:
        read = await n.get(f"{base}/{mine}/messages")
        assert [r["text"] for r in read.json()] == ["your haircut is booked"]
        refused = {
            "their session id": await n.get(f"{base}/{their_id}/messages"),
            "forged": await n.get(f"{base}/{my_id}.9999999999.{'A' * 43}/messages"),
            "at another business": await n.get(f"/webchat/barber/sessions/{mine}/messages"),
            "stream, forged": await n.get(f"{base}/{their_id}/events"),
        }
        clock.advance(DAY)
        refused["expired"] = await n.get(f"{base}/{mine}/messages")
        refused["stream, expired"] = await n.get(f"{base}/{mine}/events")
    assert {what: r.status_code for what, r in refused.items()} == dict.fromkeys(refused, 401)


async def test_an_open_stream_ends_when_its_token_expires(sessions: Sessions) -> None:
    tokens = WebChatTokens(SECRET, DAY)
    token, visitor = tokens.issue("salon", START)
    await log_reply(sessions, visitor.customer, "see you at 3")
    await log_reply(sessions, "web:someone-else-entirely", "not for you")
    async with notifier(sessions, Ticking(START, DAY / 2)) as n:  # valid, valid, expired
        stream = await n.get(f"/webchat/salon/sessions/{token}/events")
    assert stream.status_code == 200
    assert "see you at 3" in stream.text and "not for you" not in stream.text


async def test_the_reply_stream_without_a_secret_is_503(sessions: Sessions,
                                                        clock: SimulatedClock) -> None:
    token, _ = WebChatTokens(SECRET, DAY).issue("salon", START)
    async with notifier(sessions, clock, secret=" ") as n:
        assert (await n.get(f"/webchat/salon/sessions/{token}/messages")).status_code == 503

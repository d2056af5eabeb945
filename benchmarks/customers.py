"""Simulated customers and how their turns are timed.

A customer sends a message only once the reply to the previous one has been recorded, as a
person would. A turn runs from the webhook sent (it is accepted inside that request; a busy
client reads the 2xx late) to the moment its reply reached the channel adapter: notifier
stamps `message_log.updated_at` with its clock just before it calls the adapter
(`services/notifier/delivery.py`, `_attempt`), in the same transaction that marks the row
`sent`. `ReplyFeed` reads those rows every few milliseconds
and hands each to the customer it was for; the time a turn took comes from the row's own
stamp, so the polling interval does not enter it.

`Load` runs N workers, each holding one conversation after another (a new customer each
time), optionally paced by a shared `Pacer` (a fixed rate for the whole load: latency is
taken at half the maximum rate). Everything a worker saw goes into `Stats`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import re
import time
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time as clock_time, timedelta
from decimal import Decimal
from typing import Any, Protocol

import httpx
import psycopg
from twilio.request_validator import RequestValidator

from benchmarks.rig import (
    PUBLIC_URL,
    STRIPE_SECRET,
    TWILIO_TOKEN,
    WHATSAPP_SECRET,
)
from libs.business.deposits import deposit_for
from libs.business.profile import WEEKDAYS, BusinessProfile
from services.ingress.whatsapp import message_payload, sign
from services.payments.adapters.base import CheckoutRequest
from services.payments.adapters.offline import completed_event, stripe_signature

log = logging.getLogger(__name__)

REPLY_TIMEOUT_S = 60.0
HTTP_TIMEOUT_S = 30.0
POLL_S = 0.005

PROPOSAL = "Shall I book it?"
CONFIRMED = re.compile(r"confirmed \(ref ([A-Z0-9]{6})\)")
CHECKOUT = re.compile(r"/checkout/(cs_[A-Za-z0-9_]+)")
CANCEL_OFFER = "Reply yes to cancel"
CANCELLED = "is cancelled"


# --- replies -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    seq: int
    body: str
    sent_at: float  # epoch seconds: when notifier handed it to the channel adapter


class ReplyFeed:
    """Every customer reply recorded in `message_log`, handed out once it is sent.

    Rows become visible out of `seq` order (concurrent transactions commit in any order), so
    each poll reads the rows above the highest `seq` seen and, by number, the few below it
    it still waits for: a row seen `sending`, until it is sent, and a missing `seq`, until it
    has been missing for `GAP_S` (a rolled-back insert, or an upsert that found its row,
    uses a number up for good). A poll never reads again what it handed out: the feed polls
    every few milliseconds beside the system it measures, on the same cores.

    The poll is planned for its own numbers every time, never prepared: prepared at the
    start of a run, on a table still empty, PostgreSQL kept a generic plan that scanned the
    whole table (`seq > $1` is a third of any table to a plan made without the number),
    and the feed's backend became the database's busiest process as the table grew
    (docs/scaling.md, "The feed's plan")."""

    GAP_S = 5.0

    def __init__(self, dsn: str, poll_s: float = POLL_S) -> None:
        self.dsn = dsn
        self.poll_s = poll_s
        self.high = 0  # the highest seq seen
        self.polls = 0
        self.rows_read = 0
        self._waiting: dict[int, float] = {}  # seq below `high` not handed out: since when
        self._boxes: dict[tuple[str, str], asyncio.Queue[Reply]] = defaultdict(asyncio.Queue)

    def box(self, business_id: str, to: str) -> asyncio.Queue[Reply]:
        return self._boxes[(business_id, to)]

    def forget(self, business_id: str, to: str) -> None:
        self._boxes.pop((business_id, to), None)

    def leftovers(self) -> int:
        """Replies nobody took: more than one reply to a message."""
        return sum(q.qsize() for q in self._boxes.values())

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; a lost connection is opened again (the fault suite's
        feed outlives what it does to the system)."""
        while not stop.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(self.dsn,
                                                                 autocommit=True) as conn:
                    while not stop.is_set():
                        await self._poll(conn)
                        await self._pause(stop)
            except psycopg.OperationalError as exc:
                log.warning("reply feed: %s; connecting again", exc)
                await self._pause(stop)

    async def _pause(self, stop: asyncio.Event) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=self.poll_s)

    async def _poll(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.polls += 1
        rows = await (await conn.execute(
            'SELECT seq, business_id, "to", body, status, audience, '
            "extract(epoch FROM updated_at) FROM message_log "
            "WHERE seq > %s OR seq = ANY(%s) ORDER BY seq",
            (self.high, list(self._waiting)), prepare=False)).fetchall()
        self.rows_read += len(rows)
        now = time.monotonic()
        for seq, business_id, to, body, status, audience, sent_at in rows:
            if seq > self.high:
                for missing in range(self.high + 1, seq):
                    self._waiting[missing] = now
                self.high = seq
            if status == "sending":
                self._waiting.setdefault(seq, now)
                continue
            self._waiting.pop(seq, None)
            if audience == "customer":
                self.box(business_id, to).put_nowait(Reply(seq, body, float(sent_at)))
        seen = {row[0] for row in rows}
        for seq, since in list(self._waiting.items()):
            if seq not in seen and now - since >= self.GAP_S:
                del self._waiting[seq]  # a hole for good


# --- what was seen -------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    kind: str  # sms, whatsapp, web, pay, ceiling
    accepted_at: float  # when the webhook was sent
    sent_at: float

    @property
    def ms(self) -> float:
        return (self.sent_at - self.accepted_at) * 1000


@dataclass
class Stats:
    turns: list[Turn] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    problems: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    conversations: int = 0
    finished: int = 0

    def problem(self, kind: str, detail: str) -> None:
        self.problems[kind] += 1
        if len(self.examples[kind]) < 3:
            self.examples[kind].append(detail[:400])

    def in_window(self, start: float, end: float) -> list[Turn]:
        return [t for t in self.turns if start <= t.sent_at < end]

    def errors(self) -> int:
        """5xx answers and every problem seen (lost, doubled or unexpected replies...)."""
        return sum(n for s, n in self.statuses.items() if s >= 500) + sum(
            self.problems.values())


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p * len(ordered)) - 1))]


# --- pacing --------------------------------------------------------------------------------


class Pacer:
    """Lets messages go at `rate` per second for the whole load, evenly spaced; a worker
    that is late gets no credit for it (no bursts)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        at = max(self._next, now)
        self._next = at + self.interval
        if at > now:
            await asyncio.sleep(at - now)


# --- the load ------------------------------------------------------------------------------


class Conversation(Protocol):
    async def __call__(self, load: Load) -> None: ...


class Stop(Exception):
    """The conversation cannot go on (its turn failed or the reply was not the expected
    one); the problem is already recorded."""


@dataclass(eq=False)
class Load:
    client: httpx.AsyncClient
    feed: ReplyFeed
    stats: Stats
    conversation: Conversation
    pacer: Pacer | None = None
    stopping: bool = False
    _workers: list[asyncio.Task[None]] = field(default_factory=list)
    _going: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self._going.set()

    @property
    def workers(self) -> int:
        return len(self._workers)

    def pause(self) -> None:
        """No new message is sent until `resume` (those in flight get their replies)."""
        self._going.clear()

    def resume(self) -> None:
        self._going.set()

    def grow(self, n: int) -> None:
        while len(self._workers) < n:
            self._workers.append(asyncio.create_task(self._work()))

    async def stop(self, bound_s: float = REPLY_TIMEOUT_S + 10) -> None:
        """No new messages; the turns in flight finish (their replies are waited for)."""
        self.stopping = True
        self._going.set()
        if self._workers:
            _, stuck = await asyncio.wait(self._workers, timeout=bound_s)
            for task in stuck:
                task.cancel()
        self._workers.clear()

    async def _work(self) -> None:
        while not self.stopping:
            self.stats.conversations += 1
            try:
                await self.conversation(self)
                self.stats.finished += 1
            except Stop:
                continue
            except Exception as exc:  # the bench's own failure: counted, never silent
                self.stats.problem("bench errors", repr(exc))
                await asyncio.sleep(1.0)

    async def turn(self, kind: str, business_id: str, to: str,
                   send: Callable[[], Awaitable[httpx.Response]]) -> str:
        """Send one message and wait for its reply; the reply's text."""
        await self._going.wait()
        if self.stopping:
            raise Stop
        if self.pacer is not None:
            await self.pacer.wait()
        # From the request sent: the 2xx is read by a client that is busy under load, and a
        # reply written before the client saw the 2xx made negative turns.
        sent_at = time.time()
        try:
            answer = await send()
        except httpx.HTTPError as exc:
            self.stats.problem("no answer from the webhook", repr(exc))
            raise Stop from exc
        self.stats.statuses[answer.status_code] += 1
        if answer.status_code >= 300:
            self.stats.problem(f"webhook answered {answer.status_code}", answer.text[:200])
            raise Stop
        try:
            reply = await asyncio.wait_for(self.feed.box(business_id, to).get(),
                                           timeout=REPLY_TIMEOUT_S)
        except TimeoutError:
            self.stats.problem("lost replies (none within 60 s)", f"{kind} to {to}")
            raise Stop from None
        self.stats.turns.append(Turn(kind, sent_at, reply.sent_at))
        return reply.body

    def expect(self, reply: str, wanted: str | re.Pattern[str], step: str,
               transcript: list[str]) -> None:
        found = wanted.search(reply) if isinstance(wanted, re.Pattern) else wanted in reply
        if not found:
            self.stats.problem(f"unexpected reply ({step})", " | ".join([*transcript, reply]))
            raise Stop


# --- where customers want to be --------------------------------------------------------

SERVICE = "Haircut"
FIRST_DAY_AHEAD = 2  # clear of any notice period and same-day cutoff


@dataclass(frozen=True)
class Slot:
    profile: BusinessProfile
    day: date
    start: clock_time
    deposit: bool

    @property
    def business_id(self) -> str:
        return self.profile.id

    def time_text(self) -> str:
        hour = self.start.hour % 12 or 12
        return f"{hour}:{self.start.minute:02d}{'am' if self.start.hour < 12 else 'pm'}"

    def request(self) -> str:
        return f"haircut on {self.day:%A %B} {self.day.day} at {self.time_text()}"


def _days_of(profile: BusinessProfile) -> Iterator[list[Slot]]:
    """Each open day's back-to-back haircut starts (no two overlap)."""
    service = next(s for s in profile.services if s.name == SERVICE)
    length = timedelta(minutes=service.duration_minutes)
    today = datetime.now(profile.tz).date()
    for ahead in range(FIRST_DAY_AHEAD, profile.booking.max_days_ahead):
        day = today + timedelta(days=ahead)
        if day in profile.closed_dates:
            continue
        starts = []
        for opens, closes in profile.hours.get(WEEKDAYS[day.weekday()], []):
            at = datetime.combine(day, opens, profile.tz)
            while (at + length).time() <= closes and (at + length).date() == day:
                deposit = deposit_for(profile, service, at) > Decimal(0)
                starts.append(Slot(profile, day, at.time(), deposit))
                at += length
        if len(starts) >= 2:
            yield starts


class SlotPlanner:
    """Hands out pairs of free slots on one day (the first asked for, the second the
    correction), each to one customer at a time; a customer who cancelled gives them
    back. Every third pair's second slot asks for a deposit, where the business has one."""

    def __init__(self, profiles: Sequence[BusinessProfile]) -> None:
        self._free: dict[tuple[str, date], list[Slot]] = {}
        for profile in profiles:
            for starts in _days_of(profile):
                self._free[(profile.id, starts[0].day)] = list(starts)
        self._days = deque(self._free)
        self._n = itertools.count()

    def take(self) -> tuple[Slot, Slot]:
        want_deposit = next(self._n) % 3 == 1
        for pass_ in range(2):
            for _ in range(len(self._days)):
                key = self._days[0]
                self._days.rotate(-1)
                free = self._free[key]
                seconds = [s for s in free if s.deposit == want_deposit or pass_]
                firsts = [s for s in free if not s.deposit]
                if seconds and len(free) >= 2:
                    second = seconds[0]
                    first = next((s for s in firsts if s != second),
                                 next(s for s in free if s != second))
                    free.remove(first)
                    free.remove(second)
                    return first, second
        raise RuntimeError("no free slots left to plan")

    def give_back(self, *slots: Slot) -> None:
        for slot in slots:
            self._free[(slot.business_id, slot.day)].append(slot)


# --- the real conversation -----------------------------------------------------------------

_numbers = itertools.count(1)
AREAS = ("917", "646", "212", "718", "347", "929", "332", "516")


def new_phone() -> str:
    n = next(_numbers)
    return f"+1{AREAS[(n // 10000) % len(AREAS)]}555{n % 10000:04d}"


@dataclass(eq=False)
class Booker:
    """Book with a correction, confirm, pay when asked, cancel: six turns (five without a
    deposit), each channel in turn (SMS, WhatsApp, web chat)."""

    dsn: str
    planner: SlotPlanner
    channels: tuple[str, ...] = ("sms", "whatsapp", "web")
    _channel: Iterator[str] = field(init=False)
    _db: psycopg.AsyncConnection[Any] | None = None

    def __post_init__(self) -> None:
        self._channel = itertools.cycle(self.channels)

    async def __call__(self, load: Load) -> None:
        first, second = self.planner.take()
        channel = next(self._channel)
        profile = first.profile
        customer = Caller(channel, profile, load.client)
        await customer.open()
        transcript: list[str] = []

        async def say(text: str) -> str:
            transcript.append(f"> {text}")
            reply = await customer.say(load, text)
            transcript.append(f"< {reply}")
            return reply

        try:
            load.expect(await say(first.request()), PROPOSAL, "proposal", transcript)
            reply = await say(f"actually make that {second.time_text()} instead")
            load.expect(reply, PROPOSAL, "corrected proposal", transcript)
            self.planner.give_back(first)
            reply = await say("yes")
            if (link := CHECKOUT.search(reply)) is not None:
                transcript.append(f"> (pays {link.group(1)})")
                reply = await self.pay(load, customer, link.group(1))
                transcript.append(f"< {reply}")
            load.expect(reply, CONFIRMED, "confirmed", transcript)
            load.expect(await say("cancel"), CANCEL_OFFER, "cancel offer", transcript)
            load.expect(await say("yes"), CANCELLED, "cancelled", transcript)
            self.planner.give_back(second)
        finally:
            load.feed.forget(profile.id, customer.address)

    async def pay(self, load: Load, customer: Caller, session_id: str) -> str:
        """Stripe's signed `checkout.session.completed` for the checkout, as the offline
        checkout page posts it."""
        db = await self._connection()
        row = await (await db.execute(
            "SELECT d.business_id, d.booking_id, b.reference, d.attempt, d.amount, "
            "d.currency FROM deposits d JOIN bookings b ON b.id = d.booking_id "
            "WHERE d.checkout_session_id = %s", (session_id,))).fetchone()
        if row is None:
            load.stats.problem("checkout not in deposits", session_id)
            raise Stop
        business_id, booking_id, reference, attempt, amount, currency = row
        request = CheckoutRequest(
            business_id=business_id, booking_id=str(booking_id), reference=reference,
            attempt=attempt, amount=amount, currency=currency, description="deposit",
            expires_at=datetime.now(UTC) + timedelta(hours=1), customer=customer.address)
        event = completed_event(session_id, request, "pi_" + session_id.removeprefix("cs_"))
        body = json.dumps(event).encode()

        def send() -> Awaitable[httpx.Response]:
            return load.client.post("/webhooks/stripe", content=body, headers={
                "Content-Type": "application/json",
                "Stripe-Signature": stripe_signature(STRIPE_SECRET, body)})

        return await load.turn("pay", customer.profile.id, customer.address, send)

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._db is None or self._db.closed:
            self._db = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)
        return self._db

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()


@dataclass(eq=False)
class Caller:
    """One customer on one channel: signs its webhooks as the provider would."""

    channel: str
    profile: BusinessProfile
    client: httpx.AsyncClient
    address: str = ""
    token: str = ""

    async def open(self) -> None:
        if self.channel != "web":
            self.address = new_phone()
            return
        answer = await self.client.post(f"/webchat/{self.profile.id}/sessions")
        if answer.status_code != 201:
            raise RuntimeError(f"web chat session refused: {answer.status_code} "
                               f"{answer.text[:200]}")
        self.token = str(answer.json()["session"])
        self.address = "web:" + self.token.split(".", 1)[0]

    async def say(self, load: Load, text: str) -> str:
        return await load.turn(self.channel, self.profile.id, self.address,
                               lambda: self._send(text))

    def _send(self, text: str) -> Awaitable[httpx.Response]:
        if self.channel == "sms":
            to = self.profile.channels.sms
            assert to is not None
            form = {"MessageSid": f"SM{uuid.uuid4().hex}", "AccountSid": "ACbench",
                    "From": self.address, "To": to, "Body": text, "NumMedia": "0"}
            signature = RequestValidator(TWILIO_TOKEN).compute_signature(
                PUBLIC_URL + "/webhooks/twilio/sms", form)
            return self.client.post("/webhooks/twilio/sms", data=form,
                                    headers={"X-Twilio-Signature": signature})
        if self.channel == "whatsapp":
            number = self.profile.channels.whatsapp_phone_number_id
            assert number is not None
            return post_whatsapp(self.client, number, self.address, text)
        return self.client.post(f"/webchat/{self.profile.id}/messages", json={
            "text": text, "session": self.token, "message_id": uuid.uuid4().hex})


def whatsapp_body(number: str, sender: str, text: str) -> bytes:
    return json.dumps(message_payload(
        phone_number_id=number, message_id=f"wamid.{uuid.uuid4().hex}", sender=sender,
        text=text, timestamp=int(time.time()))).encode()


def post_whatsapp(client: httpx.AsyncClient, number: str, sender: str,
                  text: str) -> Awaitable[httpx.Response]:
    body = whatsapp_body(number, sender, text)
    return client.post("/webhooks/whatsapp", content=body, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": sign(WHATSAPP_SECRET, body)})


# --- the ceiling's conversation ------------------------------------------------------------


@dataclass(eq=False)
class Chatter:
    """As many messages as a booker sends (six), over WhatsApp to the ceiling's entry; each
    waits for its reply like a booker's."""

    profiles: Sequence[BusinessProfile]
    turns: int = 6
    _profile: Iterator[BusinessProfile] = field(init=False)

    def __post_init__(self) -> None:
        self._profile = itertools.cycle(self.profiles)

    async def __call__(self, load: Load) -> None:
        profile = next(self._profile)
        number = profile.channels.whatsapp_phone_number_id
        assert number is not None
        phone = new_phone()
        def sender(text: str) -> Callable[[], Awaitable[httpx.Response]]:
            return lambda: post_whatsapp(load.client, number, phone, text)

        try:
            for i in range(self.turns):
                text = f"message {i + 1}"
                reply = await load.turn("ceiling", profile.id, phone, sender(text))
                load.expect(reply, text, "echo", [])
        finally:
            load.feed.forget(profile.id, phone)

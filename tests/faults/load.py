"""Simulated customers: signed Twilio SMS webhooks (and Stripe's, for deposits) to ingress.

A customer asks for a haircut at a time of its own ("haircut on Wednesday December 9 at
10:15am"), says "yes" to the proposal, pays the deposit when it is asked for one (a
`checkout.session.completed` webhook, signed as Stripe signs it), and some cancel
afterwards ("cancel", then "yes"). Each waits for the reply to one message before sending
the next, as a person would.

Every webhook that ingress does not accept (503, or any other 5xx, or no answer) is
delivered again with the same id (MessageSid, `evt_` id) after a capped backoff, as the
providers retry; every answer is recorded with when it was asked and answered. Twilio
itself does not retry a 500: the suite does, so that one wrong status does not hide what
happens next, and reports every 500 it got.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal

import httpx
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from benchmarks.customers import ReplyFeed
from libs.business.deposits import deposit_for
from libs.business.profile import WEEKDAYS, BusinessProfile
from libs.contracts.envelope import deterministic_event_id
from services.fsm.models import Booking
from services.payments.adapters.base import CheckoutRequest
from services.payments.adapters.offline import completed_event, stripe_signature
from services.payments.models import Deposit
from tests.faults.system import PUBLIC_URL, STRIPE_SECRET, TWILIO_TOKEN, System
from tests.faults.watch import Progress

SERVICE = "Haircut"
FIRST_DAY_AHEAD = 2  # clear of any notice period and same-day cutoff
WEBHOOK_BOUND_S = 240.0  # a provider keeps retrying one webhook this long
REPLY_BOUND_S = 240.0  # a customer waits this long at most for one reply
FIRST_RETRY_S = 0.5
MAX_RETRY_S = 5.0
THINK_S = 0.2
HTTP_TIMEOUT_S = 30.0

PROPOSAL = "Shall I book it?"
CONFIRMED = re.compile(r"confirmed \(ref ([A-Z0-9]{6})\)")
CHECKOUT = re.compile(r"/checkout/(cs_[A-Za-z0-9_]+)")
CANCEL_OFFER = "Reply yes to cancel"
CANCELLED = "is cancelled"
TAKEN = "just taken"


# --- where customers want to be --------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    profile: BusinessProfile
    day: date
    start: time
    deposit: bool

    @property
    def business_id(self) -> str:
        return self.profile.id

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.day, self.start, self.profile.tz)

    def request(self) -> str:
        hour = self.start.hour % 12 or 12
        meridiem = "am" if self.start.hour < 12 else "pm"
        return (f"haircut on {self.day:%A %B} {self.day.day} at "
                f"{hour}:{self.start.minute:02d}{meridiem}")


def _slots_of(profile: BusinessProfile) -> Iterator[Slot]:
    """Every haircut start on the business's own grid (back to back, so no two overlap),
    from a few days ahead to the edge of its booking window, spread over the days."""
    service = next(s for s in profile.services if s.name == SERVICE)
    length = timedelta(minutes=service.duration_minutes)
    today = datetime.now(profile.tz).date()
    per_day: list[list[Slot]] = []
    for ahead in range(FIRST_DAY_AHEAD, profile.booking.max_days_ahead):
        day = today + timedelta(days=ahead)
        if day in profile.closed_dates:
            continue
        starts: list[Slot] = []
        for opens, closes in profile.hours.get(WEEKDAYS[day.weekday()], []):
            at = datetime.combine(day, opens, profile.tz)
            while (at + length).time() <= closes and (at + length).date() == day:
                deposit = deposit_for(profile, service, at) > Decimal(0)
                starts.append(Slot(profile, day, at.time(), deposit))
                at += length
        if starts:
            per_day.append(starts)
    # Round robin over the days: consecutive customers land on different days.
    for column in itertools.zip_longest(*per_day):
        yield from (slot for slot in column if slot is not None)


class SlotPlanner:
    """Hands out each slot once for the whole run, so customers of different faults never
    meet; `contended()` gives one slot to more customers than the business has places."""

    def __init__(self, profiles: Sequence[BusinessProfile]) -> None:
        self._profiles = list(profiles)
        self._free: dict[tuple[str, bool], deque[Slot]] = {}
        for profile in self._profiles:
            for slot in _slots_of(profile):
                self._free.setdefault((profile.id, slot.deposit), deque()).append(slot)
        self._turn = itertools.cycle(self._profiles)

    def take(self, deposit: bool) -> Slot:
        for _ in self._profiles:
            profile = next(self._turn)
            free = self._free.get((profile.id, deposit))
            if free:
                return free.popleft()
        raise AssertionError(f"no {'deposit' if deposit else 'plain'} slots left to plan")

    def contended(self, business_id: str) -> Slot:
        free = self._free[(business_id, False)]
        return free.popleft()


# --- what was sent and answered ---------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One delivery of a webhook and what ingress said (a status, or an error)."""

    started: float
    answered: float
    status: int | None
    error: str | None = None


@dataclass(eq=False)
class Webhook:
    kind: Literal["sms", "stripe"]
    key: str  # MessageSid or evt_ id
    root: uuid.UUID  # the event id ingress publishes it under
    phone: str
    text: str
    answers: list[Answer] = field(default_factory=list)
    accepted: bool = False


@dataclass(eq=False)
class Customer:
    phone: str
    slot: Slot
    cancels: bool
    contended: bool = False  # wants a slot with more takers than places
    transcript: list[str] = field(default_factory=list)
    webhooks: list[Webhook] = field(default_factory=list)
    said_yes: bool = False
    held: bool = False
    paid: bool = False
    reference: str | None = None
    taken: bool = False
    cancel_sent: bool = False
    cancelled: bool = False
    stopped: str | None = None  # why the conversation ended before its script did

    def finished(self) -> bool:
        """Its script played to the end: booked (and cancelled, if it meant to), or, for
        a slot with more takers than places, told the time is taken."""
        if self.reference is not None:
            return self.cancelled or not self.cancels
        return self.contended and self.stopped is None

    def story(self) -> str:
        where = f"{self.slot.business_id} {self.slot.request()!r}"
        return f"{self.phone} ({where}): " + " | ".join(self.transcript)


_phones = itertools.count(1)


def new_phone() -> str:
    return f"+1917555{next(_phones):04d}"


# --- the load ---------------------------------------------------------------------------


@dataclass(eq=False)
class Load:
    """One fault's customers, started at a steady rate over `window_s`."""

    name: str
    system: System
    feed: ReplyFeed
    progress: Progress
    copies: int = 1  # how many times each webhook is delivered
    pay_after_s: float = THINK_S  # how long a customer takes to pay a checkout link
    awaiting_payment: int = 0  # customers holding a checkout link they have not paid yet
    customers: list[Customer] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    cuts: list[tuple[float, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how the fault itself went wrong
    retrying_max: int = 0  # the most messages seen waiting in retry tiers during a cut
    _client: httpx.AsyncClient | None = None
    _sent: int = 0

    def plan(self, planner: SlotPlanner, count: int, contended: int = 0) -> None:
        """`count` customers: plain and deposit slots, a third of them cancelling; plus
        `contended` customers all wanting one salon slot (more than its places)."""
        for i in range(count):
            self.customers.append(Customer(new_phone(), planner.take(deposit=i % 3 == 1),
                                           cancels=i % 3 == 2 or i % 6 == 4))
        if contended:
            slot = planner.contended("salon")
            self.customers.extend(Customer(new_phone(), slot, cancels=False, contended=True)
                                  for _ in range(contended))

    @property
    def webhooks(self) -> list[Webhook]:
        return [w for c in self.customers for w in c.webhooks]

    def accepted(self) -> int:
        return sum(1 for w in self.webhooks if w.accepted)

    async def run(self, window_s: float) -> None:
        async with httpx.AsyncClient(base_url=self.system.ingress_url,
                                     timeout=HTTP_TIMEOUT_S) as client:
            self._client = client
            await asyncio.gather(*(self._converse(c, at)
                                   for c, at in zip(self.customers, self._starts(window_s),
                                                    strict=True)))

    def _starts(self, window_s: float) -> list[float]:
        """When each customer writes first: a steady rate over the window; those who want
        one slot all at once, mid-window, so their "yes" race for its last place."""
        steady = [c for c in self.customers if not c.contended]
        step = window_s / max(1, len(steady))
        starts, i = [], 0
        for c in self.customers:
            if c.contended:
                starts.append(window_s / 2)
            else:
                starts.append(i * step)
                i += 1
        return starts

    async def _converse(self, c: Customer, after_s: float) -> None:
        await asyncio.sleep(after_s)
        reply = await self.say(c, c.slot.request())
        if reply is None or PROPOSAL not in reply:
            return
        c.said_yes = True
        reply = await self.say(c, "yes")
        if reply is not None and (link := CHECKOUT.search(reply)):
            c.held = True
            self.awaiting_payment += 1
            try:
                await asyncio.sleep(self.pay_after_s)
            finally:
                self.awaiting_payment -= 1
            reply = await self.pay(c, link.group(1))
        if reply is None:
            return
        if (confirmed := CONFIRMED.search(reply)) is None:
            c.taken = TAKEN in reply
            return
        c.reference = confirmed.group(1)
        if not c.cancels:
            return
        reply = await self.say(c, "cancel")
        if reply is None or CANCEL_OFFER not in reply:
            return
        c.cancel_sent = True
        reply = await self.say(c, "yes")
        c.cancelled = reply is not None and CANCELLED in reply

    # --- sending ------------------------------------------------------------------------

    async def say(self, c: Customer, text: str) -> str | None:
        sid = f"SM{uuid.uuid4().hex}"
        to = c.slot.profile.channels.sms
        assert to is not None
        form = {"MessageSid": sid, "AccountSid": "ACfaults", "From": c.phone, "To": to,
                "Body": text, "NumMedia": "0"}
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(
            PUBLIC_URL + "/webhooks/twilio/sms", form)
        webhook = Webhook("sms", sid, deterministic_event_id("twilio", sid), c.phone, text)
        c.webhooks.append(webhook)
        c.transcript.append(f"> {text}")

        def send() -> Awaitable[httpx.Response]:
            return self.client.post("/webhooks/twilio/sms", data=form,
                                    headers={"X-Twilio-Signature": signature})

        return await self._exchange(c, webhook, send)

    async def pay(self, c: Customer, session_id: str) -> str | None:
        """Pay the checkout: Stripe's `checkout.session.completed`, signed with the
        webhook secret, as the checkout page (or Stripe) posts it."""
        async with self.system.sessions() as s:
            found = (await s.execute(
                select(Deposit, Booking.reference)
                .join(Booking, Booking.id == Deposit.booking_id)
                .where(Deposit.checkout_session_id == session_id))).one_or_none()
        if found is None:
            c.stopped = f"checkout {session_id} not in deposits"
            return None
        deposit, reference = found
        request = CheckoutRequest(
            business_id=deposit.business_id, booking_id=str(deposit.booking_id),
            reference=reference, attempt=deposit.attempt, amount=deposit.amount,
            currency=deposit.currency, description="deposit",
            expires_at=datetime.now(UTC) + timedelta(hours=1), customer=c.phone)
        intent = "pi_" + session_id.removeprefix("cs_")
        event = completed_event(session_id, request, intent)
        body = json.dumps(event).encode()
        evt = str(event["id"])
        webhook = Webhook("stripe", evt, deterministic_event_id("stripe", evt), c.phone,
                          f"pays {session_id}")
        c.webhooks.append(webhook)
        c.transcript.append(f"> (pays {deposit.amount} at {session_id})")

        def send() -> Awaitable[httpx.Response]:  # signed afresh for every delivery
            return self.client.post("/webhooks/stripe", content=body, headers={
                "Content-Type": "application/json",
                "Stripe-Signature": stripe_signature(STRIPE_SECRET, body)})

        reply = await self._exchange(c, webhook, send)
        c.paid = webhook.accepted
        return reply

    @property
    def client(self) -> httpx.AsyncClient:
        assert self._client is not None, "the load is not running"
        return self._client

    async def _exchange(self, c: Customer, webhook: Webhook,
                        send: Callable[[], Awaitable[httpx.Response]]) -> str | None:
        self._sent += 1
        if self.copies == 1:
            await self._deliver(webhook, send)
        elif self._sent % 2:  # the provider's copies at once...
            await asyncio.gather(*(self._deliver(webhook, send) for _ in range(self.copies)))
        else:  # ... or one after the other
            for _ in range(self.copies):
                await self._deliver(webhook, send)
        if not webhook.accepted:
            last = webhook.answers[-1] if webhook.answers else None
            c.stopped = f"webhook never accepted (last answer {last})"
            c.transcript.append("  (never accepted)")
            return None
        reply = await self._reply(c)
        await asyncio.sleep(THINK_S)
        return reply

    async def _deliver(self, webhook: Webhook,
                       send: Callable[[], Awaitable[httpx.Response]]) -> None:
        """Until ingress accepts this copy (200), retrying as a provider does."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WEBHOOK_BOUND_S
        delay = FIRST_RETRY_S
        while True:
            started = loop.time()
            status: int | None = None
            error: str | None = None
            try:
                status = (await send()).status_code
            except httpx.HTTPError as exc:
                error = repr(exc)
            answer = Answer(started, loop.time(), status, error)
            webhook.answers.append(answer)
            self.answers.append(answer)
            if status == 200:
                webhook.accepted = True
                return
            if status is not None and status < 500:
                return  # refused for good: a provider does not retry a 4xx
            if loop.time() > deadline:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_S)

    async def _reply(self, c: Customer) -> str | None:
        box = self.feed.box(c.slot.business_id, c.phone)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REPLY_BOUND_S
        while True:
            try:
                reply = await asyncio.wait_for(box.get(), timeout=1.0)
            except TimeoutError:
                if self.progress.settled() or loop.time() > deadline:
                    c.stopped = "no reply"
                    c.transcript.append("  (no reply)")
                    return None
                continue
            c.transcript.append(f"< {reply.body}")
            return reply.body

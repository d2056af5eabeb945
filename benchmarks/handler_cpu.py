"""Benchmark: the CPU a turn costs inside fsm's and notifier's handlers, in one process.

`make bench` measures the whole pipeline, where the broker, the database and eleven
processes share two cores and a run's figures drift by half. This one runs the handlers
alone, in this process, over the local PostgreSQL (a fresh database, migrated, dropped at
the end), so a change to what a handler sends shows in a figure steady enough to compare:

- **fsm**: whole booking conversations (book, change the time, confirm, cancel, confirm
  the cancellation), each message read by the offline rules and handled by
  `on_message_understood` exactly as its consumer runs it (one transaction, the inbox claimed
  with the outbox rows). `--booked N` first fills the salon's calendar with N other
  customers' bookings, all in the horizon every turn reads.
- **notifier**: a reply to a customer, on SMS, WhatsApp (inside the 24-hour window the
  reply carries) and web chat in turn (the recording and web chat adapters: no provider is
  called).

    .venv/bin/python benchmarks/handler_cpu.py [--conversations 60] [--booked 0]
                                               [--loop uvloop|asyncio]

Prints CPU milliseconds per turn for each (this process's CPU, so the database's own is
not in it), the best of `--rounds`, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, time as clock_time, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker  # noqa: E402

from benchmarks.customers import SlotPlanner, new_phone  # noqa: E402
from benchmarks.rig import (  # noqa: E402
    BUSINESSES,
    best_cpu_ms_per_unit,
    create_database,
)
from libs.bus.consumer import inbox_claim  # noqa: E402
from libs.bus.context import Handler, HandlerContext, run_handler  # noqa: E402
from libs.business.profile import BusinessProfile, load_profile  # noqa: E402
from libs.business.service import import_profile  # noqa: E402
from libs.clock import SystemClock  # noqa: E402
from libs.contracts.commands import ReplyRequested  # noqa: E402
from libs.contracts.events import MessageUnderstood  # noqa: E402
from libs.contracts.message import Message  # noqa: E402
from libs.contracts.registry import make_envelope  # noqa: E402
from libs.contracts.vocabulary import Channel  # noqa: E402
from libs.db.databases import drop_database_async  # noqa: E402
from libs.db.session import autocommit_sessions, make_engine, make_session_factory  # noqa: E402
from libs.runtime import event_loop  # noqa: E402
from services.fsm.handlers import FsmDeps, on_message_understood  # noqa: E402
from services.fsm.models import Booking, Customer  # noqa: E402
from services.fsm.turns import new_reference  # noqa: E402
from services.nlu.catalog import Catalog  # noqa: E402
from services.nlu.rules import RulesExtractor  # noqa: E402
from services.notifier.adapters.by_channel import ByChannel  # noqa: E402
from services.notifier.adapters.recording import RecordingChannel  # noqa: E402
from services.notifier.adapters.webchat import WebChatChannel  # noqa: E402
from services.notifier.deps import NotifierDeps  # noqa: E402
from services.notifier.handlers import HANDLERS as NOTIFIER  # noqa: E402

LOCAL = "postgresql://postgres@127.0.0.1:5432/postgres"
CHANNELS: tuple[Channel, ...] = ("sms", "whatsapp", "web")
Sessions = async_sessionmaker[AsyncSession]


class Consumer:
    """One handler run as its consumer runs it: the inbox claimed with what it emitted, a
    statement that commits by itself where the handler asks for one."""

    def __init__(self, sessions: Sessions, profile: BusinessProfile, name: str) -> None:
        self.sessions, self.profile, self.name = sessions, profile, name
        self.autocommit = autocommit_sessions(sessions)
        self.clock = SystemClock()

    async def run(self, handler: Handler[Any], message: Message, deps: Any) -> None:
        envelope = make_envelope(message, business_id=self.profile.id,
                                 occurred_at=self.clock.now())
        ctx = HandlerContext(envelope=envelope, sessions=self.sessions, clock=self.clock,
                             business_id=self.profile.id,
                             claim=inbox_claim(self.name, envelope),
                             correlation_id=envelope.correlation_id,
                             autocommit=self.autocommit)
        await run_handler(handler, ctx, message, deps)


async def fill_calendar(sessions: Sessions, profile: BusinessProfile, n: int) -> None:
    """`n` confirmed bookings of another customer, after hours on the coming days: in the
    horizon every turn reads, never in the way of the conversations' slots."""
    async with sessions() as session, session.begin():
        other = Customer(business_id=profile.id, address=new_phone())
        session.add(other)
        await session.flush()
        today = datetime.now(profile.tz).date()
        for i in range(n):
            start = datetime.combine(today + timedelta(days=1 + i % 50), clock_time(22),
                                     profile.tz) + timedelta(minutes=5 * (i // 50))
            session.add(Booking(reference=new_reference(), business_id=profile.id,
                                customer_id=other.id, service=profile.services[0].name,
                                resource=1, starts_at=start, ends_at=start + timedelta(minutes=5),
                                status="confirmed"))


def fsm_conversation(consumer: Consumer, planner: SlotPlanner) -> Callable[[int], Awaitable[int]]:
    extractor, catalog = RulesExtractor(), Catalog.from_profile(consumer.profile)

    async def say(customer: str, channel: Channel, text: str) -> None:
        now = consumer.clock.now()
        understood = extractor.extract(text, catalog, now)
        await consumer.run(on_message_understood, MessageUnderstood(
            channel=channel, provider_message_id=uuid.uuid4().hex, customer=customer,
            text=text, received_at=now, intent=understood.intent, slots=understood.slots,
            confidence=understood.confidence, extractor=understood.extractor), FsmDeps())

    async def conversation(i: int) -> int:
        first, second = planner.take()
        while first.deposit or second.deposit:  # no payment here: payments is not running
            planner.give_back(first, second)
            first, second = planner.take()
        customer, channel = new_phone(), CHANNELS[i % 2]
        for text in (first.request(), f"actually make that {second.time_text()} instead",
                     "yes", "cancel", "yes"):
            await say(customer, channel, text)
        planner.give_back(first, second)
        return 5

    return conversation


def notifier_turn(consumer: Consumer) -> Callable[[int], Awaitable[int]]:
    deps = NotifierDeps(channel=ByChannel({"web": WebChatChannel(), "sms": RecordingChannel(),
                                           "whatsapp": RecordingChannel()}))

    async def turn(i: int) -> int:
        channel = CHANNELS[i % 3]
        to = f"web:{uuid.uuid4().hex}" if channel == "web" else new_phone()
        await consumer.run(NOTIFIER[ReplyRequested], ReplyRequested(
            channel=channel, to=to, text="Haircut on Tuesday at 3:00 PM. Shall I book it?",
            customer_wrote_at=consumer.clock.now() if channel == "whatsapp" else None),
            deps)
        return 1

    return turn


async def check_booked_and_cancelled(sessions: Sessions, conversations: int) -> None:
    """Each conversation booked its time and cancelled it: what was measured is the whole
    conversation, not replies to messages the machine did not follow."""
    async with sessions() as session:
        found = await session.scalar(select(func.count()).select_from(Booking).where(
            Booking.status == "cancelled"))
    if found != conversations:
        raise SystemExit(f"{conversations} conversations should each have booked and "
                         f"cancelled; {found} bookings were cancelled")


async def main(conversations: int, booked: int, rounds: int) -> dict[str, float]:
    server = os.environ.get("DATABASE_URL") or LOCAL
    admin_dsn, url, name = await create_database(server, "handlers")
    engine = make_engine(url, pool_size=2)
    try:
        sessions = make_session_factory(engine)
        profile = load_profile(BUSINESSES / "salon.yaml")
        async with sessions() as session, session.begin():
            await import_profile(session, profile)
        if booked:
            await fill_calendar(sessions, profile, booked)
        fsm = await best_cpu_ms_per_unit(
            fsm_conversation(Consumer(sessions, profile, "fsm"), SlotPlanner([profile])),
            conversations, rounds)
        await check_booked_and_cancelled(sessions, conversations * rounds
                                         + max(1, conversations // 5))
        print(f"fsm: {fsm:.2f} ms CPU per turn ({conversations} conversations of 5 turns, "
              f"{booked} other bookings in the horizon)")
        notifier = await best_cpu_ms_per_unit(
            notifier_turn(Consumer(sessions, profile, "notifier")), conversations * 5, rounds)
        print(f"notifier: {notifier:.2f} ms CPU per turn (a reply)")
        return {"fsm_cpu_ms_per_turn": round(fsm, 2),
                "notifier_cpu_ms_per_turn": round(notifier, 2)}
    finally:
        await engine.dispose()
        await drop_database_async(admin_dsn, name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=60)
    parser.add_argument("--booked", type=int, default=0,
                        help="other customers' bookings in the horizon every turn reads")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop",
                        help="the event loop: the services' (uvloop) or asyncio's own")
    args = parser.parse_args()
    run = event_loop.run if args.loop == "uvloop" else asyncio.run
    print(json.dumps(run(main(args.conversations, args.booked, args.rounds))))

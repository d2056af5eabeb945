"""The Prometheus metrics every service exports, declared once (a second declaration of a
name would raise at import). Counters move where each outcome happens (`libs.bus.consumer`,
`libs.timers.ticker`, notifier's send); the two backlog gauges are read from the database
when scraped (`refresh_backlog_gauges`), so a stuck relay or ticker still shows.

Labels stay bounded: `service` is a service name, `type` a message type the service is
bound to, `kind` a timer kind, `reason` one of the dead-letter reasons, `status` "sent" or
the class name of the failure.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterable
from datetime import datetime

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.models import OutboxMessage
from libs.clock import Clock
from libs.timers.models import Timer

# Handlers call outside systems (Groq, Stripe, Twilio): the upper buckets matter.
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

MESSAGES_HANDLED = Counter(
    "receptionist_messages_handled", "Messages whose handler committed its effect.",
    ["service", "type"])
MESSAGES_FAILED = Counter(
    "receptionist_messages_failed",
    "Handler runs that raised; each is then retried or dead-lettered.", ["service", "type"])
MESSAGES_RETRIED = Counter(
    "receptionist_messages_retried", "Messages handed to a retry tier after a failure.",
    ["service", "type"])
MESSAGES_DEAD_LETTERED = Counter(
    "receptionist_messages_dead_lettered",
    "Messages moved to <queue>.dead (reason: invalid, unhandled, permanent, "
    "retries_exhausted).", ["service", "type", "reason"])
MESSAGES_DUPLICATE = Counter(
    "receptionist_messages_duplicate",
    "Redeliveries skipped because the inbox shows them handled.", ["service", "type"])
HANDLER_SECONDS = Histogram(
    "receptionist_handler_duration_seconds",
    "Time a handler ran, its transaction's commit included, whatever the outcome.",
    ["service", "type"], buckets=LATENCY_BUCKETS_S)

TIMERS_FIRED = Counter(
    "receptionist_timers_fired", "Timers whose handler committed.", ["service", "kind"])
TIMERS_FAILED = Counter(
    "receptionist_timers_failed",
    "Timer firings that raised (or had no handler); they fire again when their lease ends.",
    ["service", "kind"])
TIMERS_DROPPED = Counter(
    "receptionist_timers_dropped", "Timers that failed permanently and are marked fired.",
    ["service", "kind"])
TIMERS_DUPLICATE = Counter(
    "receptionist_timers_duplicate", "Timers another ticker had already fired.",
    ["service", "kind"])
TIMER_SECONDS = Histogram(
    "receptionist_timer_duration_seconds",
    "Time a timer handler ran, its commit included, whatever the outcome.",
    ["service", "kind"], buckets=LATENCY_BUCKETS_S)

OUTBOX_BACKLOG = Gauge(
    "receptionist_outbox_backlog",
    "Outbox rows committed and not yet published (one outbox for all services).")
TIMER_LAG = Gauge(
    "receptionist_timer_lag_seconds",
    "How long the service's oldest due, unfired timer is overdue (0: none).", ["service"])

OUTBOUND_MESSAGES = Counter(
    "receptionist_outbound_messages",
    "Sends to a customer channel by outcome: sent, or the class name of the failure.",
    ["channel", "status"])

DB_STATEMENTS = Counter(
    "receptionist_db_statements",
    "SQL statements sent to PostgreSQL (SQLAlchemy's before_cursor_execute; pool pings, "
    "BEGIN and COMMIT are not statements here), by the service whose handler, timer or job "
    "sent them; 'other': the outbox relay, HTTP routes and probes.", ["service"])

GC_SECONDS = Counter(
    "receptionist_gc_seconds",
    "CPU seconds the cyclic garbage collector took, by the oldest generation it collected "
    "(0, 1 or 2: a full collection).", ["generation"])

REMINDERS_DISPATCHED = Counter(
    "receptionist_reminders_dispatched",
    "Due reminders the dispatcher claimed: sent (a reminder.due in the outbox) or skipped "
    "(the appointment had started).", ["outcome"])


def time_garbage_collection() -> None:
    """Count the collector's CPU in `GC_SECONDS` from now on (once per process, however
    often called): what a process gains from its collector settings shows there."""
    if _collection_timed not in gc.callbacks:
        for generation in ("0", "1", "2"):  # exported from the start, at 0
            GC_SECONDS.labels(generation)
        gc.callbacks.append(_collection_timed)


_collection_started = [0.0]


def _collection_timed(phase: str, info: dict[str, int]) -> None:
    """A `gc.callbacks` entry. The collector runs in the thread that set it off: that
    thread's CPU is its own."""
    if phase == "start":
        _collection_started[0] = time.thread_time()
    else:
        GC_SECONDS.labels(str(info["generation"])).inc(
            time.thread_time() - _collection_started[0])


async def refresh_backlog_gauges(sessions: async_sessionmaker[AsyncSession], clock: Clock,
                                 timer_owners: Iterable[str]) -> None:
    """Set the outbox backlog and each owner's timer lag; two indexed queries (the partial
    indexes on unpublished outbox rows and on unfired timers)."""
    now = clock.now()
    owners = sorted(set(timer_owners))
    async with sessions() as session:
        backlog = await session.scalar(select(func.count()).select_from(OutboxMessage)
                                       .where(OutboxMessage.published_at.is_(None)))
        oldest: dict[str, datetime] = {}
        if owners:
            rows = await session.execute(
                select(Timer.owner, func.min(Timer.due_at))
                .where(Timer.owner.in_(owners), Timer.fired_at.is_(None), Timer.due_at <= now)
                .group_by(Timer.owner))
            oldest = {owner: due for owner, due in rows}
    OUTBOX_BACKLOG.set(int(backlog or 0))
    for owner in owners:
        due = oldest.get(owner)
        lag = (now - due).total_seconds() if due is not None else 0.0
        TIMER_LAG.labels(owner).set(max(lag, 0.0))

"""Safe to put on the internet: faults under a steady load of simulated customers, over the
real broker and database, each ending with every accepted webhook answered once, no
booking doubled or lost, no dead letter, and ingress answering 503 (never 500) while it
cannot do its job (`tests/faults/checks.py`).

1. `kill -9` the process of each service with a queue (fsm, nlu, notifier, payments, and
   any other built since: `receptionist.bootstrap.DEFINITIONS`), then restart it;
2. cut the broker connection (every service's, through a proxy), then restore it;
3. cut PostgreSQL for 90 s the same way, then restore it;
4. deliver every webhook twice.

Each fault prints one line with the counts it checked. Bounds are generous and nothing is
timed: a fault passes or fails on what the system did, however fast.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from tests.faults.checks import Cut, verify
from tests.faults.conftest import Rig
from tests.faults.load import THINK_S, Load
from tests.faults.proxy import TcpProxy
from tests.faults.system import CONSUMERS, SERVICES

pytestmark = pytest.mark.faults

DOWN_S = 2.0  # a killed process stays down this long before its restart
BROKER_CUT_S = 15.0
DB_CUT_S = 90.0
PAY_AFTER_S = 8.0  # in the database cut, customers take a while to pay their deposit
WARM_WEBHOOKS = 4  # the load is flowing: a fault starts once this many were accepted
QUIET_S = 3.0  # the end of a fault: nothing moved for this long
SETTLE_BOUND_S = 180.0
TRIGGER_BOUND_S = 60.0

Fault = Callable[[Rig, Load], Awaitable[None]]


async def play(rig: Rig, emit: Callable[[str], None], name: str, fault: Fault, *,
               customers: int, window_s: float, cut: Cut = "none", copies: int = 1,
               contended: int = 3, pay_after_s: float = THINK_S) -> None:
    load = Load(name, rig.system, rig.feed, rig.progress, copies=copies,
                pay_after_s=pay_after_s)
    restarted = await rig.system.ensure_running()
    if restarted:
        load.notes.append(f"restarted before the fault (died earlier): {restarted}")
    load.plan(rig.planner, customers, contended)
    marks = {svc: proc.mark() for svc, proc in rig.system.services.items()}
    running = asyncio.create_task(load.run(window_s))
    try:
        await fault(rig, load)
    finally:
        await running
    if not await rig.progress.until_quiet(QUIET_S, SETTLE_BOUND_S):
        load.notes.append(f"still busy {SETTLE_BOUND_S:.0f}s after the customers finished: "
                          f"{rig.progress.backlog}, unpublished outbox rows "
                          f"{rig.progress.unpublished}")
    verdict = await verify(rig.system, load, cut, copies)
    emit(verdict.line())
    assert not verdict.problems, verdict.report() + "".join(
        proc.errors(marks.get(svc, (1, 0))) for svc, proc in rig.system.services.items())


async def _until(check: Callable[[], Awaitable[bool]], bound_s: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + bound_s
    while not await check():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.2)
    return True


async def _warm(load: Load) -> None:
    async def flowing() -> bool:
        return load.accepted() >= WARM_WEBHOOKS

    if not await _until(flowing, TRIGGER_BOUND_S):
        load.notes.append(f"fewer than {WARM_WEBHOOKS} webhooks accepted before the fault")


async def _back(rig: Rig, load: Load, names: tuple[str, ...]) -> None:
    """Every service ready again (and consuming) after a fault was undone."""
    for name in names:
        try:
            await rig.system.until_ready(name, bound_s=TRIGGER_BOUND_S)
        except AssertionError as exc:
            load.notes.append(f"not ready after the fault: {exc}")


# --- 1. kill -9 -----------------------------------------------------------------------------


def kill_9(service: str) -> Fault:
    async def fault(rig: Rig, load: Load) -> None:
        # Killed while it has work: once it handled a few of this load's messages.
        before = await rig.system.handled_by(service)

        async def busy() -> bool:
            return await rig.system.handled_by(service) >= before + 3

        if not await _until(busy, TRIGGER_BOUND_S):
            load.notes.append(f"{service} handled fewer than 3 messages before the kill")
        async with rig.progress.fault():
            await rig.system.services[service].kill9()
            await asyncio.sleep(DOWN_S)
            await rig.system.services[service].start()
            await _back(rig, load, (service,))

    return fault


@pytest.mark.timeout(300)
@pytest.mark.parametrize("service", CONSUMERS)
async def test_kill_9_a_consumer_then_restart_it(rig: Rig, emit: Callable[[str], None],
                                                 service: str) -> None:
    await play(rig, emit, f"kill-9-{service}", kill_9(service), customers=12, window_s=8)


# --- 4. every webhook twice -----------------------------------------------------------------


async def no_fault(rig: Rig, load: Load) -> None:
    """The duplicates are the fault: the load delivers every webhook twice."""


@pytest.mark.timeout(300)
async def test_every_webhook_delivered_twice(rig: Rig, emit: Callable[[str], None]) -> None:
    await play(rig, emit, "duplicate-webhooks", no_fault, customers=16, window_s=10,
               copies=2)


# --- 2. and 3. cutting a server off ---------------------------------------------------------


def cut_link(proxy: Callable[[Rig], TcpProxy], seconds: float,
             ready: Callable[[Load], Awaitable[None]]) -> Fault:
    async def fault(rig: Rig, load: Load) -> None:
        await ready(load)
        link = proxy(rig)
        loop = asyncio.get_running_loop()
        async with rig.progress.fault():
            began = loop.time()
            link.cut()
            try:
                while loop.time() - began < seconds:
                    await asyncio.sleep(min(1.0, seconds - (loop.time() - began)))
                    load.retrying_max = max(load.retrying_max, _retrying(rig))
            finally:
                link.restore()
                load.cuts.append((began, loop.time()))
            await _back(rig, load, SERVICES)

    return fault


def _retrying(rig: Rig) -> int:
    """Messages waiting in retry tiers now (as last sampled): handlers met the fault."""
    return sum(ready for queue, (ready, _) in rig.progress.backlog.items()
               if ".retry." in queue)


async def _payments_pending(load: Load) -> None:
    """Customers are about to pay: their payments reach ingress (which needs no database
    for Stripe's webhooks) and then payments while the database is cut, so handlers meet
    the outage for most of its length, whatever else is in flight."""

    async def holding_links() -> bool:
        return load.awaiting_payment >= 1

    if not await _until(holding_links, TRIGGER_BOUND_S):
        load.notes.append("no customer held a checkout link when the database was cut")


@pytest.mark.timeout(400)
async def test_broker_connection_cut_then_restored(rig: Rig,
                                                   emit: Callable[[str], None]) -> None:
    await play(rig, emit, f"broker-cut-{BROKER_CUT_S:.0f}s",
               cut_link(lambda r: r.system.amqp_proxy, BROKER_CUT_S, _warm),
               customers=20, window_s=25, cut="broker")


@pytest.mark.timeout(600)
async def test_database_cut_for_90s_then_restored(rig: Rig,
                                                  emit: Callable[[str], None]) -> None:
    await play(rig, emit, f"db-cut-{DB_CUT_S:.0f}s",
               cut_link(lambda r: r.system.db_proxy, DB_CUT_S, _payments_pending),
               customers=30, window_s=DB_CUT_S + 10, cut="database", pay_after_s=PAY_AFTER_S)

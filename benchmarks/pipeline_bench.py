"""Benchmark: the whole pipeline against the plumbing's own ceiling (issue 22).

Every part runs as its own process over the local RabbitMQ and PostgreSQL, in a fresh
database (migrated, the example businesses imported, dropped at the end) under a bus prefix
of its own (deleted at the end). Every ratio is measured next to its ceiling in the same
run, with the same client, so it holds on a noisy machine:

- turns: concurrent simulated customers hold full conversations over signed SMS, WhatsApp
  and web chat webhooks (book, correct the time, confirm, pay the deposit when asked,
  cancel; `benchmarks/customers.py`). The number of customers is stepped up until turns/s
  stops rising (the maximum); latency is taken at half that rate. The ceiling
  (`benchmarks/ceiling.py`) is the same number of hops, each its own process, doing only
  what exactly-once delivery needs, measured the same way, once with a publish and a commit
  per message and once with a batched relay (`turns_ceiling_per_s` is the batched one: the
  real relay claims batches and marks them sent in one statement);
- ingress: signed WhatsApp webhooks accepted per second by the real ingress process and by
  a bare endpoint doing the same HMAC check and one confirmed publish
  (`benchmarks/bare_ingress.py`), alternately, from a client that costs little
  (`benchmarks/rawhttp.py`);
- fsm_scale: turns/s at saturation with one fsm process, then three, then one again (the
  two extra replicas stopped as a deployment stops them, SIGTERM), with every error counted
  (5xx, lost, doubled or unexpected replies, dead letters, processes that exited or stopped
  badly). `fsm_scale_1` is the mean of the two windows with one process, so a machine that
  drifts over the minute counts against neither side; pools are sized so the connection
  budget holds;
- reminders/s (`benchmarks/reminders_bench.py`), availability p99
  (`benchmarks/availability_bench.py`) and the NLU rules' p99 over `tests/nlu/dev_en.jsonl`
  (after a warm-up pass).

    .venv/bin/python benchmarks/pipeline_bench.py [--quick] [--py-spy] [--keep-logs DIR]

Prints a table, then one JSON line with the figures. Performance is never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import psycopg  # noqa: E402

from benchmarks import ceiling, rawhttp  # noqa: E402
from benchmarks.customers import (  # noqa: E402
    Booker,
    Chatter,
    Load,
    Pacer,
    ReplyFeed,
    SlotPlanner,
    Stats,
    new_phone,
    percentile,
    whatsapp_body,
)
from benchmarks.rig import (  # noqa: E402
    LOCAL_AMQP,
    LOCAL_DATABASE,
    WHATSAPP_SECRET,
    Delta,
    Proc,
    Rig,
    cpu_seconds,
    free_port,
    open_rig,
    pool_of,
    service_names,
)
from libs.business.profile import BusinessProfile, load_profile  # noqa: E402
from services.ingress.whatsapp import sign  # noqa: E402

KEYS = ("turns_per_s", "turns_ceiling_per_s", "turn_p50_ms", "turn_p99_ms", "cpu_ms_per_turn",
        "db_statements_per_turn", "ingress_rps", "ingress_ceiling_rps", "fsm_scale_1",
        "fsm_scale_3", "reminders_per_s", "availability_p99_ms", "nlu_p99_ms")
BUSINESSES = REPO / "examples" / "businesses"
STATEMENTS = "receptionist_db_statements_total"
GC_SECONDS = "receptionist_gc_seconds_total"
HANDLED = "receptionist_messages_handled_total"
RETRIED = "receptionist_messages_retried_total"
SPIED = ("fsm", "notifier", "nlu", "ingress", "reminders", "payments")  # what --py-spy records
INBOUND = "inbound.message.received.v1"


@dataclass(frozen=True)
class Plan:
    """How long each part runs: `--quick` is a smoke run (the figures mean little)."""

    steps: tuple[int, ...]
    warm_s: float
    measure_s: float
    latency_s: float
    scale_s: float
    ingress_rounds: int
    ingress_s: float
    ingress_connections: int
    reminders: int
    availability_runs: int
    nlu_rows: int | None


FULL = Plan(steps=(1, 4, 8, 16, 32, 64), warm_s=4.0,
            measure_s=8.0, latency_s=20.0, scale_s=10.0, ingress_rounds=4, ingress_s=3.0,
            ingress_connections=32, reminders=30_000, availability_runs=2000, nlu_rows=None)
QUICK = Plan(steps=(4,), warm_s=0.5, measure_s=1.5, latency_s=1.5, scale_s=1.5,
             ingress_rounds=1, ingress_s=1.0, ingress_connections=16, reminders=1000,
             availability_runs=100, nlu_rows=100)


_T0 = time.monotonic()


def log(line: str) -> None:
    print(f"[{time.monotonic() - _T0:5.1f}s] {line}", file=sys.stderr, flush=True)


def own_cpu() -> float:
    return cpu_seconds(os.getpid()) or 0.0


# --- windows of load -----------------------------------------------------------------------


@dataclass
class Window:
    """One stretch of steady load on one system: the turns whose reply was sent inside it,
    and what that system's processes spent meanwhile."""

    label: str
    workers: int
    seconds: float
    latencies_ms: list[float]
    delta: Delta
    kinds: Counter[str] = field(default_factory=Counter)

    @property
    def turns(self) -> int:
        return len(self.latencies_ms)

    @property
    def rate(self) -> float:
        return self.turns / self.seconds if self.seconds else 0.0

    @property
    def p50(self) -> float:
        return percentile(self.latencies_ms, 0.50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies_ms, 0.99)

    def per_turn(self, value: float) -> float:
        return value / self.turns if self.turns else math.nan

    @property
    def cpu_ms_per_turn(self) -> float:
        return self.per_turn(self.delta.service_cpu * 1000)

    def counted_per_turn(self, metric: str, scale: float = 1.0) -> float | None:
        """A counter's sum over the processes, per turn; None for a tree without it."""
        if not any(metric in c for c in self.delta.counters.values()):
            return None
        return self.per_turn(self.delta.total(metric) * scale)

    def counted_by_process(self, metric: str) -> dict[str, float]:
        return {n: c.get(metric, 0.0) for n, c in self.delta.counters.items()}

    @property
    def statements_per_turn(self) -> float | None:
        return self.counted_per_turn(STATEMENTS)

    @property
    def gc_us_per_turn(self) -> float | None:
        return self.counted_per_turn(GC_SECONDS, 1e6)

    def line(self) -> str:
        checkpoints = str(self.delta.checkpoints)
        return (f"  {self.label:<26} {self.workers:>3} customers {self.rate:7.1f}/s  "
                f"p50 {self.p50:7.1f} ms  p99 {self.p99:7.1f} ms  "
                f"cpu {self.cpu_ms_per_turn:6.1f} ms/turn"
                + (f"  ({checkpoints})" if checkpoints else ""))


@dataclass(eq=False)
class Measured:
    """A system under load: its processes, its customers and what they saw."""

    name: str
    procs: set[str]
    load: Load
    stats: Stats
    steps: list[Window] = field(default_factory=list)
    half: Window | None = None
    flat: int = 0

    @property
    def best(self) -> Window:
        return max(self.steps, key=lambda w: w.rate)

    @property
    def searching(self) -> bool:
        """Still rising: fewer than two steps in a row under 5% better than the best."""
        return self.flat < 2 and not (self.steps and self.steps[-1].p50 > 10_000)

    def record_step(self, w: Window) -> None:
        self.flat = 0 if not self.steps or w.rate > self.best.rate * 1.05 else self.flat + 1
        self.steps.append(w)


async def window(rig: Rig, system: Measured, label: str, warm_s: float,
                 measure_s: float) -> Window:
    """Let `system` (and only it) run for `warm_s`, then measure it for `measure_s`.
    Autovacuum's work, when the bench does it, falls in the warm-up (`Janitor`)."""
    system.load.resume()
    started = time.monotonic()
    if rig.janitor is not None:
        await rig.janitor.sweep_if_due()
    await asyncio.sleep(max(0.0, warm_s - (time.monotonic() - started)))
    before = await rig.snapshot()
    await asyncio.sleep(measure_s)
    after = await rig.snapshot()
    turns = system.stats.in_window(before.at, after.at)
    found = Window(label, system.load.workers, after.at - before.at, [t.ms for t in turns],
                   Rig.delta(before, after, system.procs), Counter(t.kind for t in turns))
    log(found.line())
    return found


async def search(rig: Rig, systems: Sequence[Measured], steps: Sequence[int],
                 plan: Plan) -> None:
    """Step the customers up, the systems taking turns at each step (the others paused),
    until each stops rising; then each at half its maximum rate, for latency."""
    for n in steps:
        for system in systems:
            if not system.searching:
                continue
            for other in systems:
                other.load.pause()
            system.load.grow(n)
            system.record_step(await window(rig, system, f"{system.name} x{n}",
                                            plan.warm_s, plan.measure_s))
    for system in systems:
        for other in systems:
            other.load.pause()
        system.load.pacer = Pacer(system.best.rate / 2)
        system.half = await window(rig, system, f"{system.name} at half", plan.warm_s,
                                   plan.latency_s)
        system.load.pacer = None


@contextlib.asynccontextmanager
async def loads(feed: ReplyFeed, *targets: tuple[str, Any]) -> AsyncIterator[list[Load]]:
    """One load per (base url, conversation), paused, all fed by `feed`."""
    stop = asyncio.Event()
    feeding = asyncio.create_task(feed.run(stop))
    # A connection idle as long as uvicorn's keep-alive (5 s, httpx's own expiry too) may be
    # closed by the server just as the client sends on it (a ReadError, once in a run):
    # the client lets idle connections go well before.
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400,
                          keepalive_expiry=2.0)
    async with contextlib.AsyncExitStack() as stack:
        made = []
        for base_url, conversation in targets:
            client = await stack.enter_async_context(
                httpx.AsyncClient(base_url=base_url, timeout=30.0, limits=limits))
            load = Load(client, feed, Stats(), conversation)
            load.pause()
            made.append(load)
        try:
            yield made
        finally:
            await asyncio.gather(*(load.stop() for load in made))
            stop.set()
            await feeding


# --- the turns ceiling ---------------------------------------------------------------------


def profiles() -> list[BusinessProfile]:
    return [load_profile(BUSINESSES / f"{name}.yaml") for name in ("salon", "barber")]


@dataclass
class Ceiling:
    prefix: str
    procs: list[Proc]
    url: str


async def start_ceiling(rig: Rig, relay: str) -> Ceiling:
    """The entry and three hops (pools as nlu, fsm and notifier have them)."""
    prefix = f"{rig.prefix}.ceil{relay[0]}"
    await ceiling.declare(rig.amqp_url, prefix)
    port = free_port()
    env = {"DATABASE_URL": rig.database_url, "AMQP_URL": rig.amqp_url,
           "CEILING_PREFIX": prefix}
    procs = [rig.add_process(
        f"ceiling-{relay}-entry", [sys.executable, "-m", "benchmarks.bare_ingress"],
        {"AMQP_URL": rig.amqp_url, "EXCHANGE": ceiling.exchange_of(prefix),
         "ROUTING_KEY": ceiling.key_of(1), "APP_SECRET": WHATSAPP_SECRET,
         "HTTP_PORT": str(port)}, http_port=port)]
    for hop, like in ((1, "nlu"), (2, "fsm"), (3, "notifier")):
        procs.append(rig.add_process(
            f"ceiling-{relay}-hop{hop}",
            [sys.executable, "-m", "benchmarks.ceiling", "--hop", str(hop), "--relay", relay,
             "--pool", str(pool_of(like))], env, queue=ceiling.queue_of(prefix, hop)))
    await rig.start(procs)
    return Ceiling(prefix, procs, f"http://127.0.0.1:{port}")


async def stop_ceiling(rig: Rig, found: Ceiling) -> None:
    await rig.stop(p.name for p in found.procs)
    await ceiling.declare(rig.amqp_url, found.prefix, delete=True)


async def per_message_phase(rig: Rig, plan: Plan) -> Measured:
    """The ceiling with a publish and a commit per message, on its own."""
    found = await start_ceiling(rig, "per-message")
    try:
        feed = ReplyFeed(rig.database_url)
        async with loads(feed, (found.url, Chatter(profiles()))) as (load,):
            system = Measured("ceiling per-message", {p.name for p in found.procs}, load,
                              load.stats)
            await search(rig, [system], plan.steps, plan)
        return system
    finally:
        await stop_ceiling(rig, found)
        async with await psycopg.AsyncConnection.connect(rig.database_url,
                                                         autocommit=True) as conn:
            await conn.execute("TRUNCATE inbox, outbox, message_log")


# --- ingress -------------------------------------------------------------------------------


@dataclass
class IngressResult:
    real: list[rawhttp.Result]
    bare: list[rawhttp.Result]
    real_cpu_us: float
    bare_cpu_us: float
    client_cpu_share: float
    real_gc_us: float | None  # the collector's share of real_cpu_us (None: a tree without it)

    @property
    def rps(self) -> float:
        return max(r.rate for r in self.real)

    @property
    def ceiling_rps(self) -> float:
        return max(r.rate for r in self.bare)


def whatsapp_requests(count: int, port: int) -> list[bytes]:
    numbers = [p.channels.whatsapp_phone_number_id for p in profiles()]
    built = []
    for i in range(count):
        number = numbers[i % len(numbers)]
        assert number is not None
        body = whatsapp_body(number, new_phone(), "haircut tomorrow at 3pm")
        built.append(rawhttp.request("/webhooks/whatsapp", body, {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": sign(WHATSAPP_SECRET, body)}, port))
    return built


async def ingress_phase(rig: Rig, plan: Plan) -> IngressResult:
    """The real ingress and the bare endpoint, alternately, nothing else running: both
    publish `inbound.message.received.v1` to the same exchange and queues (nlu's and
    notifier's), emptied before each window. Each figure is the best of its windows."""
    real = rig.add_service("ingress")
    port = free_port()
    bare = rig.add_process("bare-ingress", [sys.executable, "-m", "benchmarks.bare_ingress"],
                           {"AMQP_URL": rig.amqp_url, "EXCHANGE": rig.topology.exchange,
                            "ROUTING_KEY": INBOUND, "APP_SECRET": WHATSAPP_SECRET,
                            "HTTP_PORT": str(port)}, http_port=port)
    queues = [rig.topology.queue(c) for c in rig.topology.consumers_of(INBOUND)]
    results: dict[str, list[rawhttp.Result]] = {"real": [], "bare": []}
    cpu: dict[str, list[tuple[float, int]]] = {"real": [], "bare": []}
    client_share: list[float] = []
    try:
        await rig.start([real, bare])
        gc_before = (await rig.scrape(real)).get(GC_SECONDS)
        log(f"ingress: real and bare, {plan.ingress_connections} connections, "
            f"{plan.ingress_s:g} s each, alternately")
        for round_ in range(plan.ingress_rounds):
            # Each side goes first every other round: neither always meets the machine's
            # quieter (or busier) moment, and each figure is the best of its windows.
            pair = (("bare", bare), ("real", real))
            for name, proc in pair if round_ % 2 == 0 else pair[::-1]:
                assert proc.http_port is not None
                requests = await asyncio.to_thread(
                    whatsapp_requests, int(plan.ingress_s * 4000), proc.http_port)
                await rig.purge(queues)
                server_before, client_before = proc.cpu(), own_cpu()
                started = time.perf_counter()
                result = await rawhttp.blast(proc.http_port, requests,
                                             connections=plan.ingress_connections,
                                             seconds=plan.ingress_s)
                elapsed = time.perf_counter() - started
                cpu[name].append((proc.cpu() - server_before, result.accepted))
                client_share.append((own_cpu() - client_before) / elapsed)
                results[name].append(result)
                log(f"  {name:<5} {result.rate:8.0f} accepted/s  {dict(result.statuses)}"
                    f"{'  errors ' + str(dict(result.errors)) if result.errors else ''}")
        await rig.purge(queues)
        gc_after = (await rig.scrape(real)).get(GC_SECONDS)
    finally:
        await rig.stop([real.name, bare.name])

    def us_per(name: str, seconds: float | None = None) -> float:
        """Microseconds per webhook `name` accepted: of its CPU, or of `seconds`."""
        spent = sum(c for c, _ in cpu[name]) if seconds is None else seconds
        accepted = sum(n for _, n in cpu[name])
        return spent * 1e6 / accepted if accepted else math.nan

    gc_us = (us_per("real", gc_after - gc_before)
             if gc_before is not None and gc_after is not None else None)
    return IngressResult(results["real"], results["bare"], us_per("real"), us_per("bare"),
                         max(client_share, default=0.0), gc_us)


# --- the pipeline, next to its ceiling -----------------------------------------------------


async def connection_budget(rig: Rig, extra: int) -> str:
    async with await psycopg.AsyncConnection.connect(rig.admin_dsn, autocommit=True) as conn:
        row = await (await conn.execute("SHOW max_connections")).fetchone()
        reserved = await (await conn.execute("SHOW superuser_reserved_connections")).fetchone()
        others = await (await conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname IS DISTINCT FROM %s "
            "AND backend_type = 'client backend'", (rig.db_name,))).fetchone()
    assert row is not None and reserved is not None and others is not None
    limit = int(row[0]) - int(reserved[0])
    services = sum(pool_of(s) for s in service_names()) + 2 * pool_of("fsm")
    total = services + extra + int(others[0])
    return (f"services {services} (one of each, fsm x3; "
            f"{', '.join(f'{s} {pool_of(s)}' for s in service_names())}) + ceiling and "
            f"bench {extra} + other users now {others[0]} = {total} of {limit}: "
            f"{'holds' if total <= limit else 'DOES NOT HOLD'}")


async def errors_now(rig: Rig, stats: Stats, procs: set[str]) -> dict[str, int]:
    found: dict[str, int] = {f"answers {s}": n for s, n in stats.statuses.items() if s >= 500}
    found.update(stats.problems)
    snapshot = await rig.snapshot()
    dead = sum(c.get("receptionist_messages_dead_lettered_total", 0.0)
               for name, c in snapshot.counters.items() if name in procs)
    if dead:
        found["dead-lettered"] = int(dead)
    exited = [p for p in rig.exited() if p.split(" ", 1)[0] in procs]
    if exited:
        found["processes exited"] = len(exited)
    return found


def diff(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


@dataclass
class Pipeline:
    turns: Measured
    ceiling: Measured
    budget: str
    scale_one: list[Window] = field(default_factory=list)  # before and after the three
    scale_three: Window | None = None
    scale_errors: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def fsm_scale_1(self) -> float:
        """The mean of the windows with one fsm process, before and after the three."""
        return sum(w.rate for w in self.scale_one) / len(self.scale_one)


async def pipeline_phase(rig: Rig, plan: Plan,
                         spy: Callable[[Proc, float], Any] | None) -> Pipeline:
    """Every service and the batched ceiling side by side, taking turns (one paused while
    the other is measured); then fsm at one process and at three."""
    found = await start_ceiling(rig, "batched")
    services = [rig.add_service(name) for name in service_names()]
    await rig.start(services)
    await asyncio.sleep(plan.warm_s)  # their first timer ticks and pool fills
    ceiling_pool = sum(pool_of(s) for s in ("nlu", "fsm", "notifier"))
    budget = await connection_budget(rig, ceiling_pool + 3)
    log(f"connection budget: {budget}")
    booker = Booker(rig.database_url, SlotPlanner(profiles()))
    feed = ReplyFeed(rig.database_url)
    ingress = rig.procs["ingress"]
    try:
        async with loads(feed, (f"http://127.0.0.1:{ingress.http_port}", booker),
                         (found.url, Chatter(profiles()))) as (real_load, ceiling_load):
            turns = Measured("turns", {p.name for p in services}, real_load, real_load.stats)
            batched = Measured("ceiling batched", {p.name for p in found.procs}, ceiling_load,
                               ceiling_load.stats)
            await search(rig, [batched, turns], plan.steps, plan)
            result = Pipeline(turns, batched, budget)
            await ceiling_load.stop()
            await stop_ceiling(rig, found)

            workers = max(real_load.workers, turns.best.workers * 2)
            real_load.grow(workers)
            before = await errors_now(rig, turns.stats, turns.procs)
            if spy:  # a window of its own: the sampling costs the processes it samples
                profiling = asyncio.gather(*(asyncio.to_thread(
                    spy, rig.procs[name], plan.warm_s + plan.scale_s) for name in SPIED))
                await window(rig, turns, "profiled (not counted)", plan.warm_s, plan.scale_s)
                await profiling
            result.scale_one.append(
                await window(rig, turns, "fsm x1", plan.warm_s, plan.scale_s))
            extra = [rig.add_service("fsm", 2), rig.add_service("fsm", 3)]
            await rig.start(extra)
            turns.procs |= {p.name for p in extra}
            result.scale_three = await window(rig, turns, "fsm x3", plan.warm_s, plan.scale_s)
            # the replicas' own counters leave with them: count up to here, then afresh
            errors = diff(await errors_now(rig, turns.stats, turns.procs), before)
            stopped = await rig.retire(p.name for p in extra)
            turns.procs -= set(stopped)
            badly = [f"{name} " + ("killed: it did not stop" if code is None
                                   else f"exited with code {code}")
                     for name, code in stopped.items() if code != 0]
            if badly:
                errors["replicas stopped badly"] = len(badly)
                log("; ".join(badly))
            before = await errors_now(rig, turns.stats, turns.procs)
            result.scale_one.append(
                await window(rig, turns, "fsm x1 again", plan.warm_s, plan.scale_s))
            after = diff(await errors_now(rig, turns.stats, turns.procs), before)
            result.scale_errors = {k: errors.get(k, 0) + after.get(k, 0)
                                   for k in errors.keys() | after.keys()}
        await settle(rig)
        errors = await errors_now(rig, turns.stats, turns.procs)
        dead = await rig.dead_letters()
        if dead:
            errors["in dead-letter queues"] = sum(dead.values())
        if feed.leftovers():
            errors["doubled replies (left over)"] = feed.leftovers()
        result.errors = errors
        log(f"the reply feed: {feed.polls} polls, {feed.rows_read} rows read "
            f"({feed.rows_read / max(feed.polls, 1):.2f} a poll)")
        for problem in rig.exited():
            log(problem)
        return result
    finally:
        await booker.close()


async def settle(rig: Rig, bound_s: float = 30.0) -> None:
    """Until nothing waits in a queue, a retry tier or the outbox (or the bound)."""
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        if not await rig.backlog():
            return
        await asyncio.sleep(0.5)


# --- the parts measured on their own -------------------------------------------------------


def last_json(argv: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False,
                          env={**os.environ, **(env or {})})
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            parsed: dict[str, Any] = json.loads(line)
            return parsed
    raise RuntimeError(f"{' '.join(argv)} printed no JSON:\n{done.stdout}")


def nlu_p99(rows_limit: int | None) -> tuple[float, float, int]:
    """(p50, p99) of the rules extractor over the dev set, after one warm-up pass."""
    from libs.business.fixtures import default_businesses_dir
    from services.nlu.evaluate import Catalogs, predict, read_rows
    from services.nlu.extractors import make_extractor

    rows = read_rows(REPO / "tests" / "nlu" / "dev_en.jsonl")[:rows_limit]
    extractor = make_extractor("rules")
    catalogs = Catalogs(default_businesses_dir())
    predict(rows, extractor, catalogs)  # warm-up: caches, lazy compiles
    _, latencies = predict(rows, extractor, catalogs)
    return percentile(latencies, 0.50), percentile(latencies, 0.99), len(rows)


@dataclass
class Micro:
    availability_p99_ms: float
    nlu_p50_ms: float
    nlu_p99_ms: float
    nlu_rows: int
    reminders_per_s: float


def micro(plan: Plan, database: str) -> Micro:
    bench = REPO / "benchmarks"
    availability = last_json([sys.executable, str(bench / "availability_bench.py"),
                              "--runs", str(plan.availability_runs)], {})
    log(f"availability p99: {availability['availability_ms']} ms")
    p50, p99, rows = nlu_p99(plan.nlu_rows)
    log(f"nlu p99: {p99:.3f} ms over {rows} rows")
    reminders = last_json([sys.executable, str(bench / "reminders_bench.py"),
                           "--reminders", str(plan.reminders)], {"DATABASE_URL": database})
    log(f"reminders: {reminders['reminders_per_s']}/s")
    return Micro(float(availability["availability_ms"]), p50, p99, rows,
                 float(reminders["reminders_per_s"]))


# --- py-spy ----------------------------------------------------------------------------------


def py_spy_exe() -> str | None:
    """The py-spy beside this Python (`make setup` installs it), or on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def py_spy(out_dir: Path) -> Callable[[Proc, float], Any]:
    """`py-spy record` of a process for `seconds`, as collapsed stacks."""
    exe = py_spy_exe()
    assert exe is not None, "checked before the run"

    def record(proc: Proc, seconds: float) -> None:
        out = out_dir / f"{proc.name}.pyspy.txt"
        done = subprocess.run([exe, "record", "--pid", str(proc.pid), "--duration",
                               str(max(1, int(seconds))), "--format", "raw", "--rate", "200",
                               "--output", str(out), "--nonblocking"],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log(f"py-spy failed: {done.stderr.strip()[-300:]}")
        else:
            log(f"py-spy: {out}")

    return record


def summarise_spy(path: Path, top: int = 15) -> list[str]:
    """Where the samples fell: the functions most often on the stack (inclusive), by the
    share of samples, skipping the event loop's own frames."""
    if not path.exists():
        return []
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        names = []
        for frame in frames:
            name = frame.split(" (", 1)[0]
            where = frame.split(" (", 1)[1].rstrip(")") if " (" in frame else ""
            module = where.split("site-packages/")[-1].split(REPO.name + "/")[-1]
            names.append(f"{name} ({module.split(':')[0]})")
        for name in set(names):
            inclusive[name] += count
        leaf[names[-1]] += count
    lines = [f"{total} samples; inclusive share of the top frames:"]
    lines += [f"  {n * 100 / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    lines.append("self share (the frame on top of the stack):")
    lines += [f"  {n * 100 / total:5.1f}%  {name}" for name, n in leaf.most_common(top)]
    return lines


# --- the report ----------------------------------------------------------------------------


def fmt(value: float | None, digits: int = 1) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    return f"{value:,.{digits}f}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a"


def by_process(w: Window, values: dict[str, float], scale: float = 1.0,
               digits: int = 1) -> str:
    shown = sorted(((n, v) for n, v in values.items() if v > 0), key=lambda kv: -kv[1])
    return ", ".join(f"{n} {w.per_turn(v * scale):.{digits}f}" for n, v in shown)


def table(micro_: Micro, ingress: IngressResult, per_message: Measured,
          pipe: Pipeline) -> list[tuple[str, str, str]]:
    turns, batched = pipe.turns, pipe.ceiling
    best, half = turns.best, turns.half
    assert half is not None and batched.half is not None and per_message.half is not None
    three = pipe.scale_three
    assert three is not None
    statements = best.counted_by_process(STATEMENTS)
    return [
        ("turns/s, maximum", fmt(best.rate), f"{best.workers} customers"),
        ("ceiling turns/s, batched relay", fmt(batched.best.rate),
         f"ratio {ratio(best.rate, batched.best.rate)} (target >= 0.5, aim 0.7); "
         f"{batched.best.workers} customers"),
        ("ceiling turns/s, publish+commit each", fmt(per_message.best.rate),
         f"ratio {ratio(best.rate, per_message.best.rate)}; {per_message.best.workers} "
         f"customers"),
        ("turn p50 at half load, ms", fmt(half.p50), f"at {half.rate:.1f} turns/s"),
        ("turn p99 at half load, ms", fmt(half.p99), "target <= 250"),
        ("ceiling p50 / p99 at half, batched", f"{fmt(batched.half.p50)} / "
         f"{fmt(batched.half.p99)}", f"ms, at {batched.half.rate:.1f} turns/s"),
        ("ceiling p50 / p99 at half, each", f"{fmt(per_message.half.p50)} / "
         f"{fmt(per_message.half.p99)}", f"ms, at {per_message.half.rate:.1f} turns/s"),
        ("services' CPU ms/turn at maximum", fmt(best.cpu_ms_per_turn),
         f"target <= 10; at half load {fmt(half.cpu_ms_per_turn)}"),
        ("  by process", "", by_process(best, best.delta.cpu, 1000)),
        ("  the garbage collector's, us/turn", fmt(best.gc_us_per_turn),
         f"{by_process(best, best.counted_by_process(GC_SECONDS), 1e6) or 'none ran'}; "
         f"at half load {fmt(half.gc_us_per_turn)}"
         if best.gc_us_per_turn is not None else
         "this tree has no receptionist_gc_seconds_total"),
        ("ceiling CPU ms/turn at maximum", fmt(batched.best.cpu_ms_per_turn),
         "batched; " + by_process(batched.best, batched.best.delta.cpu, 1000)),
        ("PostgreSQL CPU ms/turn at maximum", fmt(best.per_turn(best.delta.postgres_cpu * 1e3)),
         f"the bench database's backends; ceiling "
         f"{fmt(batched.best.per_turn(batched.best.delta.postgres_cpu * 1e3))}"),
        ("RabbitMQ CPU ms/turn at maximum", fmt(best.per_turn(best.delta.broker_cpu * 1e3)),
         f"the whole broker (shared); ceiling "
         f"{fmt(batched.best.per_turn(batched.best.delta.broker_cpu * 1e3))}"),
        ("db statements/turn", fmt(best.statements_per_turn),
         "target <= 15" + ("; " + by_process(best, statements)
                           if best.statements_per_turn is not None else
                           ": this tree has no receptionist_db_statements_total")),
        ("messages handled/turn", fmt(best.counted_per_turn(HANDLED), 2),
         by_process(best, best.counted_by_process(HANDLED), digits=2)),
        ("ingress webhooks accepted/s", fmt(ingress.rps, 0),
         f"ratio {ratio(ingress.rps, ingress.ceiling_rps)} (target >= 0.8); "
         f"{fmt(ingress.real_cpu_us, 0)} us CPU each"
         + (f", the garbage collector {fmt(ingress.real_gc_us, 1)} of them"
            if ingress.real_gc_us is not None else "")),
        ("ingress ceiling accepted/s", fmt(ingress.ceiling_rps, 0),
         f"{fmt(ingress.bare_cpu_us, 0)} us CPU each; the client used up to "
         f"{ingress.client_cpu_share:.0%} of a core"),
        ("fsm_scale_1, turns/s", fmt(pipe.fsm_scale_1),
         f"{three.workers} customers, one fsm: the mean of "
         f"{' and '.join(fmt(w.rate) for w in pipe.scale_one)} (before and after three)"),
        ("fsm_scale_3, turns/s", fmt(three.rate),
         f"x{ratio(three.rate, pipe.fsm_scale_1)} (target >= 0.9); errors while scaling: "
         f"{sum(pipe.scale_errors.values())} {pipe.scale_errors or ''}"),
        ("errors over the whole run", str(sum(pipe.errors.values())),
         str(pipe.errors or "none: no 5xx, no lost, doubled or unexpected reply, "
                             "no dead letter, no process exited")),
        ("reminders/s", fmt(micro_.reminders_per_s, 0), "target >= 2,000, each exactly once"),
        ("availability p99, ms", fmt(micro_.availability_p99_ms, 3), "target <= 2"),
        ("nlu p99, ms", fmt(micro_.nlu_p99_ms, 3),
         f"p50 {micro_.nlu_p50_ms:.3f}; {micro_.nlu_rows} rows; target <= 2"),
    ]


def report(micro_: Micro, ingress: IngressResult, per_message: Measured,
           pipe: Pipeline) -> dict[str, Any]:
    turns = pipe.turns
    print()
    print("windows (the turns whose reply was sent inside each):")
    for system in (per_message, pipe.ceiling, turns):
        for w in [*system.steps, *([system.half] if system.half else [])]:
            print(w.line())
    for scaled in [*pipe.scale_one[:1], pipe.scale_three, *pipe.scale_one[1:]]:
        if scaled is not None:
            print(scaled.line())
            print(f"    cpu ms/turn by process: {by_process(scaled, scaled.delta.cpu, 1000)}; "
                  f"postgres {fmt(scaled.per_turn(scaled.delta.postgres_cpu * 1e3))}; "
                  f"statements/turn {fmt(scaled.statements_per_turn)}; messages retried "
                  f"{scaled.delta.total(RETRIED):.0f}")
    print(f"turn kinds at the maximum: {dict(turns.best.kinds)}; conversations "
          f"{turns.stats.conversations} started, {turns.stats.finished} finished")
    print(f"connection budget: {pipe.budget}")
    for kind, examples in turns.stats.examples.items():
        print(f"  {kind}: {turns.stats.problems[kind]}")
        for e in examples:
            print(f"    - {e}")
    rows = table(micro_, ingress, per_message, pipe)
    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'':<{width}}  {'value':>13}  notes")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>13}  {note}")

    def num(value: float | None, digits: int = 1) -> float | None:
        if value is None or math.isnan(value):
            return None
        return round(value, digits)

    best, half, three = turns.best, turns.half, pipe.scale_three
    assert half is not None and three is not None
    return {
        "turns_per_s": num(best.rate),
        "turns_ceiling_per_s": num(pipe.ceiling.best.rate),
        "turn_p50_ms": num(half.p50),
        "turn_p99_ms": num(half.p99),
        "cpu_ms_per_turn": num(best.cpu_ms_per_turn),
        "db_statements_per_turn": num(best.statements_per_turn),
        "ingress_rps": num(ingress.rps, 0),
        "ingress_ceiling_rps": num(ingress.ceiling_rps, 0),
        "fsm_scale_1": num(pipe.fsm_scale_1),
        "fsm_scale_3": num(three.rate),
        "reminders_per_s": num(micro_.reminders_per_s, 0),
        "availability_p99_ms": num(micro_.availability_p99_ms, 3),
        "nlu_p99_ms": num(micro_.nlu_p99_ms, 3),
    }


async def run(plan: Plan, logs: Path, spy: bool) -> dict[str, Any]:
    database = os.environ.get("DATABASE_URL") or LOCAL_DATABASE
    amqp = os.environ.get("AMQP_URL") or LOCAL_AMQP
    started = time.monotonic()
    micro_ = await asyncio.to_thread(micro, plan, database)
    async with open_rig(logs, database, amqp) as rig:
        log(f"database {rig.db_name}, bus prefix {rig.prefix}, logs in {logs}")
        if rig.janitor is not None:
            log(f"the server runs without autovacuum: the bench vacuums and analyzes its "
                f"database as autovacuum would, at most every {rig.janitor.every_s:.0f} s, "
                f"when a window starts")
        ingress = await ingress_phase(rig, plan)
        per_message = await per_message_phase(rig, plan)
        pipe = await pipeline_phase(rig, plan, py_spy(logs) if spy else None)
        if rig.janitor is not None:
            log(f"autovacuum's work, done by the bench: {rig.janitor.runs} runs, "
                f"{rig.janitor.seconds:.1f} s")
    figures = report(micro_, ingress, per_message, pipe)
    if spy:
        for name in SPIED:
            print(f"\n{name}:")
            for line in summarise_spy(logs / f"{name}.pyspy.txt"):
                print(line)
    print(f"\n(ran {time.monotonic() - started:.0f} s against {REPO})")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: every part, briefly")
    parser.add_argument("--py-spy", action="store_true",
                        help="profile the processes in SPIED during the fsm x1 window "
                             "(needs py-spy)")
    parser.add_argument("--keep-logs", type=Path, default=None,
                        help="keep every process's log (and the profile) in this directory")
    args = parser.parse_args()
    if args.py_spy and py_spy_exe() is None:
        parser.error("--py-spy needs py-spy: `make setup` installs it in .venv")
    plan = QUICK if args.quick else FULL
    logs = args.keep_logs or Path(tempfile.mkdtemp(prefix="pipeline-bench-"))
    logs.mkdir(parents=True, exist_ok=True)
    try:
        figures = asyncio.run(run(plan, logs, args.py_spy))
    finally:
        if args.keep_logs is None:
            shutil.rmtree(logs, ignore_errors=True)
    assert tuple(figures) == KEYS
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

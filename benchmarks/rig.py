"""The system a benchmark measures: a fresh database (migrated, the example businesses
imported, dropped at the end), a bus prefix of its own (declared, deleted at the end), and
processes (`python -m services.<name>`, or the ceiling's own) each started with its own
environment and watched from outside: CPU time from `/proc/<pid>/stat`, counters from its
`/metrics`.

Everything here runs against the tree the benchmark was started from (its `REPO`), so the
same script measures an older commit checked out elsewhere (`git worktree add`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import psycopg
from pydantic_settings import SettingsConfigDict

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from libs.bus.amqp import AmqpTransport, queue_state  # noqa: E402
from libs.bus.transport import Topology  # noqa: E402
from libs.business.service import import_file  # noqa: E402
from libs.db.databases import (  # noqa: E402
    MAINTENANCE_DATABASE,
    create_database_async,
    drop_database_async,
    dsn_of,
    new_name,
)
from libs.db.session import make_engine, make_session_factory  # noqa: E402
from libs.runtime.definition import bindings_of  # noqa: E402
from libs.settings import Settings  # noqa: E402
from receptionist.bootstrap import DEFINITIONS  # noqa: E402
from receptionist.migrate import upgrade  # noqa: E402

LOCAL_DATABASE = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_AMQP = "amqp://guest:guest@127.0.0.1:5672/"
BUSINESSES = REPO / "examples" / "businesses"

PUBLIC_URL = "https://receptionist.bench.example"
TWILIO_TOKEN = "bench-twilio-auth-token"
WHATSAPP_SECRET = "bench-whatsapp-app-secret"
WHATSAPP_VERIFY = "bench-whatsapp-verify-token"
STRIPE_SECRET = "whsec_bench_webhook_secret"
WEBCHAT_SECRET = "bench-webchat-secret-0123456789abcdef"
UNLIMITED = str(10**9)

POOLS = {"ingress": 4, "nlu": 4, "fsm": 8, "payments": 4, "reminders": 3, "notifier": 5,
         "calendar": 3}
"""`DB_POOL_SIZE` per service, as docs/operations.md ("Connection budget") sizes them."""
DEFAULT_POOL = 3
READY_BOUND_S = 90.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


class _Given(Settings):
    """Settings of exactly the values given: the environment is not read."""

    model_config = SettingsConfigDict(env_prefix="RECEPTIONIST_BENCH_UNREAD_", env_file=None,
                                      extra="ignore")


SERVICE_SETTINGS: dict[str, Any] = {
    "public_base_url": PUBLIC_URL, "twilio_auth_token": TWILIO_TOKEN,
    "whatsapp_app_secret": WHATSAPP_SECRET, "whatsapp_verify_token": WHATSAPP_VERIFY,
    "stripe_webhook_secret": STRIPE_SECRET, "payments_gateway": "offline",
    "webchat_secret": WEBCHAT_SECRET}


def given_settings() -> Settings:
    return _Given(**SERVICE_SETTINGS)


def consumers() -> list[str]:
    """The services with a queue under the bench's settings (calendar is off: no Google)."""
    return sorted(bindings_of(DEFINITIONS, given_settings()))


def service_names() -> list[str]:
    """Every built service, consumers first (ingress publishes to their queues)."""
    with_queue = consumers()
    return [*with_queue, *sorted(d.name for d in DEFINITIONS if d.name not in with_queue)]


def pool_of(service: str) -> int:
    return POOLS.get(service, DEFAULT_POOL)


# --- ports ---------------------------------------------------------------------------------

_taken: set[int] = set()


def free_port() -> int:
    """A port to listen on, below the ephemeral range: the many outgoing connections of a
    run (each picks an ephemeral port) can never take it before its process binds it. The
    fault tests' system (`tests/faults/system.py`) takes its ports here too."""
    try:
        floor = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        floor = 32768
    for _ in range(500):
        port = random.randrange(max(1024, floor - 12000), floor)
        if port in _taken:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _taken.add(port)
        return port
    raise RuntimeError("no free port")


# --- CPU time from /proc -----------------------------------------------------------------


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of one process, in seconds; None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


async def best_cpu_ms_per_unit(step: Callable[[int], Awaitable[int]], runs: int,
                               rounds: int) -> float:
    """This process's CPU milliseconds per unit of work, the best of `rounds` rounds of
    `runs` steps (after a warm-up of a fifth as many); each step returns how many units it
    did (a conversation's turns, one operation)."""
    for i in range(max(1, runs // 5)):
        await step(i)
    best = float("inf")
    for _ in range(rounds):
        units, started = 0, time.process_time()
        for i in range(runs):
            units += await step(i)
        best = min(best, (time.process_time() - started) * 1000 / units)
    return best


def pids_named(name: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


# --- processes -----------------------------------------------------------------------------


@dataclass(eq=False)
class Proc:
    """One process of the system, with a log file of its own."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    ops_port: int | None = None
    http_port: int | None = None
    queue: str | None = None  # consumes from this queue: ready once it has a consumer more
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.popen = subprocess.Popen(self.argv, cwd=REPO, env=self.env,
                                          stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def cpu(self) -> float:
        if self.popen is None:
            return 0.0
        return cpu_seconds(self.popen.pid) or 0.0

    def tail(self, lines: int = 25) -> str:
        if not self.log_path.exists():
            return "(no output)"
        text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return f"--- {self.name} ({self.log_path}) ---\n" + "\n".join(text)

    async def stop(self) -> None:
        """Killed: the measuring is over, and nothing it was doing needs to finish."""
        popen = self.popen
        if popen is None or popen.poll() is not None:
            return
        popen.kill()
        await asyncio.to_thread(popen.wait)

    async def drain(self, bound_s: float = 60.0) -> int | None:
        """Stopped as a deployment stops a replica (SIGTERM: it finishes what it holds and
        hands back the rest); its exit code, or None if it had to be killed after
        `bound_s`."""
        popen = self.popen
        if popen is None or popen.poll() is not None:
            return None if popen is None else popen.returncode
        popen.terminate()
        try:
            return await asyncio.to_thread(popen.wait, bound_s)
        except subprocess.TimeoutExpired:
            await self.stop()
            return None


@dataclass
class Snapshot:
    """What the processes had done by `at`: CPU seconds and counters, per process."""

    at: float
    cpu: dict[str, float]
    counters: dict[str, dict[str, float]]
    postgres_cpu: dict[int, float]
    broker_cpu: float
    checkpoints: Checkpoints


@dataclass(frozen=True)
class Checkpoints:
    """PostgreSQL's checkpoint activity so far (the whole server's): a window that holds
    one pays for its fsync and for the full-page images written after it starts."""

    started: int = 0
    sync_ms: float = 0.0

    def __sub__(self, other: Checkpoints) -> Checkpoints:
        return Checkpoints(self.started - other.started, self.sync_ms - other.sync_ms)

    def __str__(self) -> str:
        if not self.started and not self.sync_ms:
            return ""
        return f"checkpoints: {self.started} started, {self.sync_ms:.0f} ms syncing"


@dataclass
class Delta:
    seconds: float
    cpu: dict[str, float]
    counters: dict[str, dict[str, float]]
    postgres_cpu: float
    broker_cpu: float
    checkpoints: Checkpoints = field(default_factory=Checkpoints)

    def total(self, metric: str) -> float:
        return sum(c.get(metric, 0.0) for c in self.counters.values())

    @property
    def service_cpu(self) -> float:
        return sum(self.cpu.values())


COUNTERS = ("receptionist_db_statements_total", "receptionist_messages_handled_total",
            "receptionist_messages_failed_total", "receptionist_messages_retried_total",
            "receptionist_messages_dead_lettered_total", "receptionist_gc_seconds_total")


def parse_counters(text: str) -> dict[str, float]:
    """The sums of the counters we read, over their labels."""
    sums: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in COUNTERS:
            with contextlib.suppress(ValueError):
                sums[name] = sums.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    return sums


@dataclass(eq=False)
class Rig:
    workdir: Path
    admin_dsn: str
    database_url: str  # postgresql://... of the bench's own database
    db_name: str
    amqp_url: str
    topology: Topology
    procs: dict[str, Proc] = field(default_factory=dict)
    janitor: Janitor | None = None
    """Set when the server runs without autovacuum."""
    _amqp: aio_pika.abc.AbstractConnection | None = None
    _http: httpx.AsyncClient | None = None

    @property
    def prefix(self) -> str:
        return self.topology.prefix

    # --- the services ----------------------------------------------------------------------

    def service_env(self, service: str, *, ops_port: int, http_port: int,
                    pool: int | None = None) -> dict[str, str]:
        """Everything a service process is configured with; nothing inherited but PATH."""
        return {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(REPO),
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": self.database_url,
            "AMQP_URL": self.amqp_url,
            "BUS_PREFIX": self.prefix,
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "json",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(http_port),
            "OPS_PORT": str(ops_port),
            "DB_POOL_SIZE": str(pool or pool_of(service)),
            "PUBLIC_BASE_URL": PUBLIC_URL,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "WHATSAPP_APP_SECRET": WHATSAPP_SECRET,
            "WHATSAPP_VERIFY_TOKEN": WHATSAPP_VERIFY,
            "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET,
            "PAYMENTS_GATEWAY": "offline",
            "WEBCHAT_SECRET": WEBCHAT_SECRET,
            # Every simulated visitor comes from 127.0.0.1: the per-IP limits and caps
            # would refuse all but the first few.
            "WEBCHAT_IP_PER_MINUTE": UNLIMITED, "WEBCHAT_IP_BURST": UNLIMITED,
            "WEBCHAT_SESSION_PER_MINUTE": UNLIMITED, "WEBCHAT_SESSION_BURST": UNLIMITED,
            "WEBCHAT_BUSINESS_PER_MINUTE": UNLIMITED, "WEBCHAT_BUSINESS_BURST": UNLIMITED,
            "WEBCHAT_MAX_LIVE_BOOKINGS": UNLIMITED, "WEBCHAT_MAX_BOOKINGS_PER_IP": UNLIMITED,
        }

    def add_service(self, service: str, replica: int = 1) -> Proc:
        name = service if replica == 1 else f"{service}.{replica}"
        ops_port, http_port = free_port(), free_port()
        proc = Proc(name, [sys.executable, "-m", f"services.{service}"],
                    self.service_env(service, ops_port=ops_port, http_port=http_port),
                    self.workdir / f"{name}.log", ops_port=ops_port, http_port=http_port,
                    queue=self.topology.queue(service) if service in consumers() else None)
        self.procs[name] = proc
        return proc

    def add_process(self, name: str, argv: list[str], env: dict[str, str], *,
                    http_port: int | None = None, queue: str | None = None) -> Proc:
        full_env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO),
                    "PYTHONUNBUFFERED": "1", **env}
        proc = Proc(name, argv, full_env, self.workdir / f"{name}.log", http_port=http_port,
                    queue=queue)
        self.procs[name] = proc
        return proc

    async def start(self, procs: Iterable[Proc]) -> None:
        started = list(procs)
        before = {p.queue: (await self.queue_state(p.queue))[1] for p in started if p.queue}
        for proc in started:
            proc.start()
        wanted: dict[str, int] = {}
        for proc in started:
            if proc.queue:
                wanted[proc.queue] = wanted.get(proc.queue, before[proc.queue]) + 1
        await asyncio.gather(*(self._until_ready(p, wanted) for p in started))

    async def _until_ready(self, proc: Proc, wanted: dict[str, int]) -> None:
        deadline = time.monotonic() + READY_BOUND_S
        while True:
            if not proc.running():
                raise RuntimeError(f"{proc.name} exited while starting\n{proc.tail()}")
            if await self._ready(proc, wanted):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{proc.name} not ready in {READY_BOUND_S:.0f}s\n"
                                   f"{proc.tail()}")
            await asyncio.sleep(0.2)

    async def _ready(self, proc: Proc, wanted: dict[str, int]) -> bool:
        port, path = ((proc.ops_port, "/readyz") if proc.ops_port
                      else (proc.http_port, "/healthz") if proc.http_port else (None, ""))
        if port is not None:
            try:
                answer = await self.http.get(f"http://127.0.0.1:{port}{path}", timeout=3.0)
            except httpx.TransportError:
                return False
            if answer.status_code != 200:
                return False
        if proc.queue is None:
            return True
        return (await self.queue_state(proc.queue))[1] >= wanted[proc.queue]

    async def stop(self, names: Iterable[str]) -> None:
        chosen = [self.procs.pop(n) for n in list(names) if n in self.procs]
        await asyncio.gather(*(p.stop() for p in chosen))

    async def retire(self, names: Iterable[str]) -> dict[str, int | None]:
        """Drain these processes (`Proc.drain`) and forget them: their exit codes."""
        chosen = [self.procs.pop(n) for n in list(names) if n in self.procs]
        codes = await asyncio.gather(*(p.drain() for p in chosen))
        return {p.name: code for p, code in zip(chosen, codes, strict=True)}

    def exited(self) -> list[str]:
        return [f"{p.name} exited with code {p.popen.returncode}\n{p.tail()}"
                for p in self.procs.values()
                if p.popen is not None and p.popen.poll() is not None]

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=10.0)
        return self._http

    # --- what they did ---------------------------------------------------------------------

    async def snapshot(self) -> Snapshot:
        at = time.time()
        cpu = {name: p.cpu() for name, p in self.procs.items()}
        scraped = await asyncio.gather(*(self.scrape(p) for p in self.procs.values()))
        counters = {name: c for name, c in zip(self.procs, scraped, strict=True)}
        postgres_cpu, checkpoints = await self._postgres()
        return Snapshot(at, cpu, counters, postgres_cpu,
                        sum(cpu_seconds(pid) or 0.0 for pid in pids_named("beam.smp")),
                        checkpoints)

    async def scrape(self, proc: Proc) -> dict[str, float]:
        """The counters a process exports now (none without an ops port, or no answer)."""
        if proc.ops_port is None:
            return {}
        try:
            answer = await self.http.get(f"http://127.0.0.1:{proc.ops_port}/metrics",
                                         timeout=10.0)
        except httpx.TransportError:
            return {}
        return parse_counters(answer.text)

    async def _postgres(self) -> tuple[dict[int, float], Checkpoints]:
        """CPU seconds of every PostgreSQL backend connected to the bench's database, and
        the server's checkpoints so far."""
        async with await psycopg.AsyncConnection.connect(self.admin_dsn,
                                                         autocommit=True) as conn:
            rows = await (await conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.db_name,))
            ).fetchall()
            # PostgreSQL 17 moved these counters to their own view
            newer = conn.info.server_version >= 170000
            counted = await (await conn.execute(
                "SELECT num_timed + num_requested, sync_time FROM pg_stat_checkpointer"
                if newer else
                "SELECT checkpoints_timed + checkpoints_req, checkpoint_sync_time "
                "FROM pg_stat_bgwriter")).fetchone()
        found = {}
        for (pid,) in rows:
            seconds = cpu_seconds(int(pid))
            if seconds is not None:
                found[int(pid)] = seconds
        assert counted is not None
        return found, Checkpoints(int(counted[0]), float(counted[1]))

    @staticmethod
    def delta(before: Snapshot, after: Snapshot, names: set[str] | None = None) -> Delta:
        """What happened between two snapshots, in the processes named (all: None)."""
        cpu = {n: after.cpu[n] - before.cpu.get(n, 0.0) for n in after.cpu
               if names is None or n in names}
        counters = {}
        for name, now in after.counters.items():
            if names is not None and name not in names:
                continue
            then = before.counters.get(name, {})
            counters[name] = {k: v - then.get(k, 0.0) for k, v in now.items()}
        pg = sum(s - before.postgres_cpu.get(pid, 0.0) for pid, s in after.postgres_cpu.items())
        return Delta(after.at - before.at, cpu, counters, pg,
                     after.broker_cpu - before.broker_cpu,
                     after.checkpoints - before.checkpoints)

    # --- the broker --------------------------------------------------------------------------

    async def connection(self) -> aio_pika.abc.AbstractConnection:
        if self._amqp is None or self._amqp.is_closed:
            self._amqp = await aio_pika.connect(self.amqp_url)
        return self._amqp

    async def channel(self) -> aio_pika.abc.AbstractChannel:
        return await (await self.connection()).channel()

    async def queue_state(self, queue: str) -> tuple[int, int]:
        """(ready messages, consumers); (0, 0) when it does not exist."""
        return await queue_state(await self.connection(), queue)

    async def purge(self, queues: Iterable[str]) -> None:
        channel = await self.channel()
        try:
            for name in queues:
                await (await channel.get_queue(name, ensure=False)).purge()
        finally:
            await channel.close()

    async def dead_letters(self) -> dict[str, int]:
        """How many messages wait in each `<prefix>.<service>.dead` (left where they are)."""
        found = {}
        for consumer in consumers():
            ready, _ = await self.queue_state(self.topology.dead_queue(consumer))
            if ready:
                found[consumer] = ready
        return found

    async def backlog(self) -> int:
        """Messages waiting in work queues and retry tiers, and unpublished outbox rows."""
        waiting = 0
        for consumer in consumers():
            for queue in self.topology.queues_of(consumer):
                if queue != self.topology.dead_queue(consumer):
                    waiting += (await self.queue_state(queue))[0]
        async with await psycopg.AsyncConnection.connect(self.database_url,
                                                         autocommit=True) as conn:
            row = await (await conn.execute(
                "SELECT count(*) FROM outbox WHERE published_at IS NULL")).fetchone()
        return waiting + int(row[0] if row else 0)

    async def close(self) -> None:
        if self._amqp is not None and not self._amqp.is_closed:
            await self._amqp.close()
        if self._http is not None:
            await self._http.aclose()


# --- setting up and tearing down ----------------------------------------------------------


async def create_database(server_url: str, tag: str) -> tuple[str, str, str]:
    """(the server's maintenance database, a new database migrated to head, its name), as
    DSNs and a name; `drop_database_async(<the first>, <the name>)` drops it."""
    name = new_name(f"receptionist_bench_{tag}")
    url = await create_database_async(server_url, name)
    await upgrade(url)
    return dsn_of(server_url, MAINTENANCE_DATABASE), url, name


async def import_businesses(url: str) -> list[str]:
    engine = make_engine(url, pool_size=1)
    try:
        sessions = make_session_factory(engine)
        return [(await import_file(sessions, path))[0]
                for path in sorted(BUSINESSES.glob("*.yaml"))]
    finally:
        await engine.dispose()


AUTOVACUUM_NAPTIME_S = 60.0  # PostgreSQL's default `autovacuum_naptime`


@dataclass
class Janitor:
    """What autovacuum does for a deployment, done for a server that runs without it (this
    machine's PostgreSQL and CI's: `autovacuum = off`): `VACUUM (ANALYZE)` of the bench's
    database, once `every_s` has passed since the last. Without it nothing in a run is ever
    analyzed or vacuumed: the plans PostgreSQL made for the services' prepared statements
    while the tables were empty are never made again (a scan of the whole table stays a
    scan of the whole table as it grows), and the queue tables' dead rows are never cleared
    (docs/scaling.md, "A server without autovacuum").

    A sweep runs when a window starts, in its warm-up (`sweep_if_due`), never while a window
    measures: it takes the database about a second, and on a timer of its own it fell in
    whichever window the minute ended in, the same one in every run. Its cost is printed
    apart."""

    dsn: str
    every_s: float = AUTOVACUUM_NAPTIME_S
    runs: int = 0
    seconds: float = 0.0
    last: float = field(default_factory=time.monotonic)

    @staticmethod
    async def needed(dsn: str) -> bool:
        """The server runs without autovacuum."""
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            row = await (await conn.execute("SHOW autovacuum")).fetchone()
        return row is not None and row[0] == "off"

    async def sweep_if_due(self) -> bool:
        if time.monotonic() - self.last < self.every_s:
            return False
        await self.sweep()
        return True

    async def sweep(self) -> None:
        started = time.monotonic()
        async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=True) as conn:
            await conn.execute("VACUUM (ANALYZE)")
        self.last = time.monotonic()
        self.runs += 1
        self.seconds += self.last - started


def service_topology(prefix: str) -> Topology:
    settings = given_settings()
    return Topology(prefix=prefix, retry_delays_ms=settings.bus_retry_delays_ms,
                    delivery_limit=settings.bus_delivery_limit,
                    bindings=bindings_of(DEFINITIONS, settings))


async def declare(amqp_url: str, topology: Topology, *, delete: bool = False) -> None:
    transport = AmqpTransport(amqp_url, topology)
    await transport.connect()
    try:
        await (transport.delete_topology() if delete else transport.declare())
    finally:
        await transport.close()


@contextlib.asynccontextmanager
async def open_rig(workdir: Path, server_url: str, amqp_url: str) -> AsyncIterator[Rig]:
    """A fresh database and bus prefix, with nothing started yet."""
    tag = uuid.uuid4().hex[:8]
    admin_dsn, url, name = await create_database(server_url, "pipe")
    topology = service_topology(f"bench{tag}")
    rig: Rig | None = None
    try:
        await import_businesses(url)
        await declare(amqp_url, topology)
        rig = Rig(workdir=workdir, admin_dsn=admin_dsn, database_url=url, db_name=name,
                  amqp_url=amqp_url, topology=topology)
        if await Janitor.needed(admin_dsn):
            rig.janitor = Janitor(url)
        yield rig
    finally:
        problems = []
        if rig is not None:
            await rig.stop(list(rig.procs))
            await rig.close()
        for what, step in (("deleting the bus prefix", declare(amqp_url, topology,
                                                                  delete=True)),
                           ("dropping the database", drop_database_async(admin_dsn, name))):
            try:
                async with asyncio.timeout(30):
                    await step
            except Exception as exc:
                problems.append(f"{what}: {exc!r}")
        if problems:
            print("cleanup: " + "; ".join(problems), file=sys.stderr)

"""The system under fault: a fresh database, the example businesses, every service as its
own process (`python -m services.<name>`), and two TCP proxies between the services and
their servers (PostgreSQL, RabbitMQ) that the faults cut.

The suite itself reads the database and the broker directly (never through a proxy), so
it keeps watching while the services cannot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import aio_pika
import httpx
from prometheus_client.parser import text_string_to_metric_families
from pydantic_settings import SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from benchmarks.rig import free_port
from libs.bus.amqp import AmqpTransport, queue_state
from libs.bus.transport import DEAD_REASON_HEADER, ERROR_HEADER, ORIGINAL_KEY_HEADER, Topology
from libs.business.profile import BusinessProfile, load_profile
from libs.db.databases import create_database_async, drop_database_async
from libs.db.session import make_engine, make_session_factory
from libs.runtime.definition import bindings_of
from libs.settings import Settings
from receptionist.bootstrap import DEFINITIONS, full_topology
from tests.faults.proxy import TcpProxy
from tests.helpers import FIXTURE_BUSINESSES, REPO

PUBLIC_URL = "https://receptionist.faults.example"
TWILIO_TOKEN = "faults-twilio-auth-token"
STRIPE_SECRET = "whsec_faults_suite_secret"


class _Given(Settings):
    """Settings of exactly the values given: the environment is not read."""

    model_config = SettingsConfigDict(env_prefix="RECEPTIONIST_FAULTS_UNREAD_", env_file=None,
                                      extra="ignore")


SUITE_SETTINGS = _Given(public_base_url=PUBLIC_URL, twilio_auth_token=TWILIO_TOKEN,
                        stripe_webhook_secret=STRIPE_SECRET, payments_gateway="offline")
"""What the processes are configured with (`System.service_env`), as far as which
services it switches on goes (calendar: off without Google credentials)."""
CONSUMERS: tuple[str, ...] = tuple(sorted(bindings_of(DEFINITIONS, SUITE_SETTINGS)))
"""The services with a queue under those settings (fsm, nlu, notifier, payments, ...):
each is killed with -9."""
SERVICES: tuple[str, ...] = (*CONSUMERS, *sorted(d.name for d in DEFINITIONS
                                                 if d.name not in CONSUMERS))
"""Every built service (`receptionist.bootstrap.DEFINITIONS`) runs as its own process, as
a deployment runs them; those with a queue start first, so ingress's first publish finds
them."""
START_BOUND_S = 60.0
COMMAND_BOUND_S = 120.0
CLEANUP_BOUND_S = 30.0
# Production's delivery settings, so the faults meet the tiers a deployment has.
RETRY_DELAYS_MS: tuple[int, ...] = tuple(Settings.model_fields["bus_retry_delays_ms"].default)
DELIVERY_LIMIT = int(Settings.model_fields["bus_delivery_limit"].default)


def _tail(path: Path, lines: int) -> str:
    if not path.exists():
        return "(no output)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass(eq=False)
class ServiceProcess:
    """One service's process, restartable; every start logs to a file of its own."""

    name: str
    env: dict[str, str]
    workdir: Path
    ops_port: int
    http_port: int | None
    process: asyncio.subprocess.Process | None = None
    starts: int = 0
    killed: list[int] = field(default_factory=list)  # pids we sent SIGKILL
    exits: list[str] = field(default_factory=list)  # unexpected exits seen

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.{self.starts}.log"

    async def start(self) -> None:
        self.starts += 1
        with self.log_path.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", f"services.{self.name}", cwd=self.workdir, env=self.env,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

    async def kill9(self) -> None:
        process = self.process
        assert process is not None and process.returncode is None, (
            f"services.{self.name} is not running{self.output()}")
        self.killed.append(process.pid)
        process.send_signal(signal.SIGKILL)
        await process.wait()

    def unexpected_exit(self) -> str | None:
        """Why the process is gone, when it went without being killed by the suite."""
        process = self.process
        if process is None or process.returncode is None or process.pid in self.killed:
            return None
        return (f"services.{self.name} (pid {process.pid}) exited by itself with code "
                f"{process.returncode}")

    def output(self, lines: int = 40) -> str:
        return (f"\n--- services.{self.name} start #{self.starts} (last {lines} lines of "
                f"{self.log_path}) ---\n{_tail(self.log_path, lines)}")

    def mark(self) -> tuple[int, int]:
        """Where this service's output stands now: (start, bytes written)."""
        path = self.log_path
        return self.starts, path.stat().st_size if path.exists() else 0

    def errors(self, since: tuple[int, int] = (1, 0), kinds: int = 6) -> str:
        """The errors this service logged since `since`, grouped by what they say, each
        with its last exception line (evidence for a failure)."""
        groups: Counter[str] = Counter()
        last: dict[str, str] = {}
        first_start, offset = since
        for n in range(max(1, first_start), self.starts + 1):
            path = self.workdir / f"{self.name}.{n}.log"
            if not path.exists():
                continue
            with path.open("rb") as f:
                f.seek(offset if n == first_start else 0)
                lines = f.read().decode(errors="replace").splitlines()
            for line in lines:
                what, detail = _error_of(line)
                if what:
                    groups[what] += 1
                    last[what] = detail
        if not groups:
            return ""
        shown = "\n".join(f"  {count} x {what}" + (f"\n      last: {last[what]}"
                                                     if last[what] else "")
                           for what, count in groups.most_common(kinds))
        return (f"\n--- services.{self.name}: {sum(groups.values())} errors logged during "
                f"the fault ---\n{shown}")


def _error_of(line: str) -> tuple[str, str]:
    """(what, its last exception line) for an ERROR/CRITICAL log line or a raw traceback;
    ("", "") for anything else."""
    if line.startswith("{"):
        try:
            entry = json.loads(line)
        except ValueError:
            return "", ""
        if entry.get("level") not in ("ERROR", "CRITICAL"):
            return "", ""
        what = f"{entry.get('logger')}: {str(entry.get('message'))[:120]}"
        trace = [t for t in str(entry.get("exception") or "").strip().splitlines()
                 if ("Error" in t or "Exception" in t) and not t.startswith(("(", " "))]
        return what, trace[-1][:300] if trace else ""
    if line.startswith("Traceback") or "Error:" in line[:80]:
        return f"(not JSON) {line[:160]}", ""
    return "", ""


@dataclass(frozen=True)
class DeadLetter:
    queue: str
    reason: str
    routing_key: str
    error: str


@dataclass(eq=False)
class System:
    workdir: Path
    database_url: str  # direct: the suite's own view
    amqp_url: str  # direct
    topology: Topology
    db_proxy: TcpProxy
    amqp_proxy: TcpProxy
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    profiles: dict[str, BusinessProfile]
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    amqp: aio_pika.abc.AbstractConnection | None = None

    @property
    def ingress_url(self) -> str:
        port = self.services["ingress"].http_port
        return f"http://127.0.0.1:{port}"

    def service_env(self, http_port: int, ops_port: int) -> dict[str, str]:
        """Everything a process is configured with; nothing inherited but PATH."""
        return {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(REPO),
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": self.db_proxy.url(self.database_url),
            "AMQP_URL": self.amqp_proxy.url(self.amqp_url),
            "BUS_PREFIX": self.topology.prefix,
            "LOG_LEVEL": "INFO",
            "LOG_FORMAT": "json",
            "HTTP_PORT": str(http_port),
            "OPS_PORT": str(ops_port),
            "PUBLIC_BASE_URL": PUBLIC_URL,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET,
            "PAYMENTS_GATEWAY": "offline",
        }

    async def start_services(self) -> None:
        for name in SERVICES:  # consumers first: ingress publishes to their queues
            http_port, ops_port = free_port(), free_port()
            proc = ServiceProcess(name, self.service_env(http_port, ops_port), self.workdir,
                                  ops_port, http_port if name == "ingress" else None)
            self.services[name] = proc
            await proc.start()
        await asyncio.gather(*(self.until_ready(name) for name in SERVICES))

    async def until_ready(self, name: str, bound_s: float = START_BOUND_S) -> None:
        """/readyz answers 200 and, for a consumer, its queue has a consumer again."""
        proc = self.services[name]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + bound_s
        async with httpx.AsyncClient(timeout=3.0) as client:
            while True:
                if (why := proc.unexpected_exit()) is not None:
                    raise AssertionError(f"{why} while starting{proc.output()}")
                if await self._ready(client, proc):
                    return
                if loop.time() > deadline:
                    raise AssertionError(f"services.{name} not ready within {bound_s:.0f}s"
                                         f"{proc.output()}")
                await asyncio.sleep(0.2)

    async def _ready(self, client: httpx.AsyncClient, proc: ServiceProcess) -> bool:
        try:
            answer = await client.get(f"http://127.0.0.1:{proc.ops_port}/readyz")
        except httpx.TransportError:
            return False
        if answer.status_code != 200:
            return False
        if proc.name not in CONSUMERS:
            return True
        return (await self.queue_state(self.topology.queue(proc.name)))[1] >= 1

    async def handled_by(self, name: str) -> int:
        """Messages the service's process committed since it started, by its own counter
        (`receptionist_messages_handled_total`): stateless nlu and notifier's replies leave
        no inbox row to count."""
        proc = self.services[name]
        async with httpx.AsyncClient(timeout=5.0) as client:
            answer = await client.get(f"http://127.0.0.1:{proc.ops_port}/metrics")
        answer.raise_for_status()
        return int(sum(sample.value
                       for family in text_string_to_metric_families(answer.text)
                       if family.name == "receptionist_messages_handled"
                       for sample in family.samples if sample.name.endswith("_total")))

    async def restart(self, name: str) -> None:
        await self.services[name].start()
        await self.until_ready(name)

    async def ensure_running(self) -> list[str]:
        """Start any service that died by itself (reported by the fault it died in)."""
        restarted = []
        for name, proc in self.services.items():
            if proc.process is None or proc.process.returncode is not None:
                restarted.append(name)
                await self.restart(name)
        return restarted

    def unexpected_exits(self) -> list[str]:
        found = []
        for proc in self.services.values():
            why = proc.unexpected_exit()
            if why is not None and why not in proc.exits:
                proc.exits.append(why)
                found.append(why + proc.output())
        return found

    async def kill_all(self) -> None:
        for proc in self.services.values():
            if proc.process is not None and proc.process.returncode is None:
                proc.process.kill()
                await proc.process.wait()

    # --- the broker, read directly ---------------------------------------------------------

    async def _connection(self) -> aio_pika.abc.AbstractConnection:
        if self.amqp is None or self.amqp.is_closed:
            self.amqp = await aio_pika.connect(self.amqp_url)
        return self.amqp

    async def _channel(self) -> aio_pika.abc.AbstractChannel:
        return await (await self._connection()).channel()

    async def queue_state(self, queue: str) -> tuple[int, int]:
        """(ready messages, consumers) of one queue; (0, 0) when it does not exist."""
        return await queue_state(await self._connection(), queue)

    def work_queues(self) -> list[str]:
        """Every queue a message can wait in on its way: work queues and retry tiers."""
        return [q for c in CONSUMERS for q in self.topology.queues_of(c)
                if q != self.topology.dead_queue(c)]

    async def queued(self) -> dict[str, tuple[int, int]]:
        return {q: await self.queue_state(q) for q in self.work_queues()}

    async def drain_dead_letters(self) -> list[DeadLetter]:
        """Take everything out of every `<prefix>.<service>.dead` queue."""
        found: list[DeadLetter] = []
        channel = await self._channel()
        try:
            for consumer in CONSUMERS:
                name = self.topology.dead_queue(consumer)
                queue = await channel.declare_queue(name, passive=True)
                while (message := await queue.get(no_ack=True, fail=False)) is not None:
                    headers = dict(message.headers or {})
                    found.append(DeadLetter(
                        queue=name, reason=str(headers.get(DEAD_REASON_HEADER, "?")),
                        routing_key=str(headers.get(ORIGINAL_KEY_HEADER)
                                        or message.routing_key),
                        error=str(headers.get(ERROR_HEADER, ""))[:300]))
        finally:
            await channel.close()
        return found


# --- setting up and tearing down ----------------------------------------------------------


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("receptionist")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from receptionist.cli import entrypoint; entrypoint()"]


async def receptionist(args: Sequence[str], env: dict[str, str], workdir: Path) -> str:
    """Run the `receptionist` command; its output, or an assertion naming it."""
    process = await asyncio.create_subprocess_exec(
        *_cli(), *args, cwd=workdir, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO), **env})
    async with asyncio.timeout(COMMAND_BOUND_S):
        out, _ = await process.communicate()
    text = out.decode(errors="replace")
    assert process.returncode == 0, f"receptionist {' '.join(args)} failed:\n{text}"
    return text


def _host_port(url: str, default_port: int) -> tuple[str, int]:
    parsed = make_url(url)
    return parsed.host or "127.0.0.1", parsed.port or default_port


@contextlib.asynccontextmanager
async def open_system(workdir: Path, server_database_url: str,
                      amqp_url: str) -> AsyncIterator[System]:
    run = uuid.uuid4().hex[:8]
    db_name = f"receptionist_faults_{run}"
    topology = full_topology(f"faults{run}", RETRY_DELAYS_MS, DELIVERY_LIMIT)
    database_url = await create_database_async(server_database_url, db_name)
    direct = {"DATABASE_URL": database_url, "AMQP_URL": amqp_url,
              "BUS_PREFIX": topology.prefix}
    proxies: list[TcpProxy] = []
    engine: AsyncEngine | None = None
    system: System | None = None
    try:
        await receptionist(["migrate"], direct, workdir)
        await receptionist(["business", "import",
                            *sorted(str(p) for p in FIXTURE_BUSINESSES.glob("*.yaml"))],
                           direct, workdir)
        await receptionist(["bus", "declare"], direct, workdir)
        db_proxy = TcpProxy("postgresql", *_host_port(database_url, 5432))
        amqp_proxy = TcpProxy("rabbitmq", *_amqp_host_port(amqp_url))
        for proxy in (db_proxy, amqp_proxy):
            await proxy.start()
            proxies.append(proxy)
        engine = make_engine(database_url, pool_size=5)
        profiles = {p.id: p for p in (load_profile(f)
                                      for f in sorted(FIXTURE_BUSINESSES.glob("*.yaml")))}
        system = System(workdir=workdir, database_url=database_url, amqp_url=amqp_url,
                        topology=topology, db_proxy=db_proxy, amqp_proxy=amqp_proxy,
                        engine=engine, sessions=make_session_factory(engine),
                        profiles=profiles)
        await system.start_services()
        yield system
    finally:
        cleanup = _Cleanup()
        if system is not None:
            await cleanup.step("stopping the services", system.kill_all())
            if system.amqp is not None:
                await cleanup.step("closing the broker connection", system.amqp.close())
        for proxy in proxies:
            await cleanup.step(f"closing the {proxy.name} proxy", proxy.close())
        if engine is not None:
            await cleanup.step("closing the database engine", engine.dispose())
        await cleanup.step(f"deleting the queues of {topology.prefix}",
                           _delete_topology(amqp_url, topology))
        await cleanup.step(f"dropping {db_name}",
                           drop_database_async(server_database_url, db_name))
        cleanup.done()


class _Cleanup:
    """Every step is tried, each within a bound; what failed is reported at the end."""

    def __init__(self) -> None:
        self.failed: list[str] = []

    async def step(self, what: str, work: Awaitable[object]) -> None:
        try:
            async with asyncio.timeout(CLEANUP_BOUND_S):
                await work
        except Exception as exc:
            self.failed.append(f"{what}: {exc!r}")

    def done(self) -> None:
        if self.failed:
            raise RuntimeError("cleaning up after the fault suite failed:\n  "
                               + "\n  ".join(self.failed))


async def _delete_topology(amqp_url: str, topology: Topology) -> None:
    cleaner = AmqpTransport(amqp_url, topology)
    await cleaner.connect()
    try:
        await cleaner.delete_topology()
    finally:
        await cleaner.close()


def _amqp_host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 5672

"""One service's production entry point as a real OS process, for the tests that start
them: an explicit environment (nothing inherited but PATH), a temporary directory, the
test's own bus prefix, and a clean exit on SIGTERM required."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import aio_pika
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.amqp import AmqpTransport, queue_state
from libs.bus.transport import Topology
from libs.business.profile import BusinessProfile
from tests.helpers import REPO, eventually

START_BOUND_S = 20.0  # from spawn to the process consuming / serving
EFFECT_BOUND_S = 15.0  # from the message sent to its effect in the database or on the bus
EXIT_BOUND_S = 10.0  # from SIGTERM to the process gone

# --- one service as a process ------------------------------------------------------------


def _open_log(path: Path) -> IO[bytes]:
    return path.open("wb")


def read_log(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else "(no output file)"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServiceProcess:
    name: str
    process: asyncio.subprocess.Process
    log_path: Path

    def output(self) -> str:
        return (f"\n--- services.{self.name} (pid {self.process.pid}, exit code "
                f"{self.process.returncode}) stdout+stderr ---\n{read_log(self.log_path)}")

    async def until(self, check: Callable[[], Awaitable[bool]], what: str, *,
                    within_s: float = EFFECT_BOUND_S) -> None:
        """`eventually`, failing at once (with the process's output) if the process died."""

        async def alive_and_holds() -> bool:
            if self.process.returncode is not None:
                raise AssertionError(f"services.{self.name} exited with code "
                                     f"{self.process.returncode} while waiting for {what}")
            return await check()

        try:
            await eventually(alive_and_holds, within_s=within_s, what=what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}{self.output()}") from exc

    async def stop(self) -> None:
        """SIGTERM, then a clean exit (code 0, no traceback) within the bound."""
        assert self.process.returncode is None, f"exited before SIGTERM{self.output()}"
        self.process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(EXIT_BOUND_S):
                code = await self.process.wait()
        except TimeoutError:
            raise AssertionError(f"services.{self.name} still running {EXIT_BOUND_S}s after "
                                 f"SIGTERM{self.output()}") from None
        assert code == 0, f"services.{self.name} exited with {code} on SIGTERM{self.output()}"
        assert "Traceback" not in read_log(self.log_path), (
            f"services.{self.name} logged a traceback{self.output()}")


@dataclass
class Harness:
    tmp_path: Path
    database_url: str
    amqp_url: str
    topology: Topology
    sessions: async_sessionmaker[AsyncSession]
    profile: BusinessProfile

    def env(self, **extra: str) -> dict[str, str]:
        """Everything the process is configured with; nothing inherited but PATH."""
        return {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(REPO),
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": self.database_url,
            "AMQP_URL": self.amqp_url,
            "BUS_PREFIX": self.topology.prefix,
            # as the `topology` fixture's, so the queues it declares are the ones deleted
            "BUS_RETRY_DELAYS_MS": json.dumps(list(self.topology.retry_delays_ms)),
            "BUS_DELIVERY_LIMIT": str(self.topology.delivery_limit),
            "OUTBOX_POLL_MS": "100",
            "LOG_LEVEL": "INFO",
            "HTTP_PORT": str(free_port()),  # notifier serves the web chat's replies too
            "OPS_PORT": str(free_port()),  # /healthz, /readyz, /metrics of every process
            **extra,
        }

    @contextlib.asynccontextmanager
    async def service(self, name: str, **extra_env: str) -> AsyncIterator[ServiceProcess]:
        log_path = self.tmp_path / f"{name}.log"
        log = _open_log(log_path)
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", f"services.{name}", cwd=self.tmp_path,
                env=self.env(**extra_env), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT)
        finally:
            log.close()  # the child has its own copy
        running = ServiceProcess(name, process, log_path)
        try:
            yield running
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()

    @contextlib.asynccontextmanager
    async def bus(self) -> AsyncIterator[AmqpTransport]:
        """Every service's queues under the test's prefix (a deployment has them all)."""
        transport = AmqpTransport(self.amqp_url, self.topology)
        await transport.connect()
        try:
            await transport.declare()
            yield transport
        finally:
            await transport.close()

    async def first_message_for(self, proc: ServiceProcess, consumer: str, what: str) -> bytes:
        """The body of the first message waiting in `consumer`'s queue (taken off it), waited
        for while `proc` runs."""
        got: list[bytes] = []
        async with await aio_pika.connect(self.amqp_url) as connection:
            channel = await connection.channel()
            queue = await channel.get_queue(self.topology.queue(consumer), ensure=True)

            async def arrived() -> bool:
                message = await queue.get(no_ack=True, fail=False)
                if message is not None:
                    got.append(message.body)
                return bool(got)

            await proc.until(arrived, what)
        return got[0]

    async def consumers_on(self, consumer: str) -> int:
        """How many consumers read `consumer`'s queue (0 while it does not exist yet)."""
        async with await aio_pika.connect(self.amqp_url) as connection:
            return (await queue_state(connection, self.topology.queue(consumer)))[1]

"""The fault suite runs on its own (`make test-faults`, i.e. `pytest -m faults tests/faults`):
a plain `pytest` (`make test`) deselects it, and says so in its count of deselected tests.

One system serves every fault of the module: a fresh database (migrated with
`receptionist migrate`, the example businesses imported), a bus prefix of its own, every
service as a process behind the proxies; all of it removed afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks.customers import ReplyFeed
from tests.faults.load import SlotPlanner
from tests.faults.system import System, open_system
from tests.faults.watch import Progress, reply_feed
from tests.servers import postgres_url, rabbitmq_url

HERE = Path(__file__).resolve().parent
LINES = pytest.StashKey[list[str]]()
STOP_BOUND_S = 10.0


def _asked_for(config: pytest.Config) -> bool:
    if "faults" in (config.option.markexpr or ""):
        return True
    return any(p == HERE or HERE in p.parents
               for p in (Path(a.split("::")[0]).resolve() for a in config.args))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _asked_for(config):
        return
    ours = [i for i in items if HERE in Path(str(i.path)).parents]
    if ours:
        items[:] = [i for i in items if i not in ours]
        config.hook.pytest_deselected(items=ours)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[LINES] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = terminalreporter.config.stash.get(LINES, [])
    if lines:
        terminalreporter.section("faults")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def emit(capsys: pytest.CaptureFixture[str],
         pytestconfig: pytest.Config) -> Callable[[str], None]:
    """Print one line to the terminal whatever pytest captures (and repeat it in the
    summary)."""

    def write(line: str) -> None:
        pytestconfig.stash[LINES].append(line)
        with capsys.disabled():
            print(f"\n{line}", flush=True)

    return write


@dataclass
class Rig:
    system: System
    feed: ReplyFeed
    progress: Progress
    planner: SlotPlanner


@contextlib.contextmanager
def _servers() -> Iterator[tuple[str, str]]:
    with postgres_url() as database, rabbitmq_url() as amqp:
        yield database, amqp


@pytest.fixture(scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    with _servers() as (database, amqp):
        async with open_system(tmp_path_factory.mktemp("faults"), database, amqp) as system:
            feed, progress, stop = reply_feed(system), Progress(system), asyncio.Event()
            tasks = {asyncio.create_task(feed.run(stop)), asyncio.create_task(progress.run(stop))}
            try:
                yield Rig(system, feed, progress, SlotPlanner(
                    [system.profiles["salon"], system.profiles["barber"]]))
            finally:
                stop.set()
                _, stuck = await asyncio.wait(tasks, timeout=STOP_BOUND_S)
                for task in stuck:
                    task.cancel()

"""A scripted stand-in for the system: each action plays the next `Outcome`.

The runner and checker only see the `ScenarioDriver` protocol, so these tests pin down the
runner's behaviour (calls, order, checks, report) without a database, bus or clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from receptionist.scenarios.driver import ScenarioDriver, SentMessage
from receptionist.scenarios.model import Scenario

CUSTOMER = "+15555550101"
OTHER = "+15555550202"
SALON_OWNER = "+12125550199"
BARBER_OWNER = "+13125550199"

Key = tuple[str, str]


def to_customer(text: str, to: str = CUSTOMER, business: str = "salon") -> SentMessage:
    return SentMessage(business_id=business, to=to, text=text, audience="customer")


def to_staff(text: str, business: str = "salon", to: str = SALON_OWNER) -> SentMessage:
    return SentMessage(business_id=business, to=to, text=text, audience="staff")


def booking(**fields: object) -> dict[str, object]:
    """A stored booking as the driver reports it; defaults for the keys not given."""
    stored: dict[str, object] = {"service": "Haircut", "start": "2026-12-02T15:00",
                                 "status": "confirmed", "deposit": "none",
                                 "deposit_amount": None, "attendance_confirmed": False,
                                 "no_show_risk": "medium"}
    stored.update(fields)
    return stored


@dataclass
class Outcome:
    """What the fake system does in answer to one action."""

    messages: Sequence[SentMessage] = ()
    states: Mapping[Key, str] = field(default_factory=dict)
    """(customer, business_id) -> state after the action."""
    bookings: Mapping[Key, list[dict[str, object]]] = field(default_factory=dict)
    error: Exception | None = None
    hang: bool = False
    """idle() never returns (a stuck system)."""


class FakeDriver:
    """Implements ScenarioDriver; records every call for the assertions."""

    def __init__(self, script: Sequence[Outcome]) -> None:
        self._script = list(script)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.log: list[SentMessage] = []
        self.states: dict[Key, str] = {}
        self.stored: dict[Key, list[dict[str, object]]] = {}
        self._hang = False
        self.dead: list[str] = []

    def _act(self, name: str, **kwargs: Any) -> None:
        self.calls.append((name, kwargs))
        outcome = self._script.pop(0) if self._script else Outcome()
        if outcome.error is not None:
            raise outcome.error
        self.log.extend(outcome.messages)
        self.states.update(outcome.states)
        self.stored.update(outcome.bookings)
        self._hang = outcome.hang

    async def say(self, *, text: str, customer: str, channel: str, business_id: str) -> None:
        self._act("say", text=text, customer=customer, channel=channel,
                  business_id=business_id)

    async def resend(self) -> None:
        self._act("resend")

    async def wait(self, delta: timedelta) -> None:
        self._act("wait", delta=delta)

    async def wait_until(self, local: datetime) -> None:
        self._act("wait_until", local=local)

    async def pay(self, *, customer: str, business_id: str, times: int) -> None:
        self._act("pay", customer=customer, business_id=business_id, times=times)

    async def idle(self) -> None:
        self.calls.append(("idle", {}))
        if self._hang:
            await asyncio.Event().wait()

    def mark(self) -> int:
        return len(self.log)

    def messages_since(self, mark: int) -> list[SentMessage]:
        return list(self.log[mark:])

    async def state(self, *, customer: str, business_id: str) -> str:
        self.calls.append(("state", {"customer": customer, "business_id": business_id}))
        return self.states.get((customer, business_id), "IDLE")

    async def dead_letters(self) -> list[str]:
        self.calls.append(("dead_letters", {}))
        return list(self.dead)

    async def bookings(self, *, customer: str, business_id: str) -> list[dict[str, object]]:
        self.calls.append(("bookings", {"customer": customer, "business_id": business_id}))
        return [dict(b) for b in self.stored.get((customer, business_id), [])]


class FakeFactory:
    """A DriverFactory handing out one FakeDriver per scenario, scripted by scenario name."""

    def __init__(self, scripts: Mapping[str, Sequence[Outcome]] | None = None, *,
                 fail_on_enter: Exception | None = None,
                 fail_on_exit: Exception | None = None) -> None:
        self.scripts = dict(scripts or {})
        self.drivers: dict[str, FakeDriver] = {}
        self.entered: list[str] = []
        self.exited: list[str] = []
        self.businesses_dirs: list[Path] = []
        self.fail_on_enter = fail_on_enter
        self.fail_on_exit = fail_on_exit
        self.dead: list[str] = []
        """What every driver reports in its dead-letter queues."""

    def __call__(self, scenario: Scenario,
                 businesses_dir: Path) -> AbstractAsyncContextManager[ScenarioDriver]:
        return self._open(scenario, businesses_dir)

    @asynccontextmanager
    async def _open(self, scenario: Scenario, businesses_dir: Path) -> AsyncIterator[FakeDriver]:
        self.businesses_dirs.append(businesses_dir)
        if self.fail_on_enter is not None:
            raise self.fail_on_enter
        driver = FakeDriver(self.scripts.get(scenario.name, []))
        driver.dead = list(self.dead)
        self.drivers[scenario.name] = driver
        self.entered.append(scenario.name)
        try:
            yield driver
        finally:
            self.exited.append(scenario.name)
        if self.fail_on_exit is not None:
            raise self.fail_on_exit


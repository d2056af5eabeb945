"""What the scenario runner needs from the system under test, and nothing more.

The runner only sends inputs, moves the simulated clock and reads back what was said and
stored; keeping that behind a Protocol lets the runner be unit-tested with a scripted fake
and lets the real driver (all services in one process) evolve on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, Protocol

from receptionist.scenarios.model import Scenario

__all__ = ["Audience", "DriverFactory", "ScenarioDriver", "SentMessage"]

Audience = Literal["customer", "staff"]


@dataclass(frozen=True)
class SentMessage:
    """One outbound message as the recording channel saw it.

    Staff alerts have `audience="staff"` and `to` = the business's `owner_phone`; everything
    else the system says to a customer has `audience="customer"`.
    """

    business_id: str
    to: str
    text: str
    audience: Audience


class ScenarioDriver(Protocol):
    """A fresh system for one scenario file, driven on a simulated clock."""

    async def say(self, *, text: str, customer: str, channel: str, business_id: str) -> None:
        """Send the channel's real inbound webhook for `text` from `customer` to the business."""
        ...

    async def resend(self) -> None:
        """Deliver the previous `say` webhook again (same provider message id)."""
        ...

    async def wait(self, delta: timedelta) -> None:
        """Move the simulated clock, firing everything that falls due in time order."""
        ...

    async def wait_until(self, local: datetime) -> None:
        """Like `wait`, up to a naive business-local time of the scenario's business."""
        ...

    async def pay(self, *, customer: str, business_id: str, times: int) -> None:
        """Complete the newest deposit checkout of the customer, delivering the event `times`."""
        ...

    async def idle(self) -> None:
        """Return when nothing is in flight (the runner checks only after this)."""
        ...

    def mark(self) -> int:
        """A position in the outbound message log."""
        ...

    def messages_since(self, mark: int) -> list[SentMessage]:
        """Every outbound message recorded after `mark`, in the order sent."""
        ...

    async def state(self, *, customer: str, business_id: str) -> str:
        """The customer's conversation state at the business, "IDLE" if there is none."""
        ...

    async def dead_letters(self) -> list[str]:
        """A line per message that ended in a dead-letter queue (there must be none)."""
        ...

    async def bookings(self, *, customer: str, business_id: str) -> list[dict[str, object]]:
        """The customer's bookings at the business, oldest first.

        Keys: service, start ("YYYY-MM-DDTHH:MM" business-local), status, deposit,
        deposit_amount ("15.00" or None), attendance_confirmed (bool), no_show_risk (str or None).
        """
        ...


DriverFactory = Callable[[Scenario, Path], AbstractAsyncContextManager[ScenarioDriver]]
"""(the parsed scenario, businesses dir) -> a fresh system for that file."""

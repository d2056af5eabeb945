"""The composition root: every service's definition, and the system they make together.

Production runs each definition as its own process (`python -m services.<name>`); the demo,
the scenario runner and the integration tests host them all in one process
(`compose`), each service still its own consumer on the bus. Either way the same
definitions are used, so nothing is wired twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from libs.bus.transport import Topology
from libs.runtime.definition import ServiceDefinition, Wiring, bindings_of, retired_of
from libs.runtime.host import ServiceHost
from libs.settings import Settings, get_settings
from services.admin.definition import DEFINITION as ADMIN
from services.calendar.definition import DEFINITION as CALENDAR
from services.fsm.definition import DEFINITION as FSM
from services.ingress.definition import DEFINITION as INGRESS
from services.nlu.definition import DEFINITION as NLU
from services.notifier.definition import DEFINITION as NOTIFIER
from services.payments.definition import DEFINITION as PAYMENTS
from services.reminders.definition import DEFINITION as REMINDERS

DEFINITIONS: tuple[ServiceDefinition[Any], ...] = (INGRESS, NLU, FSM, PAYMENTS, REMINDERS,
                                                   NOTIFIER, CALENDAR, ADMIN)


def definition(name: str) -> ServiceDefinition[Any]:
    found = next((d for d in DEFINITIONS if d.name == name), None)
    if found is None:
        raise KeyError(f"no service named {name!r}")
    return found


def full_topology(prefix: str, retry_delays_ms: tuple[int, ...],
                  delivery_limit: int = 10, *, settings: Settings | None = None) -> Topology:
    """Every built service's queues, bound to exactly what it handles; a service the
    settings (the environment's, unless given) switch off has none (calendar without
    Google credentials)."""
    return Topology(prefix=prefix, retry_delays_ms=retry_delays_ms,
                    delivery_limit=delivery_limit,
                    bindings=bindings_of(DEFINITIONS, settings or get_settings()),
                    retired=retired_of(DEFINITIONS))


def compose(wiring: Wiring, overrides: Mapping[str, Any] | None = None) -> ServiceHost:
    """Every service in this process (those the wiring's settings switch on);
    `overrides` swaps a service's adapters by name."""
    return ServiceHost(wiring, DEFINITIONS, overrides)

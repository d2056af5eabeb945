"""reminders, defined once: it plans each booking's reminders from the booking events and
sends the due ones as `reminder.due` (docs/architecture.md, "Reminders"). It calls no
outside system and serves no HTTP."""

from __future__ import annotations

from libs.runtime.definition import ServiceDefinition, Wiring
from services.reminders.handlers import HANDLERS, RemindersDeps, prune_reminders
from services.reminders.scheduled import DISPATCH_DUE


def reminders_deps(wiring: Wiring) -> RemindersDeps:
    return RemindersDeps()


DEFINITION = ServiceDefinition(name="reminders", deps=reminders_deps, handlers=HANDLERS,
                               jobs=(DISPATCH_DUE,), prune=prune_reminders)

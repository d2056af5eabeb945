"""notifier, defined once: it delivers replies and records their delivery status."""

from __future__ import annotations

import logging

from libs.runtime.definition import ServiceDefinition, Wiring
from services.notifier.adapters.recording import RecordingChannel
from services.notifier.handlers import HANDLERS, NotifierDeps

log = logging.getLogger(__name__)


def notifier_deps(wiring: Wiring) -> NotifierDeps:
    log.warning("notifier: no provider credentials are wired yet; messages are recorded, "
                "not sent")
    return NotifierDeps(channel=RecordingChannel())


DEFINITION = ServiceDefinition(name="notifier", deps=notifier_deps, handlers=HANDLERS)

"""fsm, defined once: the conversation engine and the session-timeout timers."""

from __future__ import annotations

from libs.runtime.definition import ServiceDefinition, Wiring
from services.fsm.handlers import HANDLERS, TIMERS, FsmDeps
from services.fsm.turns import WebLimits


def fsm_deps(wiring: Wiring) -> FsmDeps:
    return FsmDeps(web_limits=WebLimits.from_settings(wiring.settings))


DEFINITION = ServiceDefinition(name="fsm", deps=fsm_deps, handlers=HANDLERS, timers=TIMERS)

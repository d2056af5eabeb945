"""nlu, defined once: it reads inbound messages with the extractor the settings choose."""

from __future__ import annotations

from libs.runtime.definition import ServiceDefinition, Wiring
from services.nlu.extractors import make_extractor
from services.nlu.handlers import HANDLERS, NluDeps


def nlu_deps(wiring: Wiring) -> NluDeps:
    """Groq when GROQ_API_KEY is set, else the offline rules; built (and Duckling warmed)
    at start, not on the first message."""
    return NluDeps(extractor=make_extractor())


DEFINITION = ServiceDefinition(name="nlu", deps=nlu_deps, handlers=HANDLERS, stateless=True)

"""ingress, defined once: an HTTP app (the providers' webhooks) that consumes nothing."""

from __future__ import annotations

from fastapi import FastAPI

from libs.runtime.definition import ServiceDefinition, Wiring
from services.ingress.app import create_app
from services.ingress.deps import IngressConfig, IngressDeps


def ingress_deps(wiring: Wiring) -> IngressDeps:
    return IngressDeps(transport=wiring.transport, session_factory=wiring.sessions,
                       clock=wiring.clock, config=IngressConfig.from_settings(wiring.settings))


def ingress_app(wiring: Wiring, deps: IngressDeps) -> FastAPI:
    return create_app(deps)


DEFINITION = ServiceDefinition(name="ingress", deps=ingress_deps, http=ingress_app,
                               stateless=True)

"""admin, defined once: the owner's side (docs/admin.md). An HTTP app only: the admin API
(`/admin/api`) and the dashboard (`/admin`) over a read model of the other services'
tables. It consumes nothing (no queue); what staff change goes to fsm as `staff.*`
commands through the outbox, or through fsm's own code (marking a booking)."""

from __future__ import annotations

import time

from fastapi import FastAPI

from libs.runtime.definition import ServiceDefinition, Wiring
from services.admin.app import create_app
from services.admin.security import AdminDeps, FailureLimiter, SessionSigner


def admin_deps(wiring: Wiring) -> AdminDeps:
    settings = wiring.settings
    return AdminDeps(
        limiter=FailureLimiter(settings.admin_failed_keys_per_minute,
                               settings.admin_failed_keys_burst, time.monotonic),
        signer=SessionSigner(settings.admin_session_secret),
        session_ttl_s=settings.admin_session_ttl_s)


def admin_app(wiring: Wiring, deps: AdminDeps) -> FastAPI:
    return create_app(wiring.sessions, wiring.clock, deps, nudge=wiring.relay.nudge)


DEFINITION = ServiceDefinition(name="admin", deps=admin_deps, http=admin_app)

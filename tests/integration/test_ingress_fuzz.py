"""Schemathesis over ingress's OpenAPI schema (issue 19): whatever it generates for each
endpoint, ingress answers without a 5xx. The database and the bus are real enough to answer
(PostgreSQL; the in-memory bus); a 503 would mean ingress could not reach them, which is
why it is not excused here."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from libs.bus.memory import MemoryTransport
from libs.business.profile import load_profile
from libs.business.service import import_profile
from libs.clock import SystemClock
from libs.db.session import async_url, make_session_factory
from receptionist.bootstrap import full_topology
from receptionist.scenarios.system import scenario_webchat
from services.ingress.app import create_app
from services.ingress.deps import IngressConfig, IngressDeps
from tests.helpers import FIXTURE_BUSINESSES

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def ingress_schema(database_url: str) -> Iterator[schemathesis.BaseSchema]:
    # The app runs in the test client's own event loop: connections are opened there, per
    # use (no pool shared across loops).
    engine = create_async_engine(async_url(database_url), poolclass=NullPool)
    sessions = make_session_factory(engine)
    bus = MemoryTransport(full_topology("fuzz", (10,)))

    async def prepare() -> None:
        await bus.connect()
        await bus.declare()
        async with sessions() as s, s.begin():
            await import_profile(s, load_profile(FIXTURE_BUSINESSES / "salon.yaml"))

    asyncio.run(prepare())
    app = create_app(IngressDeps(
        transport=bus, session_factory=sessions, clock=SystemClock(),
        config=IngressConfig(public_base_url="https://x", twilio_auth_token="t" * 32,
                             whatsapp_app_secret="w" * 32, whatsapp_verify_token="v" * 32,
                             stripe_webhook_secret="whsec_" + "s" * 32,
                             webchat=scenario_webchat("c" * 64))))
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    asyncio.run(engine.dispose())


def test_no_input_gets_a_server_error(ingress_schema: schemathesis.BaseSchema) -> None:
    operations = []
    for result in ingress_schema.get_all_operations():
        assert isinstance(result, Ok), result  # the schema itself is valid
        operations.append(result.ok())
    assert {op.path for op in operations} >= {
        "/webhooks/twilio/sms", "/webhooks/whatsapp", "/webhooks/stripe",
        "/webchat/{business_id}/messages"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck),
                  database=None)
        def no_server_error(case: schemathesis.Case[Any]) -> None:
            response = case.call()
            assert response.status_code < 500, (case.method, case.formatted_path,
                                                response.status_code, response.text[:300])

        no_server_error()

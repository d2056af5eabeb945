"""admin's production entry point (`python -m services.admin`) as a real OS process: it
serves the API on HTTP_PORT (401 without a key), publishes what staff ask for as `staff.*`
commands through its own outbox relay to fsm's queue, and exits 0 on SIGTERM."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from libs.contracts.envelope import Envelope
from services.admin.security import create_key
from tests.admin_kit import booking, customer
from tests.process_kit import START_BOUND_S, Harness, free_port

pytestmark = pytest.mark.integration


async def test_admin_process_serves_the_api_and_publishes_staff_commands(
        harness: Harness) -> None:
    async with harness.sessions() as session, session.begin():
        _, key = await create_key(session, "salon", datetime.now(UTC))
        alice = await customer(session, "salon", "+12125550901")
        ahead = await booking(session, alice, datetime.now(UTC) + timedelta(days=3))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with harness.bus(), harness.service(
            "admin", HTTP_HOST="127.0.0.1", HTTP_PORT=str(port)
    ) as proc, httpx.AsyncClient(base_url=base, timeout=5.0) as client:

        async def serving() -> bool:
            try:
                return (await client.get("/admin/login")).status_code == 200
            except httpx.TransportError:
                return False

        await proc.until(serving, f"GET {base}/admin/login to answer", within_s=START_BOUND_S)
        assert (await client.get("/admin/api/bookings")).status_code == 401
        mine = {"Authorization": f"Bearer {key}"}
        answer = await client.post(f"/admin/api/bookings/{ahead.reference}/cancel",
                                   json={"note": "sorry"}, headers=mine)
        assert answer.status_code == 202, (answer.text, proc.output())

        body = await harness.first_message_for(proc, "fsm", "the staff command in fsm's queue")
        await proc.stop()
    received = Envelope.from_json(body)
    assert received.type == "staff.cancel.requested.v1"
    assert received.business_id == "salon"
    assert received.payload["booking_id"] == str(ahead.id)
    assert received.payload["note"] == "sorry"

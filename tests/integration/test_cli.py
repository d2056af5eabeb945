"""The console script: `business import` accepts the fixtures and refuses a broken file
with every problem listed and nothing written; `migrate` is idempotent; `dead list` and
`dead replay` inspect and resend what a service gave up on."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from libs.bus.amqp import AmqpTransport
from libs.bus.transport import (
    ATTEMPT_HEADER,
    DEAD_REASON_HEADER,
    ERROR_HEADER,
    ORIGINAL_KEY_HEADER,
)
from libs.settings import get_settings
from receptionist.bootstrap import full_topology
from receptionist.cli import main
from tests.helpers import FIXTURE_BUSINESSES

pytestmark = pytest.mark.integration

BROKEN = """\
id: broken
name: Broken Salon
address: "1 Main St"
phone: "+12125550111"
owner_phone: "+12125550112"
timezone: Mars/Olympus
currency: usd
hours:
  mon: [["09:00", "12:00"], ["11:00", "15:00"]]
services:
  - name: Haircut
    price: "-5.00"
colour: blue
"""


def count_businesses(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM businesses").fetchone()
    return int(row[0]) if row else 0


def test_business_import_and_refusal(database_url: str, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE businesses CASCADE")
    fixtures = sorted(str(p) for p in FIXTURE_BUSINESSES.glob("*.yaml"))
    assert main(["business", "import", *fixtures, "--database-url", database_url]) == 0
    assert "created" in capsys.readouterr().out
    assert count_businesses(database_url) == 3

    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN)
    assert main(["business", "import", str(broken), "--database-url", database_url]) == 1
    err = capsys.readouterr().err
    assert "nothing was written" in err
    for path in ("timezone", "hours.mon", "services[0].duration_minutes",
                 "services[0].price", "colour"):
        assert path in err, path
    assert count_businesses(database_url) == 3


def test_migrate_is_idempotent(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--database-url", database_url]) == 0
    assert "head" in capsys.readouterr().out


def test_dead_list_shows_in_place_and_replay_sends_back_as_new(
        amqp_url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    topology = full_topology(prefix, (200,))
    monkeypatch.setenv("BUS_PREFIX", prefix)
    monkeypatch.setenv("AMQP_URL", amqp_url)
    get_settings.cache_clear()

    async def bury() -> None:
        transport = AmqpTransport(amqp_url, topology)
        await transport.connect()
        await transport.declare()
        await transport.publish_direct(topology.dead_queue("fsm"), b'{"a": 1}', {
            DEAD_REASON_HEADER: "retries_exhausted", ERROR_HEADER: "KeyError('slot')",
            ATTEMPT_HEADER: 3, ORIGINAL_KEY_HEADER: "nlu.message.understood.v2"}, "m-dead-1")
        await transport.close()

    async def work_queue() -> list[tuple[str | None, dict[str, Any]]]:
        transport = AmqpTransport(amqp_url, topology)
        await transport.connect()
        try:
            channel = await transport.connection.channel()
            queue = await channel.get_queue(topology.queue("fsm"))
            got = []
            while (message := await queue.get(no_ack=True, fail=False)) is not None:
                got.append((message.message_id, dict(message.headers or {})))
            return got
        finally:
            await transport.delete_topology()
            await transport.close()

    try:
        asyncio.run(bury())
        for _ in range(2):  # listing leaves the message where it is
            assert main(["dead", "list", "fsm"]) == 0
            out = capsys.readouterr().out
            assert "m-dead-1  nlu.message.understood.v2  retries_exhausted" in out
            assert "KeyError('slot')" in out
            assert f"1 dead message(s) in {prefix}.fsm.dead" in out
        assert main(["dead", "replay", "fsm", "--id", "m-other"]) == 1
        assert "replayed 0 message(s)" in capsys.readouterr().out
        assert main(["dead", "replay", "fsm"]) == 0
        assert f"replayed 1 message(s) to {prefix}.fsm" in capsys.readouterr().out
        assert main(["dead", "list", "fsm"]) == 0
        assert "0 dead message(s)" in capsys.readouterr().out
        assert main(["dead", "list", "calendar"]) == 2
        assert "one of: fsm, nlu, notifier, payments" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()
        [(message_id, headers)] = asyncio.run(work_queue())
    assert message_id == "m-dead-1"
    headers.pop("x-delivery-count", None)  # the quorum queue's own count on this get
    assert headers == {ORIGINAL_KEY_HEADER: "nlu.message.understood.v2"}  # a fresh start


def _booking(url: str, *, reference: str, starts_in: str) -> None:
    """A confirmed salon haircut for +15555550123, starting `starts_in` from now."""
    with psycopg.connect(url, autocommit=True) as conn:
        customer = conn.execute(
            "INSERT INTO customers (id, business_id, address) VALUES (gen_random_uuid(), "
            "'salon', '+15555550123') ON CONFLICT (business_id, address) DO UPDATE SET "
            "address = excluded.address RETURNING id").fetchone()
        assert customer is not None
        conn.execute(
            "INSERT INTO bookings (id, reference, business_id, customer_id, service, resource, "
            "starts_at, ends_at, status, no_show_risk) VALUES (gen_random_uuid(), %s, 'salon', "
            "%s, 'Haircut', 1, now() + %s::interval, now() + %s::interval + interval '45 min', "
            "'confirmed', 'medium')", (reference, customer[0], starts_in, starts_in))


def test_staff_mark_a_no_show_and_correct_it(database_url: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE businesses, outbox CASCADE")
    salon = str(FIXTURE_BUSINESSES / "salon.yaml")
    assert main(["business", "import", salon, "--database-url", database_url]) == 0
    _booking(database_url, reference="PAST01", starts_in="-2 hours")
    _booking(database_url, reference="LATER1", starts_in="2 days")
    db = ["--database-url", database_url]

    assert main(["booking", "mark", "past01", "no_show", *db]) == 0
    assert "booking PAST01 (Haircut" in capsys.readouterr().out

    def record() -> tuple[int, int, str, list[str]]:
        with psycopg.connect(database_url) as conn:
            kept, no_shows = conn.execute("SELECT kept, no_shows FROM customers").fetchone() \
                or (0, 0)
            status = conn.execute("SELECT status FROM bookings WHERE reference = 'PAST01'"
                                  ).fetchone()
            types = [r[0] for r in conn.execute("SELECT type FROM outbox ORDER BY id")]
        return kept, no_shows, status[0] if status else "", types

    assert record() == (0, 1, "no_show", ["booking.no_show.v1"])
    assert main(["booking", "mark", "PAST01", "no_show", *db]) == 0  # as it is: no change
    assert record() == (0, 1, "no_show", ["booking.no_show.v1"])
    assert main(["booking", "mark", "PAST01", "completed", *db]) == 0  # a correction
    assert record() == (1, 0, "completed", ["booking.no_show.v1", "booking.completed.v1"])
    capsys.readouterr()

    assert main(["booking", "mark", "LATER1", "no_show", *db]) == 1
    assert "has not started yet" in capsys.readouterr().err
    assert main(["booking", "mark", "NOPE99", "completed", *db]) == 1
    assert "no booking with reference 'NOPE99'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["booking", "mark", "PAST01", "late", *db])

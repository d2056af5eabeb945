"""notifier keeps one recipient's messages in the order they were asked for, records delivery
statuses in whatever order they come (before our own record of the message too), and sends
nothing to a customer who opted out: the last gate."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import fields
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from services.notifier.adapters.base import OutboundMessage, Sent
from services.notifier.delivery import WaitForEarlier, lock_recipient
from services.notifier.models import MessageLog, MessageStatus, Outgoing
from services.notifier.statuses import stamp_sent
from services.notifier.web import replies_after
from tests.helpers import eventually, orm_writes, unit_of_work_rows
from tests.integration.notifier_kit import (
    CUSTOMER,
    OWNER,
    Kit,
    Sessions,
    hours,
    make_kit,
)
from tests.unit.notifier.provider_stubs import MessagingStub, graph_error

pytestmark = pytest.mark.integration


@pytest.fixture
def stub() -> Iterator[MessagingStub]:
    with MessagingStub() as running:
        yield running


@pytest.fixture
async def kit(session_factory: Sessions, stub: MessagingStub) -> AsyncIterator[Kit]:
    built = await make_kit(session_factory, stub)
    built.customer_wrote(built.clock.now() - hours(1))  # WhatsApp: inside the window
    yield built


def texts(stub: MessagingStub) -> list[str]:
    return [r.json()["text"]["body"] for r in stub.sent("whatsapp")]


async def count(kit: Kit) -> int:
    async with kit.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(MessageLog)) or 0)


# --- order -----------------------------------------------------------------------------------


async def test_a_later_message_handled_first_still_leaves_second(kit: Kit) -> None:
    """Both are in flight at once and the later one gets the recipient first: it sends the
    earlier one before itself."""
    now = kit.clock.now()
    first = kit.envelope(kit.asked("1. Your booking is held."), at=now)
    second = kit.envelope(kit.asked("2. Pay the deposit here."), at=now + timedelta(seconds=1))
    async with kit.sessions() as session, session.begin():
        await lock_recipient(session, "salon", CUSTOMER)  # the recipient is busy
        later = asyncio.create_task(kit.handle(second))

        async def recorded(n: int) -> bool:
            return await count(kit) == n

        await eventually(lambda: recorded(1), what="the later message recorded")
        earlier = asyncio.create_task(kit.handle(first))
        await eventually(lambda: recorded(2), what="the earlier message recorded")
    await asyncio.gather(later, earlier)
    assert texts(kit.stub) == ["1. Your booking is held.", "2. Pay the deposit here."]
    assert [r.status for r in await kit.rows()] == ["sent", "sent"]


class Slow:
    """A provider that holds the first message until told to let it go."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls = 0
        self.in_call = asyncio.Event()
        self.go = asyncio.Event()

    async def send(self, message: OutboundMessage) -> Sent | str:
        self.calls += 1
        if self.calls == 1:
            self.in_call.set()
            await self.go.wait()
        answer: Sent | str = await self.inner.send(message)
        return answer


async def test_two_replies_handled_concurrently_leave_in_order(kit: Kit) -> None:
    slow = Slow(kit.deps().channel)
    deps = kit.deps(channel=slow)
    now = kit.clock.now()
    first = kit.envelope(kit.asked("Confirmed: Haircut Wed at 3:00 PM."), at=now)
    second = kit.envelope(kit.asked("Anything else?"), at=now + timedelta(seconds=1))
    handling = [asyncio.create_task(kit.handle(first, deps))]
    await slow.in_call.wait()
    handling.append(asyncio.create_task(kit.handle(second, deps)))
    await eventually(lambda: _equals(count(kit), 2), what="the second message recorded")
    slow.go.set()
    await asyncio.gather(*handling)
    assert texts(kit.stub) == ["Confirmed: Haircut Wed at 3:00 PM.", "Anything else?"]


async def _equals(value: Any, expected: int) -> bool:
    return bool(await value == expected)


async def test_an_earlier_message_that_fails_holds_the_later_one_back(kit: Kit) -> None:
    """The later one's handler tries the earlier message once; the provider is down, so the
    later one waits (a transient failure, retried) instead of overtaking it."""
    now = kit.clock.now()
    earlier = kit.envelope(kit.asked("earlier"), at=now)
    later = kit.envelope(kit.asked("later"), at=now + timedelta(seconds=1))
    async with kit.sessions() as session, session.begin():  # recorded; its handler is slow
        session.add(MessageLog(event_id=earlier.event_id, business_id="salon",
                               channel="whatsapp", audience="customer", to=CUSTOMER,
                               body="earlier", status="sending",
                               requested_at=earlier.occurred_at,
                               customer_wrote_at=kit.wrote_at[CUSTOMER]))
    kit.stub.script("whatsapp", graph_error(503, 2, "Service temporarily unavailable"))
    with pytest.raises(WaitForEarlier):
        await kit.handle(later)
    assert texts(kit.stub) == ["earlier"] and kit.waits.seen == []  # one try, no waiting
    assert [r.status for r in await kit.rows()] == ["sending", "sending"]
    await kit.handle(earlier)  # its own handler sends it
    await kit.handle(later)  # the retry
    assert texts(kit.stub) == ["earlier", "earlier", "later"]
    assert [r.status for r in await kit.rows()] == ["sent", "sent"]


# --- delivery statuses -------------------------------------------------------------------------


async def test_statuses_only_move_forward_whatever_order_they_arrive_in(kit: Kit) -> None:
    sent = await kit.reply("See you at 3.")
    wamid = "wamid.STUB0001"
    assert (await kit.row(sent)).provider_message_id == wamid
    await kit.report(wamid, "delivered")
    await kit.report(wamid, "sent")  # late: never overwrites delivered
    assert (await kit.row(sent)).status == "delivered"
    await kit.report(wamid, "read")
    await kit.report(wamid, "failed", error_code="131000")  # stale: it was read
    row = await kit.row(sent)
    assert (row.status, row.error) == ("read", None)
    async with kit.sessions() as session:
        kept = (await session.scalars(select(MessageStatus.status).where(
            MessageStatus.provider_message_id == wamid))).all()
    assert sorted(kept) == ["delivered", "failed", "read", "sent"]  # every report is kept


async def test_a_failure_is_recorded_and_a_later_delivery_still_counts(kit: Kit) -> None:
    sent = await kit.reply("See you at 3.")
    await kit.report("wamid.STUB0001", "failed", error_code="131047")
    row = await kit.row(sent)
    assert (row.status, row.error) == ("failed", "whatsapp reported failed, error 131047")
    await kit.report("wamid.STUB0001", "delivered")
    assert (await kit.row(sent)).status == "delivered"
    assert [r for r in kit.stub.sent("twilio")] == []  # 131047 is no unreachable number


async def test_a_status_reported_before_our_commit_is_applied_when_the_row_gets_its_id(
        kit: Kit) -> None:
    await kit.report("wamid.STUB0001", "delivered")  # the provider was faster than us
    sent = await kit.reply("See you at 3.")
    assert (await kit.row(sent)).status == "delivered"


async def test_a_report_racing_the_send_is_never_lost(kit: Kit) -> None:
    for n in range(1, 6):
        customer = f"+1555555020{n}"
        kit.customer_wrote(kit.clock.now() - hours(1), customer=customer)
        envelope = kit.envelope(kit.asked(f"message {n}", to=customer))
        await asyncio.gather(kit.report(f"wamid.STUB{n:04d}", "delivered"),
                             kit.handle(envelope))
        assert (await kit.row(envelope)).status == "delivered", n


async def _provider_id_free(kit: Kit, provider_message_id: str) -> bool:
    """Another connection could take the id's report lock right now."""
    async with kit.sessions() as other, other.begin():
        return bool(await other.scalar(select(func.pg_try_advisory_xact_lock(
            func.hashtextextended(f"notifier-status\x1f{provider_message_id}", 0)))))


@pytest.mark.parametrize(("channel", "reports"), [("whatsapp", True), ("sms", True),
                                                  ("web", False)])
async def test_stamping_a_row_sent_holds_its_provider_ids_until_commit(
        kit: Kit, channel: str, reports: bool) -> None:
    """The stamp takes the ids' report locks in its own statement (no lock per id), so a
    report and the stamp still wait for each other; web chat has no reports to wait for."""
    sent = await kit.reply("See you at 3.", channel=channel)
    ids = ["prov.A", "prov.B"]
    async with kit.sessions() as session, session.begin():
        loaded = (await session.scalars(select(MessageLog).where(
            MessageLog.event_id == sent.event_id))).one()
        row = Outgoing(**{f.name: getattr(loaded, f.name) for f in fields(Outgoing)})
        attempts = row.attempts
        await stamp_sent(session, row, ids, "text", 2, kit.clock.now())
        held = [not await _provider_id_free(kit, i) for i in ids]
    assert held == [reports, reports]
    assert [await _provider_id_free(kit, i) for i in ids] == [True, True]  # committed
    stored = await kit.row(sent)
    assert (stored.provider_message_id, stored.provider_message_ids, stored.attempts) == (
        "prov.A", ids, attempts + 2)


@pytest.mark.parametrize("channel", ["whatsapp", "sms", "web"])
async def test_a_reply_writes_no_row_through_the_orms_bulk_path(kit: Kit, channel: str) -> None:
    """Recording a reply, stamping it sent and a WhatsApp customer's window are written with
    statements on the tables: on the mapped classes, each INSERT or UPDATE took the ORM's
    bulk path, which built the statement again on every call, and a loaded row cost a flush
    of the ORM's unit of work (docs/scaling.md)."""
    with orm_writes() as written, unit_of_work_rows() as flushed:
        kit.customer_wrote(kit.clock.now())
        sent = await kit.reply("See you at 3.", channel=channel)
    assert (await kit.row(sent)).status == "sent"
    assert written == flushed == []


async def test_a_split_sms_follows_the_reports_of_any_of_its_parts(kit: Kit) -> None:
    sent = await kit.reply(" ".join(["word"] * 500), channel="sms")
    row = await kit.row(sent)
    assert len(row.provider_message_ids) == 2 and row.status == "sent"
    await kit.report(row.provider_message_ids[1], "delivered", channel="sms")
    assert (await kit.row(sent)).status == "delivered"


# --- the opt-out gate ----------------------------------------------------------------------------


async def test_nothing_goes_to_a_customer_who_opted_out_but_the_confirmation(kit: Kit) -> None:
    now = kit.clock.now()
    asked_before = kit.envelope(kit.asked("Your reminder"), at=now - timedelta(minutes=5))
    await kit.opted(out=True, at=now)
    confirmation = await kit.reply("You're unsubscribed. Reply START to resubscribe.",
                                   purpose="notice")
    held = await kit.reply("Anything else?")
    await kit.handle(asked_before)  # asked for before the opt-out, handled after: held too
    sms = await kit.reply("Reminder: Haircut tomorrow.", channel="sms", purpose="reminder")
    staff = await kit.reply("A customer asked for a person.", channel="sms", to=OWNER,
                            audience="staff", purpose="alert")
    assert texts(kit.stub) == ["You're unsubscribed. Reply START to resubscribe."]
    assert [r.form["To"] for r in kit.stub.sent("twilio")] == [OWNER]  # staff are not held
    for envelope in (held, asked_before, sms):
        assert (await kit.row(envelope)).status == "suppressed"
    assert (await kit.row(confirmation)).status == "sent"
    assert (await kit.row(staff)).status == "sent"


async def test_opting_back_in_opens_the_gate_and_a_late_older_opt_out_changes_nothing(
        kit: Kit) -> None:
    now = kit.clock.now()
    await kit.opted(out=True, at=now - timedelta(minutes=10))
    await kit.opted(out=False, at=now - timedelta(minutes=5))
    await kit.opted(out=True, at=now - timedelta(minutes=8))  # older, delivered late
    welcome_back = await kit.reply("Welcome back!")
    assert (await kit.row(welcome_back)).status == "sent"
    assert texts(kit.stub) == ["Welcome back!"]


async def test_an_opt_out_at_one_business_holds_nothing_at_another(kit: Kit) -> None:
    await kit.opted(out=True, at=kit.clock.now())
    other = kit.envelope(kit.asked("Hi from the barber", channel="web", to="web:abc"))
    other = other.model_copy(update={"business_id": "barber"})
    await kit.handle(other)
    assert (await kit.row(other)).status == "sent"


# --- web chat -----------------------------------------------------------------------------------


async def test_web_chat_shows_what_was_delivered_and_never_what_was_held(kit: Kit) -> None:
    visitor = "web:visitor1"
    shown = await kit.reply("Hello! How can I help?", channel="web", to=visitor)
    await kit.opted(out=True, at=kit.clock.now(), customer=visitor)
    await kit.reply("Anything else?", channel="web", to=visitor)
    confirmation = await kit.reply("You're unsubscribed.", channel="web", to=visitor,
                                   purpose="notice")
    replies = await replies_after(kit.sessions, "salon", "visitor1", 0)
    assert [r.text for r in replies] == ["Hello! How can I help?", "You're unsubscribed."]
    assert [r.id for r in replies] == [(await kit.row(shown)).seq,
                                       (await kit.row(confirmation)).seq]
    assert kit.stub.requests == []


async def test_web_chat_never_shows_a_reply_before_an_earlier_one_is_settled(
        kit: Kit) -> None:
    visitor = "web:visitor2"
    async with kit.sessions() as session, session.begin():
        for n, status in enumerate(("sent", "sending", "sent"), start=1):
            session.add(MessageLog(event_id=_uuid(n), business_id="salon", channel="web",
                                   audience="customer", to=visitor, body=f"reply {n}",
                                   status=status, requested_at=kit.clock.now()))
    assert [r.text for r in await replies_after(kit.sessions, "salon", "visitor2", 0)] == [
        "reply 1"]


def _uuid(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)

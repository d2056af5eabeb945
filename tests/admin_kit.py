"""The admin service in tests: its app over a test database on a simulated clock, a failed-key
limiter on a hand-moved clock, and rows written directly (customers, bookings, reminders,
deposits, waitlist entries) so every figure is known by hand."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.business.profile import load_profile
from libs.business.service import import_profile
from libs.clock import SimulatedClock
from services.admin.app import create_app
from services.admin.security import AdminDeps, FailureLimiter, SessionSigner, create_key
from services.fsm.models import Booking, Conversation, Customer, WaitlistEntry
from services.payments.models import Deposit
from services.reminders.models import Reminder
from tests.helpers import FIXTURE_BUSINESSES

_refs: Iterator[int] = itertools.count(1)


class HandClock:
    """Seconds for the failed-key limiter, moved by the test."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class AdminKit:
    app: FastAPI
    sessions: async_sessionmaker[AsyncSession]
    clock: SimulatedClock
    seconds: HandClock
    keys: dict[str, str]
    key_ids: dict[str, str]
    nudged: list[int]

    def client(self, key: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                 base_url="https://admin.test", headers=headers)


async def admin_kit(sessions: async_sessionmaker[AsyncSession], now: datetime,
                    businesses: tuple[str, ...] = ("salon", "barber"), *,
                    burst: int = 5) -> AdminKit:
    """The businesses imported, one key each, and the admin app."""
    clock = SimulatedClock(now)
    keys, ids = {}, {}
    async with sessions() as session, session.begin():
        for business in businesses:
            await import_profile(session, load_profile(FIXTURE_BUSINESSES / f"{business}.yaml"))
            row, keys[business] = await create_key(session, business, clock.now())
            ids[business] = row.id
    seconds = HandClock()
    nudged: list[int] = []
    deps = AdminDeps(limiter=FailureLimiter(per_minute=6, burst=burst, clock=seconds),
                     signer=SessionSigner("test-secret"), session_ttl_s=3600)
    app = create_app(sessions, clock, deps, nudge=lambda: nudged.append(1))
    return AdminKit(app, sessions, clock, seconds, keys, ids, nudged)


async def customer(session: AsyncSession, business: str, address: str, *, kept: int = 0,
                   no_shows: int = 0, late_cancels: int = 0,
                   channel: str = "sms") -> Customer:
    row = Customer(id=uuid.uuid4(), business_id=business, address=address, kept=kept,
                   no_shows=no_shows, late_cancels=late_cancels)
    session.add(row)
    await session.flush()
    session.add(Conversation(id=uuid.uuid4(), customer_id=row.id, business_id=business,
                             channel=channel, state="IDLE", context={}))
    await session.flush()
    return row


async def booking(session: AsyncSession, who: Customer, start: datetime, *,
                  service: str = "Haircut", minutes: int = 45, status: str = "confirmed",
                  resource: int = 1, deposit_status: str = "none",
                  deposit: str | None = None, risk: str | None = "medium",
                  attended: bool = False, **extra: Any) -> Booking:
    row = Booking(id=uuid.uuid4(), reference=f"T{next(_refs):05d}", business_id=who.business_id,
                  customer_id=who.id, service=service, resource=resource, starts_at=start,
                  ends_at=start + timedelta(minutes=minutes), status=status,
                  deposit_status=deposit_status,
                  deposit_amount=Decimal(deposit) if deposit is not None else None,
                  attendance_confirmed=attended, no_show_risk=risk, **extra)
    session.add(row)
    await session.flush()
    return row


async def reminder(session: AsyncSession, b: Booking, status: str = "sent",
                   offset: str = "24h") -> None:
    session.add(Reminder(id=uuid.uuid4(), business_id=b.business_id, booking_id=b.id,
                         customer="+10000000000", channel="sms", service=b.service,
                         starts_at=b.starts_at, offset=offset,
                         due_at=b.starts_at - timedelta(hours=24), status=status))
    await session.flush()


async def deposit(session: AsyncSession, b: Booking, amount: str, *, paid_at: datetime | None,
                  refunded: str = "0", status: str = "paid", attempt: int = 1) -> None:
    session.add(Deposit(id=uuid.uuid4(), business_id=b.business_id, booking_id=b.id,
                        attempt=attempt, amount=Decimal(amount), currency="usd", status=status,
                        hold_expires_at=b.starts_at, paid_at=paid_at,
                        refunded_amount=Decimal(refunded),
                        checkout_session_id=f"cs_{uuid.uuid4().hex}"))
    await session.flush()


async def waiting(session: AsyncSession, who: Customer, start: datetime, status: str,
                  service: str = "Haircut") -> None:
    session.add(WaitlistEntry(id=uuid.uuid4(), business_id=who.business_id, customer_id=who.id,
                              service=service, starts_at=start,
                              ends_at=start + timedelta(minutes=45), status=status))
    await session.flush()

"""What the owner learns from the bookings (docs/admin.md, "Analytics"). SQL over the read
model, every figure for one business over local dates `[since, until)`, days and hours read
in the business's zone.

- **No-show rate** = no_show / (completed + no_show) of the bookings that started in the
  range, overall and by week (its Monday), service, weekday and start hour. A booking still
  confirmed, cancelled or expired is in neither count.
- **Reminder confirmation rate** = of the bookings that started in the range and had at
  least one reminder sent, those whose attendance the customer confirmed (C / yes).
- **Deposits**: taken = deposits paid in the range (payments' rows, by when paid; a move's
  top-up is one more); refunded = what of them went back; forfeited = the deposits of
  bookings that started in the range and were cancelled late (`forfeited`) or not attended
  (a `no_show` whose deposit stayed `paid`). The revenue deposits kept is the forfeited sum.
- **Reliability** of a customer = kept / (kept + no_shows + late_cancels), their whole record
  at the business; customers with no record yet are not ranked.
- **Waitlist**: entries for times in the range by status; openings filled = entries
  `booked` (an opening offered and taken); and who is still waiting for a time ahead.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, and_, cast, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from libs.business.profile import BusinessProfile
from libs.contracts.vocabulary import OFFERED
from services.admin import schemas as out
from services.admin.readmodel import customer_out
from services.fsm.models import Booking, Customer, WaitlistEntry
from services.payments.models import Deposit
from services.reminders.models import Reminder

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DEFAULT_WEEKS = 12


def default_range(today: date) -> tuple[date, date]:
    """The last twelve weeks, today included."""
    until = today + timedelta(days=1)
    return until - timedelta(weeks=DEFAULT_WEEKS), until


def _local(profile: BusinessProfile, column: Any) -> ColumnElement[datetime]:
    """The instant as the business's wall clock shows it (timestamp without zone)."""
    return func.timezone(profile.timezone, column)


def _in_range(profile: BusinessProfile, column: Any, since: date,
              until: date) -> ColumnElement[bool]:
    local = _local(profile, column)
    return and_(local >= datetime.combine(since, time()), local < datetime.combine(until, time()))


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _bucket(key: str, completed: int, no_show: int) -> out.Bucket:
    return out.Bucket(key=key, completed=completed, no_show=no_show,
                      rate=_rate(no_show, completed + no_show))


async def no_shows(session: AsyncSession, profile: BusinessProfile, since: date,
                   until: date) -> out.NoShows:
    local = _local(profile, Booking.starts_at)
    where = (Booking.business_id == profile.id, Booking.holds_for.is_(None),
             Booking.status.in_(("completed", "no_show")),
             _in_range(profile, Booking.starts_at, since, until))
    counts = (func.count().filter(Booking.status == "completed"),
              func.count().filter(Booking.status == "no_show"))

    async def grouped(key: Any) -> dict[Any, tuple[int, int]]:
        rows = (await session.execute(select(key, *counts).where(*where).group_by(key))).all()
        return {k: (int(c), int(n)) for k, c, n in rows}

    overall = (await session.execute(select(*counts).where(*where))).one()
    weeks = await grouped(func.date_trunc("week", local))
    week_counts = {(k.date() if isinstance(k, datetime) else k): v for k, v in weeks.items()}
    monday = since - timedelta(days=since.weekday())
    by_week = []
    while monday < until:
        by_week.append(_bucket(monday.isoformat(), *week_counts.get(monday, (0, 0))))
        monday += timedelta(weeks=1)
    services = await grouped(Booking.service)
    catalog = [s.name for s in profile.services]
    names = catalog + sorted(set(services) - set(catalog))
    weekdays = {int(k): v for k, v in (await grouped(func.extract("isodow", local))).items()}
    hours = {int(k): v for k, v in (await grouped(func.extract("hour", local))).items()}
    return out.NoShows(
        overall=_bucket("all", int(overall[0]), int(overall[1])),
        by_week=by_week,
        by_service=[_bucket(n, *services.get(n, (0, 0))) for n in names],
        by_weekday=[_bucket(WEEKDAY_NAMES[d - 1], *weekdays.get(d, (0, 0)))
                    for d in range(1, 8)],
        by_hour=[_bucket(f"{h:02d}", *hours[h]) for h in sorted(hours)])


async def reminders(session: AsyncSession, profile: BusinessProfile, since: date,
                    until: date) -> out.Reminders:
    reminded = exists().where(Reminder.booking_id == Booking.id, Reminder.status == "sent")
    total, confirmed = (await session.execute(
        select(func.count(), func.count().filter(Booking.attendance_confirmed))
        .select_from(Booking)
        .where(Booking.business_id == profile.id, Booking.holds_for.is_(None),
               Booking.status != OFFERED, _in_range(profile, Booking.starts_at, since, until),
               reminded))).one()
    return out.Reminders(reminded=int(total), confirmed=int(confirmed),
                         rate=_rate(int(confirmed), int(total)))


def _money(count: Any, amount: Any) -> out.Money:
    return out.Money(count=int(count or 0), amount=Decimal(amount or 0).quantize(Decimal("0.01")))


async def deposits(session: AsyncSession, profile: BusinessProfile, since: date,
                   until: date) -> out.Deposits:
    paid = (Deposit.business_id == profile.id, Deposit.paid_at.is_not(None),
            _in_range(profile, Deposit.paid_at, since, until))
    taken = (await session.execute(select(func.count(), func.sum(Deposit.amount))
                                   .where(*paid))).one()
    refunded = (await session.execute(select(func.count(), func.sum(Deposit.refunded_amount))
                                      .where(*paid, Deposit.refunded_amount > 0))).one()
    kept = (await session.execute(
        select(func.count(), func.sum(func.coalesce(Booking.deposit_paid_amount,
                                                    Booking.deposit_amount)))
        .where(Booking.business_id == profile.id, Booking.holds_for.is_(None),
               _in_range(profile, Booking.starts_at, since, until),
               or_(Booking.deposit_status == "forfeited",
                   and_(Booking.status == "no_show", Booking.deposit_status == "paid"))))).one()
    forfeited = _money(*kept)
    return out.Deposits(currency=profile.currency, taken=_money(*taken),
                        refunded=_money(*refunded), forfeited=forfeited,
                        kept_revenue=forfeited.amount)


async def waitlist(session: AsyncSession, profile: BusinessProfile, since: date, until: date,
                   now: datetime) -> out.Waitlist:
    counted = dict((await session.execute(
        select(WaitlistEntry.status, func.count())
        .where(WaitlistEntry.business_id == profile.id,
               _in_range(profile, WaitlistEntry.starts_at, since, until))
        .group_by(WaitlistEntry.status))).all())
    rows = (await session.execute(
        select(WaitlistEntry, Customer).join(Customer, Customer.id == WaitlistEntry.customer_id)
        .where(WaitlistEntry.business_id == profile.id,
               WaitlistEntry.status.in_(("waiting", "offered")), WaitlistEntry.starts_at > now)
        .order_by(WaitlistEntry.starts_at, WaitlistEntry.service, WaitlistEntry.seq))).all()
    places: dict[tuple[str, datetime], int] = {}
    waiting = []
    for entry, customer in rows:
        slot = (entry.service, entry.starts_at)
        places[slot] = places.get(slot, 0) + 1
        waiting.append(out.WaitlistEntryOut(
            service=entry.service, starts_at=entry.starts_at.astimezone(profile.tz),
            status=entry.status, position=places[slot], customer=customer_out(customer)))
    by_status = {status: int(counted.get(status, 0))
                 for status in ("waiting", "offered", "booked", "declined", "lapsed",
                                "expired", "opted_out")}
    return out.Waitlist(by_status=by_status, openings_filled=by_status["booked"],
                        waiting=waiting)


async def analytics(session: AsyncSession, profile: BusinessProfile, since: date, until: date,
                    now: datetime) -> out.Analytics:
    return out.Analytics(
        since=since, until=until, timezone=profile.timezone,
        no_shows=await no_shows(session, profile, since, until),
        reminders=await reminders(session, profile, since, until),
        deposits=await deposits(session, profile, since, until),
        waitlist=await waitlist(session, profile, since, until, now))


async def customers_ranked(session: AsyncSession, profile: BusinessProfile, *,
                           least_first: bool = False, limit: int = 100
                           ) -> list[out.CustomerRank]:
    """Customers with a record, most reliable first (or least, for a watch list); ties:
    the longer record of kept appointments first, then by address."""
    record = Customer.kept + Customer.no_shows + Customer.late_cancels
    reliability = cast(Customer.kept, Float) / record
    order = reliability.asc() if least_first else reliability.desc()
    rows = (await session.execute(
        select(Customer, reliability).where(Customer.business_id == profile.id, record > 0)
        .order_by(order, Customer.kept.desc(), Customer.address).limit(limit))).all()
    return [out.CustomerRank(customer=customer_out(c), reliability=float(r)) for c, r in rows]

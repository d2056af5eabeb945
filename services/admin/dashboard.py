"""The dashboard (`/admin`): the day's schedule by resource with risk flags, the high-risk
bookings with one-tap actions, the no-show charts, deposits, reminders and the waitlist.

Pages are rendered here (`services.admin.pages`); each action is a form POST, with the
session cookie and its CSRF token, that does what the API route of the same name does and
comes back to the page it was made from (303).
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from services.admin import analytics as stats, pages, service
from services.admin.app import Authenticated, admin_of
from services.admin.readmodel import booking_detail, bookings_on, lanes
from services.admin.security import Staff

router = APIRouter(prefix="/admin", include_in_schema=False)
Done = Annotated[str, Query(max_length=20)]


def _csrf(request: Request, staff: Staff) -> str:
    return admin_of(request).deps.signer.csrf(staff.cookie) if staff.cookie else ""


def _back(day: str | None, done: str, ref: str | None = None) -> RedirectResponse:
    """Back to the day the action was made from (a date, nothing else), or the booking."""
    if ref is not None:
        return RedirectResponse(f"/admin/bookings/{ref}?done={done}", status_code=303)
    try:
        chosen = f"&day={date.fromisoformat(day or '').isoformat()}"
    except ValueError:
        chosen = ""
    return RedirectResponse(f"/admin?done={done}{chosen}", status_code=303)


@router.get("", response_class=HTMLResponse)
async def home(request: Request, staff: Authenticated,
               day: Annotated[date | None, Query()] = None, done: Done = "") -> str:
    admin = admin_of(request)
    async with admin.sessions() as session:
        profile = await service.profile_of(session, staff.business_id)
        now = admin.clock.now().astimezone(profile.tz)
        day = day or now.date()
        todays = await bookings_on(session, profile, day)
        risky = [b for d in (now.date(), now.date() + timedelta(days=1))
                 for b in await bookings_on(session, profile, d, status="confirmed",
                                            risk="high")
                 if b.starts_at > now]
        since, until = stats.default_range(now.date())
        figures = await stats.analytics(session, profile, since, until, now)
        watch = await stats.customers_ranked(session, profile, least_first=True, limit=5)
    return pages.dashboard(profile, day=day, now=now, lanes=lanes(profile, todays),
                           high_risk=risky, analytics=figures, least_reliable=watch,
                           csrf=_csrf(request, staff), done=done)


@router.get("/bookings/{ref}", response_class=HTMLResponse)
async def booking_page(request: Request, staff: Authenticated, ref: str,
                       done: Done = "") -> str:
    admin = admin_of(request)
    async with admin.sessions() as session:
        profile = await service.profile_of(session, staff.business_id)
        booking, customer = await service.booking_of(session, staff, ref)
        detail = await booking_detail(session, profile, booking, customer)
    return pages.booking(profile, detail, now=admin.clock.now().astimezone(profile.tz),
                         csrf=_csrf(request, staff), done=done)


Day = Annotated[str | None, Form(max_length=10)]


@router.post("/bookings/{ref}/mark")
async def mark(request: Request, staff: Authenticated, ref: str,
               outcome: Annotated[str, Form(pattern="^(completed|no_show)$")],
               day: Day = None) -> RedirectResponse:
    admin = admin_of(request)
    async with admin.sessions() as session, session.begin():
        await service.mark(session, staff, ref, outcome, admin.clock.now())
    admin.nudge()
    return _back(day, "mark")


@router.post("/bookings/{ref}/cancel")
async def cancel(request: Request, staff: Authenticated, ref: str,
                 day: Day = None) -> RedirectResponse:
    admin = admin_of(request)
    async with admin.sessions() as session, session.begin():
        await service.cancel(session, staff, ref, None, "", admin.clock.now())
    admin.nudge()
    return _back(day, "cancel")


@router.post("/bookings/{ref}/remind")
async def remind(request: Request, staff: Authenticated, ref: str,
                 day: Day = None) -> RedirectResponse:
    admin = admin_of(request)
    async with admin.sessions() as session, session.begin():
        await service.remind(session, staff, ref, admin.clock.now())
    admin.nudge()
    return _back(day, "remind")


@router.post("/customers/{customer_id}/takeover")
async def takeover(request: Request, staff: Authenticated, customer_id: uuid.UUID,
                   on: Annotated[str, Form(pattern="^(true|false)$")],
                   ref: Annotated[str | None, Form(max_length=40)] = None
                   ) -> RedirectResponse:
    admin = admin_of(request)
    taking = on == "true"
    async with admin.sessions() as session, session.begin():
        await service.takeover(session, staff, customer_id, taking, admin.clock.now())
        found = await service.booking_of(session, staff, ref) if ref else None
    admin.nudge()
    return _back(None, "takeover" if taking else "release",
                 found[0].reference if found else None)

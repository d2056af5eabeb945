"""The admin JSON API (`/admin/api`): read the day, act on it, learn from it.

Each route is answered for the key's own business only (docs/admin.md has curl examples).
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, Request
from sqlalchemy import select

from libs.contracts.vocabulary import BookingStatus, NoShowRisk
from services.admin import analytics as stats, schemas as out, service
from services.admin.app import API, Authenticated, admin_of
from services.admin.models import AdminAudit
from services.admin.readmodel import booking_detail, booking_out, bookings_on

router = APIRouter(prefix=API, tags=["admin"])
REFUSALS: dict[int | str, dict[str, object]] = {
    401: {"description": "no key, or a wrong or revoked one"},
    404: {"description": "not this business's (or no such thing)", "model": out.Problems},
    429: {"description": "too many failed key attempts from this address (see Retry-After)"},
}
CHANGES = {**REFUSALS, 409: {"description": "not possible now (says why)",
                             "model": out.Problems}}

@router.get("/bookings", response_model=list[out.BookingOut], responses=REFUSALS,
            summary="Bookings starting on a day (default today, local)")
async def list_bookings(request: Request, staff: Authenticated,
                        day: Annotated[date | None, Query()] = None,
                        status: Annotated[BookingStatus | None, Query()] = None,
                        risk: Annotated[NoShowRisk | None, Query()] = None
                        ) -> list[out.BookingOut]:
    admin = admin_of(request)
    async with admin.sessions() as session:
        profile = await service.profile_of(session, staff.business_id)
        day = day or admin.clock.now().astimezone(profile.tz).date()
        return await bookings_on(session, profile, day, status=status, risk=risk)


@router.get("/bookings/{ref}", response_model=out.BookingDetail, responses=REFUSALS,
            summary="One booking with its conversation, messages and payments")
async def get_booking(request: Request, staff: Authenticated, ref: str) -> out.BookingDetail:
    async with admin_of(request).sessions() as session:
        profile = await service.profile_of(session, staff.business_id)
        booking, customer = await service.booking_of(session, staff, ref)
        return await booking_detail(session, profile, booking, customer)


@router.post("/bookings/{ref}/mark", response_model=out.BookingOut, responses=CHANGES,
             summary="Mark a booking that has started completed or no_show")
async def mark_booking(request: Request, staff: Authenticated, ref: str,
                       body: out.MarkBody) -> out.BookingOut:
    admin = admin_of(request)
    async with admin.sessions() as session, session.begin():
        profile = await service.profile_of(session, staff.business_id)
        booking = await service.mark(session, staff, ref, body.outcome, admin.clock.now())
        _, customer = await service.booking_of(session, staff, booking.reference)
        result = booking_out(booking, customer, profile.tz)
    admin.nudge()
    return result


@router.post("/bookings/{ref}/cancel", status_code=202, response_model=out.Accepted,
             responses=CHANGES, summary="Cancel on the customer's behalf (they are told)")
async def cancel_booking(request: Request, staff: Authenticated, ref: str,
                         body: Annotated[out.CancelBody | None, Body()] = None
                         ) -> out.Accepted:
    body = body or out.CancelBody()
    admin = admin_of(request)
    async with admin.sessions() as session, session.begin():
        kind, sent = await service.cancel(session, staff, ref, body.refund, body.note,
                                          admin.clock.now())
    admin.nudge()
    return out.Accepted(command=kind, command_id=sent)


@router.post("/bookings/{ref}/move", status_code=202, response_model=out.Accepted,
             responses=CHANGES, summary="Move to a new start on the customer's behalf")
async def move_booking(request: Request, staff: Authenticated, ref: str,
                       body: out.MoveBody) -> out.Accepted:
    admin = admin_of(request)
    async with admin.sessions() as session, session.begin():
        kind, sent = await service.move(session, staff, ref, body.start, body.note,
                                        admin.clock.now())
    admin.nudge()
    return out.Accepted(command=kind, command_id=sent)


@router.post("/bookings/{ref}/remind", status_code=202, response_model=out.Accepted,
             responses=CHANGES, summary="Send the booking's reminder again")
async def remind_booking(request: Request, staff: Authenticated, ref: str) -> out.Accepted:
    admin = admin_of(request)
    async with admin.sessions() as session, session.begin():
        kind, sent = await service.remind(session, staff, ref, admin.clock.now())
    admin.nudge()
    return out.Accepted(command=kind, command_id=sent)


@router.put("/customers/{customer_id}/takeover", status_code=202, response_model=out.Accepted,
            responses=REFUSALS, summary="Take a conversation over (the bot stays silent) or "
                                        "give it back")
async def takeover(request: Request, staff: Authenticated, customer_id: uuid.UUID,
                   body: out.TakeoverBody) -> out.Accepted:
    admin = admin_of(request)
    async with admin.sessions() as session, session.begin():
        kind, sent = await service.takeover(session, staff, customer_id, body.on,
                                            admin.clock.now())
    admin.nudge()
    return out.Accepted(command=kind, command_id=sent)


@router.get("/customers", response_model=list[out.CustomerRank], responses=REFUSALS,
            summary="Customers ranked by reliability")
async def customers(request: Request, staff: Authenticated,
                    order: Annotated[Literal["most", "least"], Query()] = "most",
                    limit: Annotated[int, Query(ge=1, le=500)] = 100
                    ) -> list[out.CustomerRank]:
    async with admin_of(request).sessions() as session:
        profile = await service.profile_of(session, staff.business_id)
        return await stats.customers_ranked(session, profile, least_first=order == "least",
                                            limit=limit)


@router.get("/high-risk", response_model=list[out.BookingOut], responses=REFUSALS,
            summary="Confirmed bookings at high no-show risk on a day (default tomorrow)")
async def high_risk(request: Request, staff: Authenticated,
                    day: Annotated[date | None, Query()] = None) -> list[out.BookingOut]:
    admin = admin_of(request)
    async with admin.sessions() as session:
        profile = await service.profile_of(session, staff.business_id)
        day = day or admin.clock.now().astimezone(profile.tz).date() + timedelta(days=1)
        return await bookings_on(session, profile, day, status="confirmed", risk="high")


@router.get("/waitlist", response_model=out.Waitlist, responses=REFUSALS,
            summary="Who is waiting, and how many openings the waitlist filled")
async def waitlist(request: Request, staff: Authenticated,
                   since: Annotated[date | None, Query()] = None,
                   until: Annotated[date | None, Query()] = None) -> out.Waitlist:
    admin = admin_of(request)
    async with admin.sessions() as session:
        profile = await service.profile_of(session, staff.business_id)
        now = admin.clock.now()
        first, last = _range(now.astimezone(profile.tz).date(), since, until)
        return await stats.waitlist(session, profile, first, last, now)


def _range(today: date, since: date | None, until: date | None) -> tuple[date, date]:
    default_since, default_until = stats.default_range(today)
    return since or default_since, until or default_until


@router.get("/analytics", response_model=out.Analytics, responses=REFUSALS,
            summary="No-show rates, reminder confirmations, deposits and the waitlist")
async def analytics(request: Request, staff: Authenticated,
                    since: Annotated[date | None, Query(description="first local date")] = None,
                    until: Annotated[date | None, Query(description="local date after the "
                                                                    "last")] = None
                    ) -> out.Analytics:
    admin = admin_of(request)
    async with admin.sessions() as session:
        profile = await service.profile_of(session, staff.business_id)
        now = admin.clock.now()
        first, last = _range(now.astimezone(profile.tz).date(), since, until)
        return await stats.analytics(session, profile, first, last, now)


@router.get("/profile", responses=REFUSALS, summary="The business profile, as imported")
async def get_profile(request: Request, staff: Authenticated) -> dict[str, object]:
    async with admin_of(request).sessions() as session:
        profile = await service.profile_of(session, staff.business_id)
    return profile.to_json_dict()


@router.put("/profile", response_model=out.ProfileSaved,
            responses={**REFUSALS, 422: {"description": "refused: every problem by key path",
                                         "model": out.Problems}},
            summary="Replace the profile (YAML or JSON), validated as `business import` is",
            openapi_extra={"requestBody": {"required": True, "content": {
                "application/yaml": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object"}}}}})
async def put_profile(request: Request, staff: Authenticated) -> out.ProfileSaved:
    admin = admin_of(request)
    text = (await request.body()).decode("utf-8", errors="replace")
    async with admin.sessions() as session, session.begin():
        outcome = await service.edit_profile(session, staff, text, admin.clock.now())
    return out.ProfileSaved(business_id=staff.business_id, outcome=outcome)


@router.get("/audit", response_model=list[out.AuditOut], responses=REFUSALS,
            summary="What was done through the admin API, newest first")
async def audit_log(request: Request, staff: Authenticated,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[out.AuditOut]:
    async with admin_of(request).sessions() as session:
        profile = await service.profile_of(session, staff.business_id)
        rows = (await session.scalars(select(AdminAudit).where(
            AdminAudit.business_id == staff.business_id)
            .order_by(AdminAudit.at.desc(), AdminAudit.id.desc()).limit(limit))).all()
    return [out.AuditOut(at=r.at.astimezone(profile.tz), key_id=r.key_id, action=r.action,
                         target=r.target, payload=r.payload) for r in rows]

"""The admin HTTP app: the JSON API under `/admin/api`, the dashboard under `/admin`, and
who may use them (`services.admin.security`).

Every route but the sign-in form and the stylesheet needs a key: without one it answers 401
(the API with JSON and `WWW-Authenticate: Bearer`, the dashboard with the sign-in form);
with another business's key, anything named by id or reference answers 404, as if it did
not exist. The OpenAPI document is at `/admin/openapi.json` (behind a key too).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.clock import Clock
from libs.runtime.web import MAX_BODY_BYTES, NO_OPENTELEMETRY, BodyLimit, client_address
from services.admin import pages
from services.admin.models import AdminKey
from services.admin.security import (
    COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    AdminDeps,
    Staff,
    active_key,
    retry_after,
)
from services.admin.service import Refused, audit

API = "/admin/api"
PUBLIC = frozenset({("GET", "/admin/login"), ("POST", "/admin/login"),
                    ("GET", "/admin/assets/admin.css")})
"""The only routes that answer without a key (a test checks every other one)."""
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
LAST_USED_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class Admin:
    """What the routes reach through `request.app.state.admin`."""

    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    deps: AdminDeps
    nudge: Callable[[], None]
    """Wakes the outbox relay after a commit that wrote commands."""


def admin_of(request: Request) -> Admin:
    found: Admin = request.app.state.admin
    return found


class Denied(Exception):
    """401 (no key, a wrong or revoked one), 403 (a POST without its CSRF token) or 429
    (too many failed keys from this address)."""

    def __init__(self, status: int, detail: str, retry_s: float = 0.0, *,
                 quiet: bool = False) -> None:
        super().__init__(detail)
        self.status, self.detail, self.retry_s, self.quiet = status, detail, retry_s, quiet


def _bearer(request: Request) -> str | None:
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    return credential.strip() or None if scheme.lower() == "bearer" else None


async def _csrf_token(request: Request) -> str:
    token = request.headers.get(CSRF_HEADER, "")
    if token:
        return token
    if request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def authenticate(request: Request) -> Staff:
    """The key in `Authorization: Bearer`, or the dashboard's session cookie."""
    admin = admin_of(request)
    bearer, cookie = _bearer(request), request.cookies.get(COOKIE)
    if bearer is None and not cookie:
        raise Denied(401, "an API key is required (Authorization: Bearer <key>)", quiet=True)
    address = client_address(request)
    wait = admin.deps.limiter.wait(address)
    if wait > 0:
        raise Denied(429, "too many failed key attempts from this address", wait)
    now = admin.clock.now()
    signer = admin.deps.signer
    async with admin.sessions() as session, session.begin():
        key: AdminKey | None
        if bearer is not None:
            key = await active_key(session, key=bearer)
        else:
            assert cookie is not None
            key_id = signer.key_id(cookie, now)
            key = await active_key(session, key_id=key_id) if key_id else None
        if key is None:
            admin.deps.limiter.failed(address)
            raise Denied(401, "this key is not valid (wrong, or revoked)" if bearer else
                         "your session has ended: sign in again")
        if key.last_used_at is None or key.last_used_at < now - LAST_USED_EVERY:
            key.last_used_at = now
        staff = Staff(business_id=key.business_id, key_id=key.id,
                      cookie=None if bearer is not None else cookie)
    if staff.cookie and request.method not in SAFE_METHODS \
            and not signer.csrf_ok(staff.cookie, await _csrf_token(request)):
        raise Denied(403, "this form has expired: reload the page and try again")
    return staff


Authenticated = Annotated[Staff, Depends(authenticate)]


def wants_html(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith(API) or path == "/admin/openapi.json")


def _denied(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Denied)
    headers = {}
    if exc.status == 429:
        headers["Retry-After"] = retry_after(exc.retry_s)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="receptionist-admin"'
    if wants_html(request):
        shown = "" if exc.quiet else exc.detail  # a first visit just gets the form
        response: Response = HTMLResponse(pages.login(error=shown), exc.status, headers)
        if exc.status == 401 and request.cookies.get(COOKIE):
            response.delete_cookie(COOKIE, path="/admin")
        return response
    return JSONResponse({"detail": exc.detail}, exc.status, headers)


def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    if wants_html(request):
        body = pages.page("Not done", f"<main class=narrow><h1>Not done</h1><p class=error>"
                                      f"{pages.e(exc.detail)}</p><p><a href='/admin'>Back to "
                                      "the dashboard</a></p></main>")
        return HTMLResponse(body, exc.status)
    return JSONResponse({"detail": exc.detail, "problems": exc.problems}, exc.status)


async def _headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]
                   ) -> Response:
    response = await call_next(request)
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if request.url.path != "/admin/assets/admin.css":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def route_table(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app serves, its routers' included (their own prefixes are
    in their paths; none is added when including them)."""
    found: list[tuple[str, str]] = []

    def walk(routes: list[Any]) -> None:
        for route in routes:
            if isinstance(route, APIRoute):
                found.extend((method, route.path) for method in route.methods or ())
            elif hasattr(route, "original_router"):  # FastAPI's record of an included router
                walk(route.original_router.routes)

    walk(app.router.routes)
    return sorted(found)


def create_app(sessions: async_sessionmaker[AsyncSession], clock: Clock, deps: AdminDeps,
               nudge: Callable[[], None] = lambda: None) -> FastAPI:
    from services.admin.api import router as api_router
    from services.admin.dashboard import router as dashboard_router

    app = FastAPI(title="Receptionist admin API", version="1",
                  description="A business's bookings, no-shows and profile, for its staff "
                              "(docs/admin.md). Authenticate with `Authorization: Bearer "
                              "<key>` (`receptionist business key create ID`).",
                  openapi_url=None, docs_url=None, redoc_url=None, telemetry=NO_OPENTELEMETRY)
    app.state.admin = Admin(sessions, clock, deps, nudge)
    app.add_exception_handler(Denied, _denied)
    app.add_exception_handler(Refused, _refused)
    app.middleware("http")(_headers)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.include_router(api_router)
    app.include_router(dashboard_router)

    @app.get("/admin/openapi.json", include_in_schema=False)
    async def openapi(staff: Authenticated) -> dict[str, Any]:
        return app.openapi()

    @app.get("/admin/assets/admin.css", include_in_schema=False)
    async def stylesheet() -> Response:
        return Response(pages.CSS, media_type="text/css",
                        headers={"Cache-Control": "public, max-age=3600"})

    @app.get("/admin/login", include_in_schema=False, response_class=HTMLResponse)
    async def login_form() -> str:
        return pages.login()

    @app.post("/admin/login", include_in_schema=False)
    async def login(request: Request, key: Annotated[str, Form(max_length=200)]) -> Response:
        admin = admin_of(request)
        address = client_address(request)
        wait = admin.deps.limiter.wait(address)
        if wait > 0:
            raise Denied(429, "too many failed key attempts from this address", wait)
        now = admin.clock.now()
        async with admin.sessions() as session, session.begin():
            found = await active_key(session, key=key)
            if found is None:
                admin.deps.limiter.failed(address)
                raise Denied(401, "that key is not valid (wrong, or revoked)")
            found.last_used_at = now
            staff = Staff(found.business_id, found.id)
            audit(session, staff, "login", found.id, {}, now)
        cookie = admin.deps.signer.cookie(
            found.id, now + timedelta(seconds=admin.deps.session_ttl_s))
        response = RedirectResponse("/admin?done=login", status_code=303)
        response.set_cookie(COOKIE, cookie, max_age=admin.deps.session_ttl_s, path="/admin",
                            httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")
        return response

    @app.post("/admin/logout", include_in_schema=False)
    async def logout(staff: Authenticated) -> Response:
        response = RedirectResponse("/admin/login", status_code=303)
        response.delete_cookie(COOKIE, path="/admin")
        return response

    return app

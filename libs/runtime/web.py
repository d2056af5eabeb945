"""HTTP plumbing every service app shares: several apps behind one port (the one-process
demo), a body-size limit enforced before anything is buffered, and who a client is."""

from __future__ import annotations

import inspect
import ipaddress
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.routing import APIRoute
from fastapi.telemetry import TelemetryConfig
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NO_OPENTELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}
"""FastAPI's OpenTelemetry bridge, off in every app (`FastAPI(telemetry=...)`): the services
export Prometheus metrics on their ops port, and the bridge asked the OpenTelemetry
providers on every request whether anyone listened (docs/scaling.md, "Ingress")."""


class SharedPort:
    """Each request goes to the app that has a route for it. The apps stay as they are in
    production (their own state, dependencies and error handlers); only the port is
    shared."""

    def __init__(self, apps: Sequence[FastAPI]) -> None:
        if not apps:
            raise ValueError("nothing to serve")
        self.apps = list(apps)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # the apps need no startup of their own
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await self.app_for(scope)(scope, receive, send)

    def app_for(self, scope: Scope) -> FastAPI:
        """The first app with a route matching the path (a wrong method still picks it, so it
        answers 405); otherwise the first app, which answers 404."""
        for app in self.apps:
            for route in app.router.routes:
                match, _ = route.matches(scope)
                if match is not Match.NONE:
                    return app
        return self.apps[0]


class RequestRoute(APIRoute):
    """A route whose endpoint takes the request alone is called with it directly: FastAPI's
    request handler (resolving dependencies and parameters there are none of, an exit stack,
    serializing a return value that is a response already) cost a webhook more CPU than
    its own work (docs/scaling.md, "Ingress"). Any other endpoint is handled as FastAPI
    does. The route and its OpenAPI description are FastAPI's either way."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        if takes_request_alone(self):
            endpoint: Callable[[Request], Coroutine[Any, Any, Response]] = self.endpoint
            return endpoint
        return super().get_route_handler()


def takes_request_alone(route: APIRoute) -> bool:
    """The endpoint's one parameter is the request, and it answers with a `Response`."""
    dependant = route.dependant
    signature = inspect.signature(route.endpoint, eval_str=True)
    returns = signature.return_annotation
    return (dependant.request_param_name is not None and not dependant.dependencies
            and not (dependant.path_params or dependant.query_params
                     or dependant.header_params or dependant.cookie_params
                     or dependant.body_params)
            and len(signature.parameters) == 1
            and isinstance(returns, type) and issubclass(returns, Response))


def add_routes(app: FastAPI, router: APIRouter) -> None:
    """The router's routes on the app itself, where `include_router` would keep the router
    as a branch that every request walks and matches through again: a tenth of a webhook's
    CPU (docs/scaling.md, "Ingress"). They go after the routes added before them and ahead
    of FastAPI's documentation routes, which every request was matched against first. Only
    for a router without a prefix, tags or dependencies of its own, which `include_router`
    would apply."""
    if router.prefix or router.tags or router.dependencies:
        raise ValueError("add_routes takes a plain router; include_router applies the rest")
    routes = app.router.routes
    documentation = {app.openapi_url, app.docs_url, app.redoc_url,
                     app.swagger_ui_oauth2_redirect_url} - {None}
    at = next((i for i, route in enumerate(routes)
               if getattr(route, "path", None) in documentation), len(routes))
    routes[at:at] = router.routes


MAX_BODY_BYTES = 64 * 1024
"""No request any of our endpoints takes (webhooks, web chat, checkout page) comes near it."""


class BodyLimit:
    """Refuse a request body over `max_bytes` before buffering it: at once when
    Content-Length says so, else as soon as the streamed bytes pass the limit (the app's
    read then fails with a 413). Either way the app never holds more than the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await send({"type": "http.response.start", "status": 413,
                        "headers": [(b"content-type", b"text/plain"),
                                    (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": b"payload too large"})
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise HTTPException(413, "payload too large")
            return message

        await self.app(scope, limited, send)


def client_address(request: Request) -> str:
    """Who is asking, as rate limits key it: the scope's client (uvicorn puts a proxy's
    X-Forwarded-For there only for FORWARDED_ALLOW_IPS), an IPv4-mapped address as IPv4, an
    IPv6 one by its /64 (one subscriber holds a whole /64)."""
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)

"""`RequestRoute` and `add_routes` (libs/runtime/web.py): a webhook that takes the request
alone skips FastAPI's request handler, and answers exactly as it would through it; every
other endpoint keeps FastAPI's handling; routes added flat keep their OpenAPI description."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from libs.runtime.web import RequestRoute, add_routes, takes_request_alone


async def _answer(request: Request) -> str:
    return "dependency ran"


def build_router() -> APIRouter:
    router = APIRouter(route_class=RequestRoute)

    @router.post("/hook")
    async def hook(request: Request) -> Response:
        body = await request.body()
        if body == b"refuse":
            raise HTTPException(403, "refused", headers={"X-Why": "test"})
        return Response(b"got " + body, status_code=202, media_type="text/plain",
                        headers={"X-Seen": request.headers.get("X-In", "")})

    @router.get("/with-dependency")
    async def with_dependency(answer: Annotated[str, Depends(_answer)]) -> Response:
        return Response(answer)

    @router.get("/returns-a-dict")
    async def returns_a_dict(request: Request) -> dict[str, Any]:
        return {"path": request.url.path}

    @router.get("/items/{item}")
    async def item(request: Request, item: int) -> Response:
        return Response(str(item * 2))

    return router


def app_with(flat: bool) -> FastAPI:
    app = FastAPI()
    router = build_router()
    if flat:
        add_routes(app, router)
    else:
        app.include_router(router)
    return app


def routes(app: FastAPI) -> dict[str, APIRoute]:
    return {r.path: r for r in app.routes if isinstance(r, APIRoute)}


def test_only_an_endpoint_of_the_request_alone_answering_a_response_skips_fastapis_handler(
        ) -> None:
    found = routes(app_with(flat=True))
    assert takes_request_alone(found["/hook"])
    assert found["/hook"].get_route_handler() is found["/hook"].endpoint
    for path in ("/with-dependency", "/returns-a-dict", "/items/{item}"):
        assert not takes_request_alone(found[path]), path
        assert found[path].get_route_handler() is not found[path].endpoint, path


@pytest.mark.parametrize("flat", [True, False], ids=["add_routes", "include_router"])
def test_answers_are_what_fastapi_gives(flat: bool) -> None:
    client = TestClient(app_with(flat))
    answer = client.post("/hook", content=b"ping", headers={"X-In": "abc"})
    assert (answer.status_code, answer.text, answer.headers["X-Seen"]) == (202, "got ping", "abc")
    refused = client.post("/hook", content=b"refuse")
    assert (refused.status_code, refused.json(), refused.headers["X-Why"]) == (
        403, {"detail": "refused"}, "test")
    assert client.get("/hook").status_code == 405
    assert client.get("/with-dependency").text == "dependency ran"
    assert client.get("/returns-a-dict").json() == {"path": "/returns-a-dict"}
    assert client.get("/items/21").text == "42"
    assert client.get("/items/x").status_code == 422
    assert client.get("/nowhere").status_code == 404


def test_flat_routes_keep_their_openapi_description() -> None:
    flat, included = app_with(flat=True).openapi(), app_with(flat=False).openapi()
    assert flat["paths"] == included["paths"]
    assert set(flat["paths"]) == {"/hook", "/with-dependency", "/returns-a-dict",
                                  "/items/{item}"}


def test_added_routes_come_in_order_before_fastapis_documentation() -> None:
    """A request is matched against the routes in order: the documentation's would be tried
    first by every webhook."""
    app = FastAPI()
    first, second = APIRouter(), APIRouter()
    first.post("/first")(_answer)
    second.post("/second")(_answer)
    add_routes(app, first)
    add_routes(app, second)
    paths = [getattr(r, "path", None) for r in app.router.routes]
    assert paths[:2] == ["/first", "/second"]
    assert set(paths[2:]) == {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
    client = TestClient(app)
    assert client.get("/docs").status_code == 200
    assert set(client.get("/openapi.json").json()["paths"]) == {"/first", "/second"}


def test_a_whatsapp_webhook_meets_its_own_route_first() -> None:
    """The busiest route is the first an ingress request is matched against; the verify
    handshake on the same path comes after it."""
    from services.ingress.app import create_app as ingress_app

    nothing: Any = None
    found = [(getattr(r, "path", None), sorted(getattr(r, "methods", None) or ()))
             for r in ingress_app(nothing).router.routes]
    assert found[:2] == [("/webhooks/whatsapp", ["POST"]), ("/webhooks/whatsapp", ["GET"])]


@pytest.mark.parametrize("router", [APIRouter(prefix="/v1"), APIRouter(tags=["x"]),
                                    APIRouter(dependencies=[Depends(_answer)])],
                         ids=["prefix", "tags", "dependencies"])
def test_add_routes_refuses_a_router_whose_settings_it_would_drop(router: APIRouter) -> None:
    with pytest.raises(ValueError, match="include_router"):
        add_routes(FastAPI(), router)


def test_apps_do_not_ask_opentelemetry_about_every_request(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """FastAPI's OpenTelemetry bridge asks the providers on every request whether anyone
    listens; the services export Prometheus metrics, so their apps turn it off."""
    from opentelemetry import trace

    from libs.runtime.ops import create_ops_app
    from services.ingress.app import create_app as ingress_app

    asked: list[str] = []
    real = trace.get_tracer_provider

    def counted() -> trace.TracerProvider:
        asked.append("asked")
        return real()

    monkeypatch.setattr(trace, "get_tracer_provider", counted)
    nothing: Any = None  # /healthz uses none of the apps' dependencies

    default = FastAPI()
    default.get("/healthz")(lambda: {"status": "ok"})
    assert TestClient(default).get("/healthz").status_code == 200
    assert asked  # the default asks: the check below can fail
    asked.clear()
    for app in (ingress_app(nothing),
                create_ops_app(sessions=nothing, transport=nothing, clock=nothing)):
        assert TestClient(app).get("/healthz").status_code == 200
    assert asked == []

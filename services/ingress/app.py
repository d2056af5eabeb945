"""ingress: verify the provider's signature, normalize, publish with a confirm, answer.

It decides nothing. A message the broker did not confirm is answered 503, so the provider
retries and nothing is lost; a rejected request publishes nothing. Each provider is its own
router (`services/ingress/routers`); what they share lives on the app (`deps`).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, TimeoutError as SQLAlchemyTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from libs.logs import error_without_message
from libs.runtime.ops import readiness, readiness_response
from libs.runtime.web import MAX_BODY_BYTES, NO_OPENTELEMETRY, BodyLimit, add_routes
from services.ingress.deps import IngressDeps
from services.ingress.routers import stripe, twilio, webchat, whatsapp

log = logging.getLogger(__name__)
RETRY_AFTER_S = 5


async def _plain_error(request: Request, exc: Exception) -> Response:
    """Providers read the status; people reading logs get the reason as plain text."""
    assert isinstance(exc, StarletteHTTPException)
    return Response(str(exc.detail), status_code=exc.status_code, media_type="text/plain",
                    headers=exc.headers)


async def _unavailable(request: Request, exc: Exception) -> Response:
    """The database or the broker cannot be reached: 503 so the provider retries, never a
    500 (nothing was lost: nothing was accepted)."""
    log.warning("ingress: %s unavailable for %s: %s", "database", request.url.path,
                error_without_message(exc))
    return Response("temporarily unavailable, retry later", status_code=503,
                    media_type="text/plain", headers={"Retry-After": str(RETRY_AFTER_S)})


async def _malformed(request: Request, exc: Exception) -> Response:
    """A body nested too deep to parse (`[[[[...`) is malformed input, not a server error."""
    return Response("malformed body", status_code=400, media_type="text/plain")


def create_app(deps: IngressDeps) -> FastAPI:
    app = FastAPI(title="Receptionist ingress", version="1", telemetry=NO_OPENTELEMETRY)
    app.state.ingress = deps
    app.add_exception_handler(StarletteHTTPException, _plain_error)
    app.add_exception_handler(DBAPIError, _unavailable)
    app.add_exception_handler(SQLAlchemyTimeout, _unavailable)
    app.add_exception_handler(OSError, _unavailable)
    app.add_exception_handler(RecursionError, _malformed)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    for module in (whatsapp, twilio, stripe, webchat):  # the busiest first: matched in order
        add_routes(app, module.router)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        """Ready to take webhooks: a message can be published and a business looked up."""
        return readiness_response(await readiness(deps.session_factory, deps.transport))

    return app

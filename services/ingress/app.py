"""ingress: verify the provider's signature, normalize, publish with a confirm, answer.

It decides nothing. A message the broker did not confirm is answered 503, so the provider
retries and nothing is lost; a rejected request publishes nothing. Each provider is its own
router (`services/ingress/routers`); what they share lives on the app (`deps`).
"""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse

from libs.runtime.ops import readiness, readiness_response
from services.ingress.deps import IngressDeps
from services.ingress.routers import stripe, twilio, webchat, whatsapp


async def _plain_error(request: Request, exc: Exception) -> Response:
    """Providers read the status; people reading logs get the reason as plain text."""
    assert isinstance(exc, HTTPException)
    return Response(str(exc.detail), status_code=exc.status_code, media_type="text/plain")


def create_app(deps: IngressDeps) -> FastAPI:
    app = FastAPI(title="Receptionist ingress", version="1")
    app.state.ingress = deps
    app.add_exception_handler(HTTPException, _plain_error)
    for module in (twilio, whatsapp, stripe, webchat):
        app.include_router(module.router)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        """Ready to take webhooks: a message can be published and a business looked up."""
        return readiness_response(await readiness(deps.session_factory, deps.transport))

    return app

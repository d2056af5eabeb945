"""`python -m services.ingress`: the webhook endpoints as their own process (uvicorn)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import uvicorn
from fastapi import FastAPI

from libs.logs import configure_logging
from libs.runtime import open_runtime
from libs.settings import get_settings
from services.ingress.app import IngressDeps, create_app


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    async with open_runtime(settings) as rt:
        inner = create_app(IngressDeps(
            transport=rt.transport, session_factory=rt.session_factory, clock=rt.clock,
            public_base_url=settings.public_base_url,
            twilio_auth_token=settings.twilio_auth_token,
            whatsapp_app_secret=settings.whatsapp_app_secret,
            whatsapp_verify_token=settings.whatsapp_verify_token,
            stripe_webhook_secret=settings.stripe_webhook_secret))
        app.mount("/", inner)
        yield


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    uvicorn.run(FastAPI(lifespan=lifespan), host=settings.http_host, port=settings.http_port)


if __name__ == "__main__":
    main()

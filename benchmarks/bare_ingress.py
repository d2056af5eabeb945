"""The ingress ceiling: a bare FastAPI endpoint that does only what accepting a webhook
needs. It checks `X-Hub-Signature-256` (HMAC-SHA256 of the raw body, as
`services/ingress/whatsapp.py` does) and publishes the body with one confirmed, persistent,
mandatory publish, then answers 200. No business lookup, no parsing, no envelope.

Served by uvicorn with the settings `libs/runtime/process.py` gives ingress (no access log,
no log config, uvloop, httptools: `libs/runtime/event_loop.py`). Configured from the environment:

    AMQP_URL, EXCHANGE (a topic exchange that exists), ROUTING_KEY, APP_SECRET, HTTP_PORT

    python benchmarks/bare_ingress.py
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import uuid
from collections.abc import AsyncIterator

import aio_pika
import uvicorn
from fastapi import FastAPI, Request, Response

from libs.runtime import event_loop

PUBLISH_TIMEOUT_S = 5.0


def create_app(amqp_url: str, exchange_name: str, routing_key: str, secret: str) -> FastAPI:
    key = secret.encode()
    held: dict[str, aio_pika.abc.AbstractExchange] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        connection = await aio_pika.connect_robust(amqp_url)
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        held["exchange"] = await channel.get_exchange(exchange_name, ensure=True)
        try:
            yield
        finally:
            await connection.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/webhooks/whatsapp")
    async def webhook(request: Request) -> Response:
        raw = await request.body()
        header = request.headers.get("X-Hub-Signature-256", "")
        expected = hmac.new(key, raw, hashlib.sha256).hexdigest()
        if not header.startswith("sha256=") or not hmac.compare_digest(
                expected, header.removeprefix("sha256=")):
            return Response("invalid signature", status_code=401)
        message = aio_pika.Message(raw, message_id=str(uuid.uuid4()),
                                   content_type="application/json",
                                   delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                                   type=routing_key)
        try:
            await held["exchange"].publish(message, routing_key=routing_key, mandatory=True,
                                           timeout=PUBLISH_TIMEOUT_S)
        except Exception:
            return Response("broker unavailable", status_code=503)
        return Response(status_code=200)

    return app


def main() -> None:
    app = create_app(os.environ["AMQP_URL"], os.environ["EXCHANGE"], os.environ["ROUTING_KEY"],
                     os.environ["APP_SECRET"])
    server = uvicorn.Server(uvicorn.Config(
        app, host="127.0.0.1", port=int(os.environ["HTTP_PORT"]), http=event_loop.HTTP_PARSER,
        log_config=None, access_log=False, forwarded_allow_ips="127.0.0.1"))
    event_loop.run(server.serve())


if __name__ == "__main__":
    main()

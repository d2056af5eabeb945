"""`receptionist demo` and `receptionist chat`: the whole receptionist on this machine, in
one process, with nothing to install beyond the package.

- PostgreSQL: `DATABASE_URL` when set, else an embedded server (`pgserver`) whose data is
  kept between runs in `RECEPTIONIST_DEMO_DIR` (default `~/.receptionist-demo`).
- The bus: RabbitMQ at `AMQP_URL` when set, else the in-memory transport.
- Every service from its production definition (`receptionist.bootstrap`), with offline
  adapters: the rules NLU, the offline Stripe gateway (a local checkout page whose Pay
  button posts a correctly signed webhook), web chat delivery, and SMS/WhatsApp messages
  (staff alerts) printed to the terminal, or sent for real when `.env` has the Twilio or
  WhatsApp credentials (`TWILIO_ACCOUNT_SID` and `TWILIO_AUTH_TOKEN`,
  `WHATSAPP_ACCESS_TOKEN`).
- One HTTP server: a web chat page per business, the checkout page, the FSM diagram, and
  the owner's dashboard (`/admin`), with a fresh admin key per business printed at start.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx
import uvicorn
from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse

from libs.bus.amqp import AmqpTransport
from libs.bus.memory import MemoryTransport
from libs.bus.outbox import OutboxRelay
from libs.bus.transport import Transport
from libs.business.fixtures import default_businesses_dir
from libs.business.profile import BusinessProfile, ProfileError, load_profile
from libs.business.service import import_profile
from libs.clock import SystemClock
from libs.db.session import make_engine, make_session_factory
from libs.logs import configure_logging, mask_phone
from libs.runtime import event_loop
from libs.runtime.definition import Wiring
from libs.runtime.host import ServiceHost
from libs.runtime.process import EmbeddedServer
from libs.runtime.web import NO_OPENTELEMETRY, SharedPort
from libs.settings import Settings, get_settings
from receptionist import migrate
from receptionist.bootstrap import compose, full_topology
from services.fsm.machine import diagram
from services.ingress.deps import IngressConfig, IngressDeps
from services.ingress.webchat_guard import WebChatConfig
from services.nlu.handlers import NluDeps
from services.nlu.rules import RulesExtractor
from services.notifier.adapters.base import OutboundMessage
from services.notifier.adapters.by_channel import ByChannel
from services.notifier.adapters.webchat import WebChatChannel
from services.notifier.definition import default_template, provider_channels, retry_policy
from services.notifier.handlers import NotifierDeps
from services.notifier.sending import RetryPolicy
from services.payments.adapters.offline import OfflineGateway, checkout_page_router
from services.payments.handlers import PaymentsDeps

log = logging.getLogger(__name__)

TICK_S = 1.0
SHUTDOWN_GRACE_S = 3
DEMO_DATABASE = "receptionist"


class ConsoleChannel:
    """SMS and WhatsApp in the demo: printed (staff alerts, mostly), never sent."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    async def send(self, message: OutboundMessage) -> str:
        who = "staff" if message.audience == "staff" else "customer"
        print(f"\n[{message.channel} to {who} {mask_phone(message.to)}] {message.text}",
              file=self.out, flush=True)
        return f"console-{secrets.token_hex(6)}"


# --- the database ----------------------------------------------------------------------------


def demo_dir() -> Path:
    return Path(os.environ.get("RECEPTIONIST_DEMO_DIR", "~/.receptionist-demo")).expanduser()


@contextlib.contextmanager
def embedded_postgres(fresh: bool) -> Any:
    """An embedded PostgreSQL (pgserver) with its data in the demo folder."""
    from pgserver.postgres_server import get_server

    data = demo_dir() / "pgdata"
    if fresh and data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True, exist_ok=True)
    server = get_server(data, cleanup_mode="stop")
    try:
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DEMO_DATABASE}';")
        if "1 row" not in exists:
            server.psql(f'CREATE DATABASE "{DEMO_DATABASE}";')
        yield server.get_uri(DEMO_DATABASE)
    finally:
        server.cleanup()


async def empty_schema(url: str) -> None:
    """`--fresh` on a database of the operator's own: drop every table of ours."""
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await engine.dispose()


# --- the system ------------------------------------------------------------------------------


@dataclass
class Demo:
    host: ServiceHost
    app: SharedPort
    public_url: str
    profiles: list[BusinessProfile]
    transport: Transport
    admin_keys: dict[str, str] = field(default_factory=dict)
    """A fresh admin API key per business (`/admin`), made at each start."""


DEMO_KEY_LABEL = "demo"


async def demo_keys(sessions: Any, profiles: Sequence[BusinessProfile]) -> dict[str, str]:
    """One admin key per business for this run; the previous run's demo keys are revoked."""
    from datetime import UTC, datetime

    from services.admin import security

    now = datetime.now(UTC)
    keys = {}
    async with sessions() as session, session.begin():
        for profile in profiles:
            for old in await security.list_keys(session, profile.id):
                if old.label == DEMO_KEY_LABEL:
                    await security.revoke_key(session, old.id, now)
            _, keys[profile.id] = await security.create_key(session, profile.id, now,
                                                            DEMO_KEY_LABEL)
    return keys


def demo_profiles(files: Sequence[str]) -> list[BusinessProfile]:
    paths = [Path(f) for f in files] or sorted(default_businesses_dir().glob("*.yaml"))
    if not paths:
        raise SystemExit(f"no business profiles in {default_businesses_dir()} "
                         "(use --business FILE)")
    try:
        return [load_profile(p) for p in paths]
    except ProfileError as exc:
        raise SystemExit(str(exc)) from None


def overrides(transport: Transport, sessions: Any, clock: SystemClock, public_url: str,
              stripe_secret: str, gateway: OfflineGateway, out: TextIO,
              webchat: WebChatConfig | None = None,
              settings: Settings | None = None) -> dict[str, Any]:
    """The offline adapters the demo swaps in, by service name. SMS and WhatsApp go to the
    real senders when `.env` has their credentials (`settings`), else to the terminal."""
    console = ConsoleChannel(out)
    senders = provider_channels(settings.model_copy(update={"public_base_url": public_url})
                                ) if settings is not None else {}  # status callbacks: here
    webhooks = _provider_secrets(settings)
    for name in senders:
        print(f"{name}: messages are sent for real (credentials in the environment)",
              file=out, flush=True)
    return {
        "ingress": IngressDeps(transport, sessions, clock, IngressConfig(
            public_base_url=public_url, stripe_webhook_secret=stripe_secret,
            webchat=webchat or WebChatConfig(),
            twilio_auth_token=webhooks.get("twilio_auth_token"),
            whatsapp_app_secret=webhooks.get("whatsapp_app_secret"),
            whatsapp_verify_token=webhooks.get("whatsapp_verify_token"))),
        "nlu": NluDeps(RulesExtractor()),
        "payments": PaymentsDeps(gateway),
        "notifier": NotifierDeps(
            ByChannel({"web": WebChatChannel(), "sms": console, "whatsapp": console,
                       **senders}),
            retry=retry_policy(settings) if settings is not None else RetryPolicy(),
            template=default_template(settings) if settings is not None else None),
    }


def _provider_secrets(settings: Settings | None) -> dict[str, str | None]:
    """Twilio's and WhatsApp's webhook secrets from `.env` (blank: unset), so real inbound
    messages reach the demo when it is exposed at PUBLIC_BASE_URL."""
    if settings is None:
        return {}
    values = {"twilio_auth_token": settings.twilio_auth_token,
              "whatsapp_app_secret": settings.whatsapp_app_secret,
              "whatsapp_verify_token": settings.whatsapp_verify_token}
    return {k: v.strip() if v and v.strip() else None for k, v in values.items()}


@contextlib.asynccontextmanager
async def running(args: argparse.Namespace, out: TextIO) -> AsyncIterator[Demo]:
    """Database, migrations, businesses, bus, every service, the HTTP server and the timer
    ticker; everything stopped in order on exit."""
    # web chat sessions are signed with a secret of this run (sessions of an earlier run are
    # refused, and the page asks for a new one)
    settings = get_settings().model_copy(update={"webchat_secret": secrets.token_hex(32)})
    public_url = args.public_url or f"http://localhost:{args.port}"
    profiles = demo_profiles(args.profiles or [])
    with contextlib.ExitStack() as stack:
        if "database_url" in settings.model_fields_set:
            url = settings.database_url
            if args.fresh:
                await empty_schema(url)
        else:
            url = stack.enter_context(embedded_postgres(args.fresh))
        await migrate.upgrade(url)
        engine = make_engine(url, pool_size=5)
        sessions = make_session_factory(engine)
        async with sessions() as session, session.begin():
            for profile in profiles:
                await import_profile(session, profile)
        admin_keys = await demo_keys(sessions, profiles)
        transport = bus(settings)
        await transport.connect()
        await transport.declare()
        clock = SystemClock()
        wiring = Wiring(settings=settings, clock=clock, sessions=sessions, transport=transport,
                        relay=OutboxRelay(sessions, transport, clock, poll_interval_s=0.1))
        stripe_secret = f"whsec_demo_{secrets.token_hex(16)}"
        gateway = OfflineGateway(public_url)
        host = compose(wiring, overrides(transport, sessions, clock, public_url,
                                         stripe_secret, gateway, out,
                                         WebChatConfig.from_settings(settings), settings))
        own = FastAPI(title="Receptionist demo", telemetry=NO_OPENTELEMETRY)
        app = SharedPort([own, *host.apps.values()])
        own.include_router(checkout_page_router(gateway, stripe_secret, public_url,
                                                transport=httpx.ASGITransport(app=app)))
        own.include_router(pages(profiles))
        await host.start(prefetch=20)
        server = EmbeddedServer(uvicorn.Config(
            app, host=args.host, port=args.port, http=event_loop.HTTP_PARSER, log_config=None,
            access_log=False,
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S))  # open reply streams end then
        serving = asyncio.create_task(server.serve())
        ticking = asyncio.create_task(tick_forever(host))
        try:
            while not server.started:
                if serving.done():
                    await serving  # the port was taken: say so
                    raise SystemExit(f"could not serve on {args.host}:{args.port}")
                await asyncio.sleep(0.05)
            yield Demo(host, app, public_url, profiles, transport, admin_keys)
        finally:
            ticking.cancel()
            server.should_exit = True
            await asyncio.gather(serving, ticking, return_exceptions=True)
            await host.stop()
            await transport.close()
            await engine.dispose()


def bus(settings: Settings) -> Transport:
    topology = full_topology(settings.bus_prefix, settings.bus_retry_delays_ms,
                             settings.bus_delivery_limit)
    if "amqp_url" in settings.model_fields_set:
        return AmqpTransport(settings.amqp_url, topology)
    return MemoryTransport(topology)


async def tick_forever(host: ServiceHost) -> None:
    """Hold expiries and session timeouts fire on the real clock."""
    while True:
        try:
            await host.tick()
        except Exception:
            log.exception("timer tick failed; the next one retries")
        await asyncio.sleep(TICK_S)


# --- pages -----------------------------------------------------------------------------------


def pages(profiles: Sequence[BusinessProfile]) -> APIRouter:
    router = APIRouter()
    links = "".join(f'<li><a href="/webchat/{p.id}">{p.name}</a> ({p.timezone})</li>'
                    for p in profiles)

    @router.get("/", response_class=HTMLResponse)
    async def index() -> str:
        return ("<!doctype html><meta name=viewport content='width=device-width'>"
                "<title>Receptionist demo</title><h1>Receptionist demo</h1>"
                f"<p>Chat with a business:</p><ul>{links}</ul>"
                "<p><a href='/diagram'>The conversation state machine</a></p>"
                "<p><a href='/admin'>The owner's dashboard</a> (sign in with a key the demo "
                "printed)</p>")

    @router.get("/diagram", response_class=HTMLResponse)
    async def state_diagram() -> str:
        return ("<!doctype html><meta name=viewport content='width=device-width'>"
                "<title>State machine</title><h1>The conversation state machine</h1>"
                "<p>Every (state, input) pair has an entry; this prints the table (paste it "
                "into any Mermaid viewer to draw it).</p>"
                f"<pre id=diagram>{diagram()}</pre>")

    return router


def banner(demo: Demo) -> str:
    bus_name = "RabbitMQ" if isinstance(demo.transport, AmqpTransport) else "in-memory bus"
    lines = ["", "Receptionist demo is running (" + bus_name + "). Open:"]
    lines += [f"  web chat, {p.name}:".ljust(44) + f"{demo.public_url}/webchat/{p.id}"
              for p in demo.profiles]
    lines += ["  checkout pages (offline Stripe):".ljust(44) + f"{demo.public_url}/checkout/...",
              "  the state machine:".ljust(44) + f"{demo.public_url}/diagram"]
    if demo.admin_keys:
        lines += ["  the owner's dashboard (keys below):".ljust(44)
                  + f"{demo.public_url}/admin"]
        lines += [f"    admin key, {p.name}:".ljust(44) + demo.admin_keys[p.id]
                  for p in demo.profiles if p.id in demo.admin_keys]
    lines += ["Staff alerts and SMS/WhatsApp messages are printed here. Ctrl-C stops.", ""]
    return "\n".join(lines)


# --- the commands ----------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser, *, chat: bool = False) -> None:
    """`demo --business FILE...`; `chat --business ID [--profile FILE...]`."""
    parser.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    parser.add_argument("--host", default="127.0.0.1", help="bind address")
    parser.add_argument("--public-url", help="the URL people reach the demo at "
                                             "(default http://localhost:PORT)")
    parser.add_argument("--fresh", action="store_true",
                        help="start from an empty database (data is otherwise kept)")
    files = "--profile" if chat else "--business"
    parser.add_argument(files, dest="profiles", action="append", metavar="FILE",
                        help="a business profile to load (repeatable; default: the examples)")
    if chat:
        parser.add_argument("--business", dest="chat_business", default="salon",
                            metavar="ID", help="the business to talk to (default: salon)")


def run_demo(args: argparse.Namespace) -> int:
    configure_logging(os.environ.get("LOG_LEVEL", "WARNING"), "text")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with running(args, sys.stdout) as demo:
            print(banner(demo), flush=True)
            await stop.wait()
            print("stopping...", flush=True)

    event_loop.run(main())
    return 0


def run_chat(args: argparse.Namespace) -> int:
    """The same conversation in the terminal: what you type goes in as web chat messages,
    the receptionist's replies are printed as they arrive (links open in a browser)."""
    configure_logging(os.environ.get("LOG_LEVEL", "WARNING"), "text")

    async def main() -> None:
        async with running(args, sys.stdout) as demo:
            ids = [p.id for p in demo.profiles]
            if args.chat_business not in ids:
                raise SystemExit(f"no business {args.chat_business!r} (have: {', '.join(ids)})")
            profile = next(p for p in demo.profiles if p.id == args.chat_business)
            print(f"Chatting with {profile.name}. Type a message; Ctrl-D to quit.\n"
                  f"(Checkout links open at {demo.public_url}.)", flush=True)
            await converse(demo, profile.id, sys.stdin, sys.stdout)

    with contextlib.suppress(KeyboardInterrupt):
        event_loop.run(main())
    return 0


class ChatSession:
    """`receptionist chat`'s web chat session, issued by ingress like the page's; renewed
    (a new conversation) when it has expired."""

    def __init__(self, client: httpx.AsyncClient, business_id: str) -> None:
        self.client = client
        self.path = f"/webchat/{business_id}"
        self.token = ""

    async def renew(self) -> None:
        answer = await self.client.post(f"{self.path}/sessions")
        answer.raise_for_status()
        self.token = answer.json()["session"]

    async def say(self, text: str) -> httpx.Response:
        if not self.token:
            await self.renew()
        answer = await self.client.post(f"{self.path}/messages",
                                        json={"session": self.token, "text": text})
        if answer.status_code == 401:
            await self.renew()
            answer = await self.client.post(f"{self.path}/messages",
                                            json={"session": self.token, "text": text})
        return answer


async def converse(demo: Demo, business_id: str, stdin: TextIO, out: TextIO) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=demo.app),
                                 base_url=demo.public_url) as client:
        chat = ChatSession(client, business_id)
        await chat.renew()
        printing = asyncio.create_task(print_replies(chat, out))
        try:
            while True:
                line = await asyncio.to_thread(stdin.readline)
                if not line:
                    break
                text = line.strip()
                if not text:
                    continue
                answer = await chat.say(text)
                if answer.status_code != 202:
                    print(f"(not sent: {answer.status_code} {answer.text})", file=out,
                          flush=True)
        finally:
            await asyncio.sleep(1.0)  # let the last reply arrive
            printing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await printing


async def print_replies(chat: ChatSession, out: TextIO) -> None:
    """Polls the reply stream's JSON form with the session's token, as a client would."""
    seen, token = 0, chat.token
    while True:
        if chat.token != token:  # a new session: its replies start anew
            seen, token = 0, chat.token
        answer = await chat.client.get(f"{chat.path}/sessions/{token}/messages",
                                       params={"after": seen})
        if answer.status_code == 200:
            for reply in answer.json():
                seen = reply["id"]
                print(f"receptionist> {reply['text']}", file=out, flush=True)
        await asyncio.sleep(0.1)

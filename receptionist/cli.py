"""`receptionist`: the one console script (`migrate`, `business import`, `nlu eval`, ...)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from libs.settings import get_settings


def _migrate(args: argparse.Namespace) -> int:
    from receptionist import migrate

    url = args.database_url or get_settings().database_url
    migrate.upgrade_sync(url, args.revision)
    print(f"database at {url.split('@')[-1]} is at revision {args.revision}")
    return 0


def _business_import(args: argparse.Namespace) -> int:
    from libs.business.profile import ProfileError
    from libs.business.service import import_file
    from libs.db.session import make_engine, make_session_factory

    async def run() -> int:
        engine = make_engine(args.database_url or get_settings().database_url, pool_size=1)
        failed = 0
        try:
            sessions = make_session_factory(engine)
            for path in args.files:
                try:
                    business_id, outcome = await import_file(sessions, Path(path))
                except ProfileError as exc:
                    failed += 1
                    print(f"{path}: refused, nothing was written:", file=sys.stderr)
                    for problem in exc.problems:
                        print(f"  - {problem}", file=sys.stderr)
                    continue
                print(f"{path}: business {business_id!r} {outcome}")
        finally:
            await engine.dispose()
        return 1 if failed else 0

    return asyncio.run(run())


def _nlu_eval(args: argparse.Namespace) -> int:
    from services.nlu.evaluate import run_eval

    return run_eval(Path(args.file), args.extractor,
                    Path(args.businesses) if args.businesses else None,
                    Path(args.predictions) if args.predictions else None)


def _scenario_run(args: argparse.Namespace) -> int:
    from receptionist.scenarios import runner
    from receptionist.scenarios.driver import DriverFactory
    from receptionist.scenarios.system import driver_factory

    databases = []

    def build(parsed: argparse.Namespace) -> DriverFactory:
        factory, dbs = driver_factory(amqp_url=parsed.amqp)
        databases.append(dbs)
        return factory

    try:
        return runner.main(args, build)
    finally:
        for dbs in databases:
            asyncio.run(dbs.close())


def _bus_declare(args: argparse.Namespace) -> int:
    """Declare every built service's queues, so messages published before a service first
    starts wait for it (deployments run this with the migrations); a service switched off
    (calendar without Google) gets none."""
    from libs.bus.amqp import AmqpTransport
    from receptionist.bootstrap import DEFINITIONS, full_topology

    settings = get_settings()
    topology = full_topology(settings.bus_prefix, settings.bus_retry_delays_ms,
                             settings.bus_delivery_limit, settings=settings)

    async def run() -> None:
        transport = AmqpTransport(args.amqp_url or settings.amqp_url, topology)
        await transport.connect()
        try:
            await transport.declare()
        finally:
            await transport.close()

    asyncio.run(run())
    for consumer, types in sorted(topology.bindings.items()):
        print(f"{topology.queue(consumer)}: {', '.join(sorted(types))}")
    for off in (d for d in DEFINITIONS if d.consumes and not d.is_enabled(settings)):
        print(f"{topology.queue(off.name)}: none ({off.off_note})")
    return 0


def _bus_users(args: argparse.Namespace) -> int:
    """Give each service its own broker user, which may publish only what it owns."""
    from libs.bus.users import (
        BrokerUsersError,
        apply_grants,
        check_passwords,
        grant_for,
        parse_passwords,
    )
    from receptionist.bootstrap import DEFINITIONS

    settings = get_settings()
    services = [d.name for d in DEFINITIONS]
    try:
        passwords = parse_passwords(settings.bus_user_passwords)
    except BrokerUsersError as exc:
        print(f"refused, no user was changed: {exc}", file=sys.stderr)
        return 1
    problems = check_passwords(services, passwords)
    if problems:
        print("refused, no user was changed:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    grants = {s: grant_for(settings.bus_prefix, s) for s in services}
    try:
        asyncio.run(apply_grants(args.amqp_url or settings.amqp_url, grants, passwords,
                                 management_url=settings.bus_management_url))
    except BrokerUsersError as exc:
        print(f"broker users not applied: {exc}", file=sys.stderr)
        return 1
    for grant in grants.values():
        print(f"{grant.user}: publishes {grant.topic_write} on {grant.exchange}")
    return 0


def _dead(args: argparse.Namespace) -> int:
    """`dead list` shows a service's dead messages; `dead replay` sends them back to work
    (after the fix that makes them pass is deployed)."""
    from libs.bus.amqp import AmqpTransport
    from receptionist.bootstrap import DEFINITIONS, full_topology

    settings = get_settings()
    topology = full_topology(settings.bus_prefix, settings.bus_retry_delays_ms,
                             settings.bus_delivery_limit, settings=settings)
    if args.service not in topology.bindings:
        off = next((d.off_note for d in DEFINITIONS
                    if d.name == args.service and d.consumes
                    and not d.is_enabled(settings)), None)
        why = f" here ({off})" if off else ""
        print(f"no service {args.service!r} consumes from the bus{why}; one of: "
              f"{', '.join(sorted(topology.bindings))}", file=sys.stderr)
        return 2

    async def run() -> int:
        transport = AmqpTransport(args.amqp_url or settings.amqp_url, topology)
        await transport.connect()
        try:
            if args.dead_command == "replay":
                ids = frozenset(args.id) if args.id else None
                moved = await transport.replay_dead(args.service, ids)
                print(f"replayed {moved} message(s) to {topology.queue(args.service)}")
                return 0 if moved or ids is None else 1
            letters = await transport.peek_dead(args.service)
            for letter in letters:
                print(f"{letter.message_id}  {letter.routing_key}  {letter.reason}")
                for line in letter.error.splitlines()[-3:]:
                    print(f"    {line}")
            print(f"{len(letters)} dead message(s) in {topology.dead_queue(args.service)}")
            return 0
        finally:
            await transport.close()

    return asyncio.run(run())


def _prune(args: argparse.Namespace) -> int:
    """Delete inbox, outbox, timer and webhook rows older than RETENTION_DAYS."""
    from datetime import UTC, datetime, timedelta

    from libs.db.session import make_engine, make_session_factory
    from libs.runtime.host import prune
    from receptionist.bootstrap import DEFINITIONS

    settings = get_settings()

    async def run() -> int:
        engine = make_engine(args.database_url or settings.database_url, pool_size=1)
        try:
            cutoff = datetime.now(UTC) - timedelta(days=settings.retention_days)
            return await prune(make_session_factory(engine), DEFINITIONS, cutoff)
        finally:
            await engine.dispose()

    print(f"pruned {asyncio.run(run())} rows older than {settings.retention_days} days")
    return 0


def _booking_mark(args: argparse.Namespace) -> int:
    """Staff: a booking was a no-show, or was kept (corrects an earlier mark too)."""
    from datetime import UTC, datetime

    from libs.db.session import make_engine, make_session_factory
    from services.fsm.staff import MarkRefused, mark_booking

    async def run() -> int:
        engine = make_engine(args.database_url or get_settings().database_url, pool_size=1)
        try:
            async with make_session_factory(engine)() as session, session.begin():
                booking = await mark_booking(session, args.reference, args.outcome,
                                             datetime.now(UTC))
                print(f"booking {booking.reference} ({booking.service}, "
                      f"{booking.starts_at.isoformat()}) is {booking.status}")
        except MarkRefused as exc:
            print(f"refused: {exc}", file=sys.stderr)
            return 1
        finally:
            await engine.dispose()
        return 0

    return asyncio.run(run())


def _business_key(args: argparse.Namespace) -> int:
    """`business key create ID` prints a new key once; `list ID` shows a business's keys
    (never the keys); `revoke KEY_ID` refuses it from the next request on."""
    from datetime import UTC, datetime

    from libs.db.session import make_engine, make_session_factory
    from services.admin import security
    from services.admin.service import audit

    async def run() -> int:
        engine = make_engine(args.database_url or get_settings().database_url, pool_size=1)
        now = datetime.now(UTC)
        try:
            async with make_session_factory(engine)() as session, session.begin():
                if args.business_key_command == "create":
                    try:
                        row, key = await security.create_key(session, args.business,
                                                             now, args.label)
                    except security.NoSuchBusiness:
                        print(f"refused: no business {args.business!r} (import its profile "
                              "first)", file=sys.stderr)
                        return 1
                    audit(session, security.Staff(row.business_id, row.id), "key.create",
                          row.id, {"label": args.label}, now)
                    print(f"key {row.id} for business {row.business_id!r} (shown once; keep "
                          f"it secret):\n{key}")
                elif args.business_key_command == "revoke":
                    found = await security.revoke_key(session, args.key_id, now)
                    if found is None:
                        print(f"refused: no key {args.key_id!r}", file=sys.stderr)
                        return 1
                    audit(session, security.Staff(found.business_id, found.id), "key.revoke",
                          found.id, {}, now)
                    print(f"key {found.id} of business {found.business_id!r} is revoked")
                else:
                    for row in await security.list_keys(session, args.business):
                        state = (f"revoked {row.revoked_at:%Y-%m-%d %H:%M}Z"
                                 if row.revoked_at else "active")
                        used = (f"last used {row.last_used_at:%Y-%m-%d %H:%M}Z"
                                if row.last_used_at else "never used")
                        print(f"{row.id}  {row.prefix}...  {state}  {used}  {row.label}")
        finally:
            await engine.dispose()
        return 0

    return asyncio.run(run())


def _demo(args: argparse.Namespace) -> int:
    from receptionist.demo import run_demo

    return run_demo(args)


def _chat(args: argparse.Namespace) -> int:
    from receptionist.demo import run_chat

    return run_chat(args)


def _fsm_diagram(args: argparse.Namespace) -> int:
    from services.fsm.machine import diagram

    print(diagram())
    return 0


Command = Callable[[argparse.Namespace], int]
GROUPS = {"business": "business profiles", "nlu": "message understanding",
          "scenario": "conversation scenarios", "bus": "the message bus",
          "fsm": "the conversation state machine",
          "dead": "messages a service gave up on (dead-letter queues)",
          "booking": "bookings, as staff see them",
          "business key": "API keys for the admin API and dashboard (docs/admin.md)"}


class _Commands:
    """`receptionist <group> <command>`: each command says its help, options and runner."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self._top = parser.add_subparsers(dest="command", required=True)
        self._groups: dict[str, Any] = {}

    def add(self, path: str, help: str, run: Command, *, database: bool = False
            ) -> argparse.ArgumentParser:
        *groups, name = path.split(" ")
        where = self._top
        for depth, word in enumerate(groups):  # "business key create": groups in groups
            group = " ".join(groups[:depth + 1])
            if group not in self._groups:
                self._groups[group] = where.add_parser(
                    word, help=GROUPS[group]).add_subparsers(
                    dest=f"{group.replace(' ', '_')}_command", required=True)
            where = self._groups[group]
        p: argparse.ArgumentParser = where.add_parser(name, help=help)
        if database:
            p.add_argument("--database-url", help="defaults to $DATABASE_URL")
        p.set_defaults(run=run)
        return p


def build_parser() -> argparse.ArgumentParser:
    from receptionist import demo
    from receptionist.scenarios.runner import add_arguments

    parser = argparse.ArgumentParser(prog="receptionist", description=__doc__)
    commands = _Commands(parser)
    demo.add_arguments(commands.add(
        "demo", "run everything on this machine: web chat, checkout page, state diagram",
        _demo))
    demo.add_arguments(commands.add("chat", "talk to a business's receptionist in the "
                                            "terminal", _chat), chat=True)
    commands.add("migrate", "upgrade the database schema (Alembic)", _migrate,
                 database=True).add_argument("--revision", default="head")
    commands.add("business import", "create or update businesses from YAML profiles",
                 _business_import, database=True).add_argument("files", nargs="+",
                                                               metavar="FILE")
    p = commands.add("business key create", "create an API key for a business's admin API "
                     "and dashboard (printed once)", _business_key, database=True)
    p.add_argument("business", metavar="ID")
    p.add_argument("--label", default="", help="a note to recognise the key by")
    commands.add("business key list", "a business's API keys (ids and prefixes, never the "
                 "keys)", _business_key, database=True).add_argument("business", metavar="ID")
    commands.add("business key revoke", "revoke an API key (by its id, from `key list`)",
                 _business_key, database=True).add_argument("key_id", metavar="KEY_ID")
    p = commands.add("nlu eval", "score an extractor on a JSON Lines set (docs/nlu.md)",
                     _nlu_eval)
    p.add_argument("file")
    p.add_argument("--extractor", default="rules")
    p.add_argument("--businesses", help="folder of business profiles")
    p.add_argument("--predictions", help="also write one prediction per input row here")
    add_arguments(commands.add("scenario run", "play scenario files against the whole system",
                               _scenario_run))
    commands.add("bus declare", "declare every service's queues on RabbitMQ",
                 _bus_declare).add_argument("--amqp-url", help="defaults to $AMQP_URL")
    commands.add("bus users", "give each service its own broker user (its own routing keys "
                              "only)", _bus_users).add_argument(
        "--amqp-url", help="an administrator's URL; defaults to $AMQP_URL")
    for name, help in (("list", "show a service's dead messages and why they died"),
                       ("replay", "send a service's dead messages back to its queue")):
        p = commands.add(f"dead {name}", help, _dead)
        p.add_argument("service", help="a service with a queue: nlu, fsm, payments, reminders, "
                       "notifier or calendar")
        p.add_argument("--amqp-url", help="defaults to $AMQP_URL")
        if name == "replay":
            p.add_argument("--id", action="append", metavar="MESSAGE_ID",
                           help="replay only this message (repeatable)")
    p = commands.add("booking mark", "mark a booking no_show or completed (staff)",
                     _booking_mark, database=True)
    p.add_argument("reference")
    p.add_argument("outcome", choices=["no_show", "completed"])
    commands.add("prune", "delete bookkeeping older than RETENTION_DAYS", _prune,
                 database=True)
    commands.add("fsm diagram", "print the transition table as a Mermaid diagram",
                 _fsm_diagram)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.run(args)
    return code


def entrypoint() -> None:
    raise SystemExit(main())


if __name__ == "__main__":
    entrypoint()

"""`receptionist`: the one console script (`migrate`, `business import`, `nlu eval`, ...)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

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
    starts wait for it (deployments run this with the migrations)."""
    from libs.bus.amqp import AmqpTransport
    from receptionist.bootstrap import full_topology

    settings = get_settings()
    topology = full_topology(settings.bus_prefix, settings.bus_retry_delays_ms,
                             settings.bus_delivery_limit)

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
    return 0


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


def _fsm_diagram(args: argparse.Namespace) -> int:
    from services.fsm.machine import diagram

    print(diagram())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="receptionist", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("migrate", help="upgrade the database schema (Alembic)")
    p.add_argument("--database-url", help="defaults to $DATABASE_URL")
    p.add_argument("--revision", default="head")
    p.set_defaults(run=_migrate)

    business = commands.add_parser("business", help="business profiles").add_subparsers(
        dest="business_command", required=True)
    p = business.add_parser("import", help="create or update businesses from YAML profiles")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--database-url", help="defaults to $DATABASE_URL")
    p.set_defaults(run=_business_import)

    nlu = commands.add_parser("nlu", help="message understanding").add_subparsers(
        dest="nlu_command", required=True)
    p = nlu.add_parser("eval", help="score an extractor on a JSON Lines set (spec/nlu.md)")
    p.add_argument("file")
    p.add_argument("--extractor", default="rules")
    p.add_argument("--businesses", help="folder of business profiles")
    p.add_argument("--predictions", help="also write one prediction per input row here")
    p.set_defaults(run=_nlu_eval)

    scenario = commands.add_parser("scenario", help="conversation scenarios").add_subparsers(
        dest="scenario_command", required=True)
    p = scenario.add_parser("run", help="play scenario files against the whole system")
    from receptionist.scenarios.runner import add_arguments

    add_arguments(p)
    p.set_defaults(run=_scenario_run)

    bus = commands.add_parser("bus", help="the message bus").add_subparsers(
        dest="bus_command", required=True)
    p = bus.add_parser("declare", help="declare every service's queues on RabbitMQ")
    p.add_argument("--amqp-url", help="defaults to $AMQP_URL")
    p.set_defaults(run=_bus_declare)

    p = commands.add_parser("prune", help="delete bookkeeping older than RETENTION_DAYS")
    p.add_argument("--database-url", help="defaults to $DATABASE_URL")
    p.set_defaults(run=_prune)

    fsm = commands.add_parser("fsm", help="the conversation state machine").add_subparsers(
        dest="fsm_command", required=True)
    p = fsm.add_parser("diagram", help="print the transition table as a Mermaid diagram")
    p.set_defaults(run=_fsm_diagram)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.run(args)
    return code


def entrypoint() -> None:
    raise SystemExit(main())


if __name__ == "__main__":
    entrypoint()

"""Every service is defined once, and the bus is wired from those definitions: what a
service handles is exactly what is routed to it, and every command has one consumer."""

from __future__ import annotations

import ast
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args

import pytest

from libs.bus.memory import MemoryTransport
from libs.bus.transport import PublishError, Topology
from libs.contracts.commands import ReplyRequested
from libs.contracts.events import CalendarSynced, InboundMessageReceived
from libs.contracts.message import Command, Event
from libs.contracts.registry import (
    ALL_MESSAGES,
    PUBLISHERS,
    make_envelope,
    namespace_of,
    types_published_by,
)
from libs.runtime.definition import bindings_of, retired_of
from libs.settings import Settings
from receptionist.bootstrap import DEFINITIONS, full_topology
from services.fsm import machine as m
from services.fsm.effects import APPLIERS

SERVICES = Path(__file__).resolve().parents[2] / "services"
GOOGLE_ON = Settings(google_service_account_path="/run/secrets/google.json")
"""Settings that switch calendar on (its deps are never built here)."""


def consumers_of(message_type: str) -> list[str]:
    return sorted(d.name for d in DEFINITIONS if message_type in d.consumes)


def test_each_service_is_defined_once() -> None:
    names = [d.name for d in DEFINITIONS]
    assert sorted(names) == sorted(set(names))
    assert set(names) == {"ingress", "nlu", "fsm", "payments", "reminders", "notifier",
                          "calendar", "admin"}


def test_every_command_has_exactly_one_consumer() -> None:
    commands = [cls for cls in ALL_MESSAGES if issubclass(cls, Command)]
    assert {cls.TYPE for cls in commands} == {
        "reply.requested.v1", "deposit.requested.v1", "refund.requested.v1",
        "staff.cancel.requested.v1", "staff.move.requested.v1", "staff.remind.requested.v1",
        "staff.takeover.requested.v1"}
    for cls in commands:
        assert len(consumers_of(cls.TYPE)) == 1, (cls.TYPE, consumers_of(cls.TYPE))


def test_every_message_is_either_a_command_or_an_event() -> None:
    for cls in ALL_MESSAGES:
        assert issubclass(cls, Command) != issubclass(cls, Event), cls


def test_services_consume_only_known_messages() -> None:
    known = {cls.TYPE for cls in ALL_MESSAGES}
    for d in DEFINITIONS:
        assert d.consumes <= known, d.name


def test_the_topology_binds_exactly_what_each_service_handles() -> None:
    topology = full_topology("t", (10,), settings=GOOGLE_ON)
    assert topology.bindings == {d.name: d.consumes for d in DEFINITIONS if d.consumes}
    assert "ingress" not in topology.bindings  # it consumes nothing, so it has no queue
    assert "admin" not in topology.bindings  # neither: HTTP only, it publishes staff.*


def test_notifier_no_longer_takes_customer_messages_and_its_queue_is_unbound_from_them(
        ) -> None:
    """WhatsApp's window comes with each reply now: notifier's queue, bound to every
    customer message by an earlier release, is unbound from them when declared."""
    topology = full_topology("t", (10,), settings=GOOGLE_ON)
    assert InboundMessageReceived.TYPE not in topology.bindings["notifier"]
    assert topology.consumers_of(InboundMessageReceived.TYPE) == ["nlu"]
    assert topology.retired == {"notifier": frozenset({InboundMessageReceived.TYPE})}
    assert retired_of([replace(d, retired=d.retired | d.consumes) for d in DEFINITIONS
                       if d.name == "notifier"]) == topology.retired  # never what it handles


def test_a_service_switched_off_has_no_queue_and_is_not_hosted() -> None:
    """calendar without Google credentials: nothing is bound to it, so nothing piles up."""
    off = Settings(google_service_account_path="  ")  # blank counts as unset
    assert "calendar" not in full_topology("t", (10,), settings=off).bindings
    assert "calendar" not in full_topology("t", (10,)).bindings  # the tests' environment
    assert "calendar" in full_topology("t", (10,), settings=GOOGLE_ON).bindings
    assert bindings_of(DEFINITIONS, off) == {
        d.name: d.consumes for d in DEFINITIONS if d.consumes and d.name != "calendar"}
    assert "calendar" in bindings_of(DEFINITIONS)  # without settings: every built one
    calendar = next(d for d in DEFINITIONS if d.name == "calendar")
    assert not calendar.is_enabled(off) and calendar.is_enabled(GOOGLE_ON)
    assert calendar.off_note == "calendar sync is off: GOOGLE_SERVICE_ACCOUNT_PATH is not set"


async def test_the_memory_bus_routes_each_message_only_to_its_handlers() -> None:
    """Publish one of every message type and see where each lands."""
    transport = MemoryTransport(full_topology("t", (10,), settings=GOOGLE_ON))
    await transport.connect()
    await transport.declare()
    for cls in ALL_MESSAGES:
        await transport.publish(b"{}", cls.TYPE, message_id=cls.TYPE)
    for d in DEFINITIONS:
        if not d.consumes:
            continue
        landed: set[str] = set()
        queue = transport._queues[d.name]
        while not queue.empty():
            landed.add(queue.get_nowait().routing_key)
        assert landed == d.consumes, d.name


async def test_a_command_nobody_receives_is_refused_and_an_event_is_dropped() -> None:
    bare = MemoryTransport(Topology(prefix="t", retry_delays_ms=(10,)))
    await bare.connect()
    reply = make_envelope(ReplyRequested(channel="sms", to="+15555550100", text="hi"),
                          business_id="salon", occurred_at=datetime(2026, 12, 1, tzinfo=UTC))
    with pytest.raises(PublishError, match="unroutable"):
        await bare.publish(reply.to_json(), reply.type, message_id="1")
    await bare.publish(b"{}", CalendarSynced.TYPE, message_id="2")  # confirmed, then dropped
    assert [key for key, _ in bare.published] == [CalendarSynced.TYPE]


def test_fsm_applies_every_effect_the_machine_can_ask_for() -> None:
    assert set(APPLIERS) == set(get_args(m.Effect))


def _messages_built_in(package: Path) -> set[str]:
    """Message types whose class is called anywhere in a service's code."""
    by_name = {cls.__name__: cls.TYPE for cls in ALL_MESSAGES}
    built = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else (
                    func.attr if isinstance(func, ast.Attribute) else None)
                if name in by_name:
                    built.add(by_name[name])
    return built


def test_every_namespace_has_one_publisher_and_services_build_only_their_own() -> None:
    """A relay publishes only its own service's rows, and the broker lets a service write
    only its own namespaces: a service building another's message would strand it."""
    assert {namespace_of(cls.TYPE) for cls in ALL_MESSAGES} <= set(PUBLISHERS)
    built_services = {d.name for d in DEFINITIONS}
    for d in DEFINITIONS:
        built = _messages_built_in(SERVICES / d.name)
        assert built <= types_published_by([d.name]), (d.name, built)
    publishing = {d.name for d in DEFINITIONS if _messages_built_in(SERVICES / d.name)}
    assert publishing == {"ingress", "nlu", "fsm", "payments", "reminders", "calendar",
                          "admin"}
    assert set(PUBLISHERS.values()) <= built_services  # every publisher is built


def test_staff_commands_are_admin_s_and_go_to_fsm() -> None:
    """Only admin publishes staff.* (its broker user may write nothing else), and fsm is
    their one consumer."""
    staff = {cls.TYPE for cls in ALL_MESSAGES if namespace_of(cls.TYPE) == "staff"}
    assert staff and types_published_by(["admin"]) == staff
    for message_type in staff:
        assert consumers_of(message_type) == ["fsm"], message_type

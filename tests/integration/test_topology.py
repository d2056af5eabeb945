"""The queues and bindings RabbitMQ really has are the ones the service definitions derive:
a service receives exactly the message types it handles, and nothing else; a service the
settings switch off (calendar, without Google credentials, as in the tests) has no queue."""

from __future__ import annotations

import aio_pika
import pytest

from libs.bus.amqp import AmqpTransport
from libs.bus.transport import Topology
from libs.contracts.registry import ALL_MESSAGES
from receptionist.bootstrap import DEFINITIONS, full_topology

pytestmark = pytest.mark.integration


async def test_each_queue_receives_exactly_what_its_service_handles(
        amqp_transport: AmqpTransport, amqp_url: str, topology: Topology) -> None:
    for cls in ALL_MESSAGES:
        await amqp_transport.publish(b"{}", cls.TYPE, message_id=cls.TYPE)
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        for definition in DEFINITIONS:
            if definition.name not in topology.bindings:
                continue  # consumes nothing, or switched off
            queue = await channel.get_queue(topology.queue(definition.name), ensure=True)
            landed = set()
            while (message := await queue.get(no_ack=True, fail=False)) is not None:
                landed.add(message.routing_key)
            assert landed == definition.consumes, definition.name


def test_every_built_service_that_consumes_is_bound_but_calendar() -> None:
    consuming = {d.name for d in DEFINITIONS if d.consumes}
    assert set(full_topology("t", (10,)).bindings) == consuming - {"calendar"}


async def test_a_service_that_is_not_built_has_no_queue(amqp_transport: AmqpTransport,
                                                         amqp_url: str,
                                                         topology: Topology) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        # audit is not built, ingress and admin consume nothing, calendar is off without
        # Google
        for name in ("calendar", "audit", "ingress", "admin"):
            with pytest.raises(aio_pika.exceptions.ChannelClosed):
                await channel.declare_queue(topology.queue(name), passive=True)
            channel = await connection.channel()

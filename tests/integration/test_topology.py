"""The queues and bindings RabbitMQ really has are the ones the service definitions derive:
a service receives exactly the message types it handles, and nothing else."""

from __future__ import annotations

import aio_pika
import pytest

from libs.bus.amqp import AmqpTransport
from libs.bus.transport import Topology
from libs.contracts.registry import ALL_MESSAGES
from receptionist.bootstrap import DEFINITIONS

pytestmark = pytest.mark.integration


async def test_each_queue_receives_exactly_what_its_service_handles(
        amqp_transport: AmqpTransport, amqp_url: str, topology: Topology) -> None:
    for cls in ALL_MESSAGES:
        await amqp_transport.publish(b"{}", cls.TYPE, message_id=cls.TYPE)
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        for definition in DEFINITIONS:
            if not definition.consumes:
                continue
            queue = await channel.get_queue(topology.queue(definition.name), ensure=True)
            landed = set()
            while (message := await queue.get(no_ack=True, fail=False)) is not None:
                landed.add(message.routing_key)
            assert landed == definition.consumes, definition.name


async def test_a_service_that_is_not_built_has_no_queue(amqp_transport: AmqpTransport,
                                                         amqp_url: str,
                                                         topology: Topology) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        for name in ("reminders", "calendar", "audit", "ingress"):
            with pytest.raises(aio_pika.exceptions.ChannelClosed):
                await channel.declare_queue(topology.queue(name), passive=True)
            channel = await connection.channel()

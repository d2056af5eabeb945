"""One RabbitMQ user per service, allowed to write only the namespaces that service owns.

A forged `payment.succeeded` published by anything but payments is refused by the broker
itself: each service connects as `<prefix>-<service>`, whose topic permission on the
exchange lets it publish only its own routing keys (`libs.contracts.registry.PUBLISHERS`)
and whose resource permissions reach only its own queues. `receptionist bus users` applies
the grants through the management API (docs/operations.md, "Broker users").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

import httpx

from libs.contracts.registry import namespaces_published_by

MIN_PASSWORD_LENGTH = 16


@dataclass(frozen=True)
class Grant:
    """What one service's broker user may do: regexes, as RabbitMQ takes them."""

    user: str
    exchange: str
    configure: str
    write: str
    read: str
    topic_write: str
    topic_read: str = ".*"  # binding its queue to what it consumes


def user_name(prefix: str, service: str) -> str:
    return f"{prefix}-{service}"


def grant_for(prefix: str, service: str) -> Grant:
    """Its own queues (work, retry tiers, dead) and the exchange; on the exchange, only
    routing keys in its own namespaces; the default exchange for its retries and dead
    letters (RabbitMQ checks no routing key there, and it reaches only queues it names)."""
    p, s = re.escape(prefix), re.escape(service)
    own_queues = rf"^{p}\.{s}(\..*)?$"
    exchange = rf"^{p}\.events$"
    namespaces = namespaces_published_by(service)
    topic_write = (rf"^({'|'.join(map(re.escape, namespaces))})\." if namespaces
                   else "^$")  # publishes nothing through the exchange
    return Grant(user=user_name(prefix, service), exchange=f"{prefix}.events",
                 configure=f"{own_queues}|{exchange}",
                 write=rf"{own_queues}|{exchange}|^amq\.default$",
                 read=f"{own_queues}|{exchange}",
                 topic_write=topic_write)


class BrokerUsersError(Exception):
    """The grants could not be applied (what and why are in the message)."""


def parse_passwords(text: str) -> dict[str, str]:
    """BUS_USER_PASSWORDS: a JSON object of service name to password."""
    try:
        parsed = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise BrokerUsersError(f"BUS_USER_PASSWORDS is not JSON: {exc.msg} at character "
                               f"{exc.pos}") from None
    if not isinstance(parsed, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in parsed.items()):
        raise BrokerUsersError("BUS_USER_PASSWORDS must be a JSON object of service name to "
                               "password")
    return parsed


def check_passwords(services: Iterable[str], passwords: Mapping[str, str]) -> list[str]:
    problems = []
    for service in services:
        password = (passwords.get(service) or "").strip()
        if not password:
            problems.append(f"{service}: no password (BUS_USER_PASSWORDS[{service!r}])")
        elif len(password) < MIN_PASSWORD_LENGTH:
            problems.append(f"{service}: password shorter than {MIN_PASSWORD_LENGTH} "
                            "characters")
    return problems


def management_url_for(amqp_url: str, management_url: str = "") -> tuple[str, str, str, str]:
    """(API base URL, vhost, admin user, admin password): the admin is the AMQP URL's
    user; the API is on the broker's host, port 15672, unless given."""
    parts = urlsplit(amqp_url)
    vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
    base = management_url.rstrip("/") or f"http://{parts.hostname or 'localhost'}:15672"
    return base, vhost, unquote(parts.username or ""), unquote(parts.password or "")


async def apply_grants(amqp_url: str, grants: Mapping[str, Grant], passwords: Mapping[str, str],
                       *, management_url: str = "", timeout_s: float = 10.0) -> None:
    """Create or update each user with its password and permissions (idempotent)."""
    base, vhost, admin, admin_password = management_url_for(amqp_url, management_url)
    v = quote(vhost, safe="")
    async with httpx.AsyncClient(base_url=f"{base}/api", auth=(admin, admin_password),
                                 timeout=timeout_s) as client:
        for service, grant in grants.items():
            u = quote(grant.user, safe="")
            await _put(client, f"/users/{u}", {"password": passwords[service], "tags": ""})
            await _put(client, f"/permissions/{v}/{u}", {
                "configure": grant.configure, "write": grant.write, "read": grant.read})
            await _put(client, f"/topic-permissions/{v}/{u}", {
                "exchange": grant.exchange, "write": grant.topic_write,
                "read": grant.topic_read})


async def _put(client: httpx.AsyncClient, path: str, body: Mapping[str, str]) -> None:
    try:
        response = await client.put(path, json=dict(body))
    except httpx.HTTPError as exc:
        raise BrokerUsersError(f"RabbitMQ management API at {client.base_url} did not answer "
                               f"({exc!r}); is the rabbitmq_management plugin enabled?") from exc
    if response.status_code not in (200, 201, 204):
        raise BrokerUsersError(f"PUT {path}: {response.status_code} {response.text[:300]}")

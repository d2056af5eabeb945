"""Where the integration suite finds PostgreSQL and RabbitMQ.

`DATABASE_URL` / `AMQP_URL` when set; else testcontainers when a Docker engine answers;
else the local servers on their default ports. If none answers, the tests fail with a
message saying what was tried: an integration test never skips silently.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Iterator
from urllib.parse import urlparse

LOCAL_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def _answers(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1",
                                       parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def _server(env: str, port: int, container: Callable[[], Iterator[str]], local: str,
            what: str, start: str) -> Iterator[str]:
    """The URL of `what`: `$env`, else a testcontainer, else the local server; else fail."""
    if url := os.environ.get(env):
        if not _answers(url, port):
            raise RuntimeError(f"{env} is set but nothing answers at {_where(url)}")
        yield url
    elif _docker_answers():
        yield from container()
    elif _answers(local, port):
        yield local
    else:
        raise RuntimeError(
            f"no {what} for the integration tests: {env} is unset, no Docker engine answers "
            f"for testcontainers, and nothing listens on 127.0.0.1:{port}. Start one with "
            f"`{start}`.")


def _postgres_container() -> Iterator[str]:
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer("postgres:15", driver="psycopg") as pg:
        yield pg.get_connection_url()


def _rabbitmq_container() -> Iterator[str]:
    from testcontainers.rabbitmq import RabbitMqContainer

    with RabbitMqContainer("rabbitmq:3.13") as rmq:
        params = rmq.get_connection_params()
        yield f"amqp://guest:guest@{params.host}:{params.port}/"


def postgres_url() -> contextlib.AbstractContextManager[str]:
    return _server("DATABASE_URL", 5432, _postgres_container, LOCAL_DATABASE_URL,
                   "PostgreSQL", "pg_ctlcluster --skip-systemctl-redirect "
                   "$(ls /etc/postgresql) main start")


def rabbitmq_url() -> contextlib.AbstractContextManager[str]:
    return _server("AMQP_URL", 5672, _rabbitmq_container, LOCAL_AMQP_URL, "RabbitMQ",
                   "rabbitmq-server -detached")


def _where(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.hostname}:{parsed.port}"


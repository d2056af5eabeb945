"""Where the integration suite finds PostgreSQL and RabbitMQ.

`DATABASE_URL` / `AMQP_URL` when set; else testcontainers when a Docker engine answers;
else the local servers on their default ports. If none answers, the tests fail with a
message saying what was tried: an integration test never skips silently.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
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
def postgres_url() -> Iterator[str]:
    if url := os.environ.get("DATABASE_URL"):
        if not _answers(url, 5432):
            raise RuntimeError(f"DATABASE_URL is set but nothing answers at {_where(url)}")
        yield url
        return
    if _docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:15", driver="psycopg") as pg:
            yield pg.get_connection_url()
        return
    if _answers(LOCAL_DATABASE_URL, 5432):
        yield LOCAL_DATABASE_URL
        return
    raise RuntimeError(
        "no PostgreSQL for the integration tests: DATABASE_URL is unset, no Docker engine "
        "answers for testcontainers, and nothing listens on 127.0.0.1:5432. Start one with "
        "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`.")


@contextlib.contextmanager
def rabbitmq_url() -> Iterator[str]:
    if url := os.environ.get("AMQP_URL"):
        if not _answers(url, 5672):
            raise RuntimeError(f"AMQP_URL is set but nothing answers at {_where(url)}")
        yield url
        return
    if _docker_answers():
        from testcontainers.rabbitmq import RabbitMqContainer

        with RabbitMqContainer("rabbitmq:3.13") as rmq:
            params = rmq.get_connection_params()
            yield f"amqp://guest:guest@{params.host}:{params.port}/"
        return
    if _answers(LOCAL_AMQP_URL, 5672):
        yield LOCAL_AMQP_URL
        return
    raise RuntimeError(
        "no RabbitMQ for the integration tests: AMQP_URL is unset, no Docker engine answers "
        "for testcontainers, and nothing listens on 127.0.0.1:5672. Start one with "
        "`rabbitmq-server -detached`.")


def _where(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.hostname}:{parsed.port}"

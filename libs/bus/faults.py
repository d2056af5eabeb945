"""Which failures are transient (an outage: retry for as long as it lasts) and which are
permanent (a bug or a bad message: a few retries, then the dead-letter queue).

Transient: the database or the broker unreachable, too many connections, a serialization
conflict or deadlock, the pool exhausted, a network timeout, a provider's 429/5xx. Anything
else is a bug until proven otherwise (docs/architecture.md, "Delivery guarantees").
"""

from __future__ import annotations

import asyncio

import psycopg
import psycopg.errors as pg
from sqlalchemy import exc as sa

from libs.bus.transport import PublishError

_PG_TRANSIENT: tuple[type[BaseException], ...] = (
    psycopg.OperationalError,            # connection refused, lost, too many clients...
    pg.SerializationFailure, pg.DeadlockDetected, pg.LockNotAvailable,
    pg.AdminShutdown, pg.CannotConnectNow, pg.CrashShutdown, pg.TooManyConnections,
    pg.QueryCanceled, pg.ConnectionException,
)


class Transient(Exception):
    """Raise (or wrap) to say: this will work later; do not give up on the message."""


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, Transient | PublishError | ConnectionError | TimeoutError |
                  asyncio.TimeoutError | OSError):
        return True
    if isinstance(exc, sa.TimeoutError | sa.DisconnectionError):
        return True  # the pool had no connection to give within its timeout
    if isinstance(exc, sa.DBAPIError):
        if exc.connection_invalidated:
            return True
        return exc.orig is not None and isinstance(exc.orig, _PG_TRANSIENT)
    if isinstance(exc, _PG_TRANSIENT):
        return True
    if getattr(exc, "retryable", False) is True:  # e.g. a payment provider's 429 or 5xx
        return True
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and is_transient(cause)

"""Transaction-scoped advisory locks: what keeps one customer's (or recipient's) work in
order across replicas. PgBouncer's transaction pooling allows them (docs/scaling.md)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import Function

from libs.db.direct import Db, Direct


def xact_lock(key: ColumnElement[Any]) -> Function[Any]:
    """The SQL that takes the transaction lock named `key`, hashed as every lock here is, so
    a statement can take it along with its own work and still wait for the same lock
    `lock_until_commit` takes."""
    return func.pg_advisory_xact_lock(func.hashtextextended(key, 0))


_LOCK = Direct.of(select(xact_lock(bindparam("key"))))
"""Built once, run through psycopg: several services take one on every message
(docs/scaling.md, "Statements built once", "Statements through psycopg")."""


async def lock_until_commit(db: Db, key: str) -> None:
    """Wait for, then hold to the end of the transaction, the lock named `key` (two keys
    whose hashes collide merely wait for each other)."""
    await _LOCK.scalar(db, {"key": key})

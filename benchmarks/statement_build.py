"""What building a SQLAlchemy statement costs in CPU, against reusing one built once.

    .venv/bin/python benchmarks/statement_build.py

Prints microseconds per statement for fsm's turn opening and the timer upsert, built per
call as they were, and the cost of a prebuilt statement's cache key (computed once, then
remembered on the object). docs/scaling.md, "Statements built once", quotes it.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from libs.timers.models import Timer
from services.fsm.models import BlockedTime, Conversation, Customer
from services.fsm.turns import _OPEN_TURN

NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


def open_turn_built_per_call() -> Any:
    window = (BlockedTime.business_id == "salon", BlockedTime.starts_at < NOW + timedelta(days=60),
              BlockedTime.ends_at > NOW - timedelta(days=1))
    blocked = [select(column).where(*window).scalar_subquery()
               for column in (BlockedTime.starts_at, BlockedTime.ends_at)]
    return (select(Customer, Conversation, *blocked)
            .join(Conversation, Conversation.customer_id == Customer.id)
            .where(Customer.business_id == "salon", Customer.address == "+15555550101")
            .with_for_update(of=Conversation))


def timer_upsert_built_per_call() -> Any:
    stmt = insert(Timer).values(owner="fsm", kind="session_timeout", key="k",
                                business_id="salon", due_at=NOW, payload={})
    return stmt.on_conflict_do_update(
        index_elements=[Timer.owner, Timer.key],
        set_={"due_at": stmt.excluded.due_at, "payload": stmt.excluded.payload})


def per_call_us(make: Callable[[], Any], n: int = 2000) -> float:
    """Build the statement and compute its cache key, as executing it would."""
    return timeit.timeit(lambda: make()._generate_cache_key(), number=n) / n * 1e6


def main() -> None:
    print(f"fsm turn opening, built per call:  {per_call_us(open_turn_built_per_call):7.1f} us")
    print(f"timer upsert, built per call:      {per_call_us(timer_upsert_built_per_call):7.1f} us")
    print(f"turn opening, built once (its key): {per_call_us(lambda: _OPEN_TURN):6.1f} us")


if __name__ == "__main__":
    main()

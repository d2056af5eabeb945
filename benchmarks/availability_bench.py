"""Benchmark: free start times over 14 days at capacity 3 with 500 live bookings.

Issue acceptance: under 5 ms. Builds the case from the example barber (capacity 3, 10-minute
grid) with a seeded RNG, so every run measures the same work; each timed call includes
indexing the bookings, as the fsm does per turn, under the collector settings fsm runs
with (`libs.runtime.event_loop.settle_heap`).

    .venv/bin/python benchmarks/availability_bench.py [--runs N]

Prints p50/p99 in ms, then one JSON line: {"availability_ms": <p99>}.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from libs.business.profile import BusinessProfile, load_profile  # noqa: E402
from libs.runtime.event_loop import settle_heap  # noqa: E402
from services.fsm.availability import Busy, free_starts  # noqa: E402

BARBER = REPO / "examples" / "businesses" / "barber.yaml"
DAYS = 14
BOOKINGS = 500
FIRST_DAY = date(2026, 12, 7)  # a Monday: no DST change in the 14 days


def make_bookings(profile: BusinessProfile, rng: random.Random) -> list[Busy]:
    """`BOOKINGS` non-overlapping (per resource) bookings on the grid, inside opening hours."""
    tz = profile.tz
    slot = profile.booking.slot_minutes
    capacity = profile.booking.capacity
    taken: dict[int, list[tuple[datetime, datetime]]] = {r: [] for r in range(1, capacity + 1)}
    days = [FIRST_DAY + timedelta(days=i) for i in range(DAYS)]
    open_days = [d for d in days if not profile.is_closed(d)]
    busy: list[Busy] = []
    attempts = 0
    while len(busy) < BOOKINGS:
        attempts += 1
        if attempts > 200_000:
            raise RuntimeError(f"could only place {len(busy)} bookings")
        day = rng.choice(open_days)
        opens, closes = rng.choice(profile.intervals_on(day.weekday()))
        service = rng.choice(profile.services)
        first = opens.hour * 60 + opens.minute
        last = closes.hour * 60 + closes.minute - service.duration_minutes
        minute = rng.randrange(first, last + 1)
        minute -= minute % slot
        if minute < first:
            continue
        start = datetime.combine(day, datetime.min.time(), tzinfo=tz) + timedelta(minutes=minute)
        start = start.astimezone(UTC)
        end = start + timedelta(minutes=service.duration_minutes)
        resource = rng.randint(1, capacity)
        if any(s < end and start < e for s, e in taken[resource]):
            continue
        taken[resource].append((start, end))
        busy.append((resource, start, end))
    rng.shuffle(busy)
    return busy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    profile = load_profile(BARBER)
    assert profile.booking.capacity == 3, "the case is capacity 3"
    service = profile.services[0]
    busy = make_bookings(profile, random.Random(20261207))
    now = datetime.combine(FIRST_DAY, datetime.min.time(), tzinfo=profile.tz)
    now = (now + timedelta(hours=8)).astimezone(UTC)
    last_day = FIRST_DAY + timedelta(days=DAYS - 1)

    result = free_starts(profile, service, FIRST_DAY, last_day, now, busy)
    settle_heap()  # as fsm's process is: its collector would otherwise run inside the calls
    for _ in range(50):  # warm-up
        free_starts(profile, service, FIRST_DAY, last_day, now, busy)
    samples: list[float] = []
    for _ in range(args.runs):
        t0 = time.perf_counter_ns()
        free_starts(profile, service, FIRST_DAY, last_day, now, busy)
        samples.append((time.perf_counter_ns() - t0) / 1e6)
    samples.sort()
    p50 = statistics.median(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    print(f"{len(busy)} bookings, capacity {profile.booking.capacity}, {DAYS} days, "
          f"{service.name} ({service.duration_minutes} min): {len(result)} free starts")
    print(f"runs {args.runs}: p50 {p50:.3f} ms, p99 {p99:.3f} ms, max {samples[-1]:.3f} ms")
    print(json.dumps({"availability_ms": round(p99, 3)}))


if __name__ == "__main__":
    main()

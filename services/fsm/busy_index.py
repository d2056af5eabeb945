"""Live bookings indexed for "which resource is free over [start, end)" queries.

Split from services/fsm/availability.py (which re-exports `Busy` and `BusyIndex`): a search for
free starts asks this question for every candidate, so the bookings are indexed once per call
and each question costs O(capacity * log n) instead of a scan of every booking.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import datetime
from typing import TypeAlias

from services.fsm.wallclock import to_us

__all__ = ["Busy", "BusyIndex", "as_index"]

Busy: TypeAlias = tuple[int, datetime, datetime]
"""A live (held or confirmed) booking: `(resource, start, end)`, aware datetimes."""


class BusyIndex:
    """Live bookings prepared for O(log n) overlap queries.

    Per resource 1..capacity: starts sorted, and the running maximum of ends in that order,
    so "does anything on r overlap [a, b)" is one bisect (the bookings starting before b
    overlap iff the latest end among them is after a) and stays right even if a resource's
    bookings overlap each other. Bookings on a resource outside 1..capacity (capacity was
    lowered after they were made) still take a place: at most `capacity` appointments overlap,
    so each one overlapping a candidate uses up one free resource.
    """

    __slots__ = ("_merged", "_orphan_ends", "_orphan_starts", "_resources", "capacity")

    def __init__(self, busy: Iterable[Busy], capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        per: list[list[tuple[int, int]]] = [[] for _ in range(capacity)]
        orphans: list[tuple[int, int]] = []
        for resource, start, end in busy:
            s, e = to_us(start), to_us(end)
            if e <= s:
                continue  # an empty range holds nothing
            if 1 <= resource <= capacity:
                per[resource - 1].append((s, e))
            else:
                orphans.append((s, e))
        resources: list[tuple[int, list[int], list[int]]] = []
        merged: list[tuple[list[int], list[int]]] = []
        for number, items in enumerate(per, start=1):
            items.sort()
            starts: list[int] = []
            max_ends: list[int] = []
            busy_starts: list[int] = []  # the resource's busy time as disjoint ranges
            busy_ends: list[int] = []
            latest = -(1 << 62)
            for s, e in items:  # (no max(): this loop runs per booking, per call)
                starts.append(s)
                if s > latest:
                    busy_starts.append(s)
                    busy_ends.append(e)
                    latest = e
                elif e > latest:
                    busy_ends[-1] = latest = e
                max_ends.append(latest)
            resources.append((number, starts, max_ends))
            merged.append((busy_starts, busy_ends))
        self._resources = tuple(resources)
        self._merged = tuple(merged)
        self._orphan_starts = sorted(s for s, _ in orphans)
        self._orphan_ends = sorted(e for _, e in orphans)

    def free_resource_us(self, start_us: int, end_us: int) -> int | None:
        """Lowest resource (1-based) free over `[start_us, end_us)`, or None when full."""
        if self._orphan_starts:
            return self._free_resource_with_orphans(start_us, end_us)
        for number, starts, max_ends in self._resources:
            i = bisect_left(starts, end_us)
            if not i or max_ends[i - 1] <= start_us:
                return number
        return None

    def free_start_ranges(self, first_us: int, last_us: int,
                          duration_us: int) -> list[tuple[int, int]] | None:
        """The starts in `[first_us, last_us]` at which some resource is free for
        `duration_us`, as sorted, disjoint, inclusive ranges: what a search of a whole day
        asks, answered from each resource's gaps at once rather than start by start. None
        when bookings on resources beyond capacity make it a count (`free_resource_us`)."""
        if self._orphan_starts:
            return None
        ranges: list[tuple[int, int]] = []
        for busy_starts, busy_ends in self._merged:
            # The busy ranges that could get in the way: ending after the first start,
            # beginning before the last one's end.
            i = bisect_right(busy_ends, first_us)
            stop = bisect_left(busy_starts, last_us + duration_us)
            free_from = first_us
            for j in range(i, stop):
                if busy_starts[j] - duration_us >= free_from:
                    ranges.append((free_from, busy_starts[j] - duration_us))
                free_from = max(free_from, busy_ends[j])
            if free_from <= last_us:
                ranges.append((free_from, last_us))
        ranges.sort()
        union: list[tuple[int, int]] = []
        for a, b in ranges:
            if union and a <= union[-1][1]:
                if b > union[-1][1]:
                    union[-1] = (union[-1][0], b)
            else:
                union.append((a, b))
        return union

    def _free_resource_with_orphans(self, start_us: int, end_us: int) -> int | None:
        # Orphans overlapping [a, b): those starting before b minus those ending by a.
        taken = (bisect_left(self._orphan_starts, end_us)
                 - bisect_right(self._orphan_ends, start_us))
        free = [number for number, starts, max_ends in self._resources
                if not (i := bisect_left(starts, end_us)) or max_ends[i - 1] <= start_us]
        return free[0] if len(free) > taken else None


def as_index(busy: Iterable[Busy] | BusyIndex, capacity: int) -> BusyIndex:
    """Index the bookings, or reuse an index a caller built once for several queries."""
    if isinstance(busy, BusyIndex):
        if busy.capacity != capacity:
            raise ValueError(f"BusyIndex was built for capacity {busy.capacity}, "
                             f"the profile has {capacity}")
        return busy
    return BusyIndex(busy, capacity)

"""Metrics a process keeps about itself (`libs/metrics.py`)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from libs import metrics


@pytest.fixture
def callbacks_restored() -> Iterator[None]:
    """The test process's collector callbacks are given back as they were."""
    kept = list(gc.callbacks)
    yield
    gc.callbacks[:] = kept


def _collector_seconds(generation: str) -> float:
    return REGISTRY.get_sample_value("receptionist_gc_seconds_total",
                                     {"generation": generation}) or 0.0


def test_the_collector_cpu_is_counted_by_generation(callbacks_restored: None) -> None:
    before = _collector_seconds("2")
    metrics.time_garbage_collection()
    for generation in ("0", "1", "2"):  # every generation is exported, before it runs
        assert REGISTRY.get_sample_value("receptionist_gc_seconds_total",
                                         {"generation": generation}) is not None
    walked = [[i] for i in range(100_000)]  # something for a full collection to walk
    gc.collect()
    assert walked and _collector_seconds("2") > before


def test_timing_is_set_up_once_however_often_asked(callbacks_restored: None) -> None:
    metrics.time_garbage_collection()
    callbacks = list(gc.callbacks)
    metrics.time_garbage_collection()
    assert gc.callbacks == callbacks

"""`make bench` runs to the end: `benchmarks/pipeline_bench.py --quick` (every part briefly:
the services as processes, the ceilings, ingress, fsm at one and three processes, reminders,
availability, the NLU) against the test's PostgreSQL and RabbitMQ, and ends with its one
JSON line of figures. The figures themselves are never asserted: speed is measured, not
tested (docs/architecture.md, "Tests")."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.integration

KEYS = ["turns_per_s", "turns_ceiling_per_s", "turn_p50_ms", "turn_p99_ms", "cpu_ms_per_turn",
        "db_statements_per_turn", "ingress_rps", "ingress_ceiling_rps", "fsm_scale_1",
        "fsm_scale_3", "reminders_per_s", "availability_p99_ms", "nlu_p99_ms"]
BOUND_S = 240  # about a minute on two idle cores; the machine may be shared


@pytest.mark.timeout(BOUND_S + 30)
def test_the_quick_bench_runs_to_its_json_line(server_database_url: str,
                                               amqp_url: str) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "pipeline_bench.py"), "--quick"],
        cwd=REPO, capture_output=True, text=True, timeout=BOUND_S, check=False,
        env={**os.environ, "DATABASE_URL": server_database_url, "AMQP_URL": amqp_url})
    assert done.returncode == 0, f"the bench failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert list(figures) == KEYS
    assert all(v is None or isinstance(v, int | float) for v in figures.values()), figures
    # fsm's two extra replicas were stopped under load as a deployment stops them: nothing
    # was lost, doubled or dead-lettered, and they exited cleanly
    assert "errors while scaling: 0 " in done.stdout, done.stdout[-3000:]


@pytest.mark.timeout(120)
def test_the_handler_cpu_bench_runs_to_its_json_line(server_database_url: str) -> None:
    """`benchmarks/handler_cpu.py`, briefly: its conversations book and cancel (it checks
    that they did), and its one JSON line has both figures."""
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "handler_cpu.py"), "--conversations", "2",
         "--booked", "20", "--rounds", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=100, check=False,
        env={**os.environ, "DATABASE_URL": server_database_url})
    assert done.returncode == 0, f"the bench failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert list(figures) == ["fsm_cpu_ms_per_turn", "notifier_cpu_ms_per_turn"]
    assert all(isinstance(v, int | float) and v > 0 for v in figures.values()), figures


@pytest.mark.timeout(120)
def test_the_primitives_bench_runs_to_its_json_line(server_database_url: str,
                                                    amqp_url: str) -> None:
    """`benchmarks/primitives.py`, briefly: every operation measured, through our libraries
    and through the drivers beneath them."""
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "primitives.py"), "--n", "20",
         "--rounds", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=100, check=False,
        env={**os.environ, "DATABASE_URL": server_database_url, "AMQP_URL": amqp_url})
    assert done.returncode == 0, f"the bench failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert list(figures) == [
        "statement_us", "statement_direct_us", "statement_psycopg_us",
        "session_one_statement_us", "pooled_one_statement_us", "transaction_us",
        "transaction_direct_us", "transaction_psycopg_us", "publish_us", "publish_aiormq_us",
        "consume_us", "consume_aiormq_us"]
    assert all(isinstance(v, int | float) and v > 0 for v in figures.values()), figures

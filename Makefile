# The project's commands. `make setup` makes .venv; `make test` runs the whole suite.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: setup test test-unit test-integration lint schemas services bench clean

setup: $(BIN)/receptionist

$(BIN)/receptionist: pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

services:
	@scripts/ensure-services

test: setup services lint
	$(BIN)/pytest -q

test-unit: setup
	$(BIN)/pytest -q tests/unit

test-integration: setup services
	$(BIN)/pytest -q -m integration

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy libs services receptionist tests

schemas: setup
	$(BIN)/python -m libs.contracts.schema_registry

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info

bench: setup
	$(BIN)/python benchmarks/availability_bench.py
	$(BIN)/receptionist nlu eval ../shared/nlu/dev.jsonl | tail -n 1

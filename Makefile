# The project's commands. `make setup` makes .venv; `make test` runs the whole suite.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: setup test test-unit test-integration lint typecheck check schemas services clean

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
	$(BIN)/mypy libs services receptionist

schemas: setup
	$(BIN)/python -m libs.contracts.schema_registry

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info

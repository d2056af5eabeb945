# The project's commands. `make setup` makes .venv; `make test` runs the whole suite.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: setup demo test test-unit test-integration test-faults lint schemas messages services browser bench clean

setup: $(BIN)/receptionist

$(BIN)/receptionist: pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

demo: setup
	$(BIN)/receptionist demo

services:
	@scripts/ensure-services

browser:
	@scripts/ensure-browser

# Two workers: the integration tests wait on PostgreSQL, RabbitMQ and Chromium more than on
# the CPU, and each worker has its own database and queue prefixes.
test: setup services browser lint
	$(BIN)/pytest -q -n 2

test-unit: setup
	$(BIN)/pytest -q tests/unit

test-integration: setup services
	$(BIN)/pytest -q -m integration

# Fault injection under load (kill -9, broker and database cuts, duplicate webhooks); CI runs
# it after `make test`. A few minutes: the database is cut for 90 s.
test-faults: setup services
	$(BIN)/pytest -q -m faults tests/faults

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy libs services receptionist tests

schemas: setup
	$(BIN)/python -m libs.contracts.schema_registry

# The replies' message catalog (docs/conversations.md, "Spanish"): extract the msgids from fsm
# into the template, merge them into each language's .po (then translate what is new there:
# tests/unit/fsm/test_catalog.py fails until every msgid is), and compile the .mo files.
LOCALE := services/fsm/locale
messages: setup
	$(BIN)/pybabel extract -F babel.cfg -o $(LOCALE)/messages.pot --add-location=file \
	  --sort-output --no-wrap --project=receptionist --version=0.1.0 services/fsm
	$(BIN)/pybabel update -i $(LOCALE)/messages.pot -d $(LOCALE) --no-fuzzy-matching \
	  --no-wrap --ignore-pot-creation-date
	$(BIN)/pybabel compile -d $(LOCALE) --statistics

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info

bench: setup services
	$(BIN)/python benchmarks/pipeline_bench.py

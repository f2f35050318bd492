# Every target creates the virtualenv it needs, with the pinned dependencies.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
# Test processes for `make test` (pytest-xdist; a file's tests stay in one process). 0: one process.
TEST_WORKERS ?= 2

.DEFAULT_GOAL := help

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

$(VENV)/.installed-bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,bench]'
	touch $@

.PHONY: help demo test test-fast lint bench clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

demo: $(STAMP) ## Run the example workflow on embedded SQLite, showing each step as it completes
	$(BIN)/keel run examples/quickstart.py:onboard --input '{"customer": "Ada Lovelace", "plan": "team"}'

test: $(STAMP) lint ## Lint and type-check, then the whole test suite (PostgreSQL at 127.0.0.1:5432; CI=true makes it mandatory)
	@sh scripts/ensure-prometheus
	@sh scripts/ensure-bubblewrap
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

lint: $(STAMP) ## ruff (lint and format check) and mypy --strict over keel/
	$(BIN)/ruff check .
	$(BIN)/ruff format --check keel bench tests examples
	$(BIN)/mypy

test-fast: $(STAMP) ## Unit and contract tests only
	$(BIN)/pytest tests/unit tests/contract -q

bench: $(VENV)/.installed-bench ## Engine throughput against the raw-commit floor (with DBOS and LangGraph), recovery time, gateway latency
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/recovery.py
	$(BIN)/python bench/gateway.py

clean: ## Remove the virtualenv and the embedded database
	rm -rf $(VENV) .keel

# Two commands do the whole set-up on a fresh machine with only Python 3.11+:
#   make demo   -- seeded demo network on embedded SQLite + Redis, prints where to look
#   make test   -- the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench load clean venv

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

demo: venv
	$(BIN)/worklist demo

test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: venv
	$(BIN)/python -m load_tests.bench_ingest
	$(BIN)/python -m load_tests.bench_allocator

# Bounded Locust run (about 2 minutes) against `worklist serve`; fails when a threshold in
# load_tests/thresholds.py is missed. LOAD_ARGS="--seconds 60 --sqlite" etc.
load: venv
	$(BIN)/pip install --quiet -e '.[dev,load]'
	$(BIN)/python -m load_tests.run_load $(LOAD_ARGS)

clean:
	rm -rf $(VENV) .worklist .pytest_cache .mypy_cache .ruff_cache

# Two commands: `make demo` runs the main job, `make test` runs ruff, mypy and pytest.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: install test lint demo dev simulators clean schemas bench bench-quick chaos conformance

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("q2c needs Python 3.11+") if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

# A hung test fails in 3 minutes instead of holding CI for its 90. Then a subset of the saga tests again on a
# real dev server (the same tests, `--workflow-environment=dev`), as Temporal's samples run theirs.
test: lint
	$(BIN)/pytest -q --timeout 180 --maxfail 5
	$(BIN)/pytest -q --timeout 180 --workflow-environment=dev tests/test_saga_kit.py tests/test_saga.py \
		-k "kit or happy_path or credit_hold_is_released or temporal_cancellation or business_failure_undoes"

# Each simulator driven by its vendor's own client, each connector against the documented dialect.
conformance: install
	$(BIN)/pytest -q --timeout 180 tests/conformance

# Figures for BENCHMARKS.md (minutes; not part of CI): engine floor, throughput, cost, parked holds.
bench: install
	$(BIN)/python -m benchmarks.run --sizes 100 1000 5000 --parked 10000

# For anyone changing the saga (under 5 minutes): the N=100 saga / floor ratio and the billable actions per saga.
bench-quick: install
	$(BIN)/python -m benchmarks.run --sizes 100 --parked 0 --out benchmarks/results/quick.json

# The chaos suite at full size (200 sagas per scenario); a small run of it is part of `make test`.
chaos: install
	Q2C_CHAOS_SAGAS=200 Q2C_CHAOS_REPORT=benchmarks/results/chaos.json $(BIN)/pytest -m chaos -q -s

demo: install
	$(BIN)/q2c demo --story all

dev: install
	$(BIN)/q2c dev

simulators: install
	$(BIN)/q2c simulators

schemas: install
	$(BIN)/q2c schemas export schemas

clean:
	rm -rf $(VENV) .q2c .pytest_cache .mypy_cache .ruff_cache

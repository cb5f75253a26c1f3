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

# Every figure of BENCHMARKS.md (hours; not part of CI), each step its own rig: engine floor, throughput, cost
# and the worker's cache metrics; 10,000 parked holds (alone, so the worker's RSS is its own); scale-out over
# worker processes with the ERP rate limit; the ingress; reconciliation of 100,000 deals. Tables: results/tables.md.
BENCH_RESULTS := benchmarks/results
bench: install
	@echo "make bench: about 3.5 hours on a quiet 2-core machine (from earlier runs: N=100+1,000+5,000 about 55 min,"
	@echo "  10,000 parked about 95 min, scale-out about 15 min, ingress about 3 min, 100,000 reconciled about 5 min,"
	@echo "  the sandbox on and off about 7 min)"
	$(BIN)/python -m benchmarks.run --sizes 100 1000 5000 --parked 0 --out $(BENCH_RESULTS)/latest.json
	$(BIN)/python -m benchmarks.run --sizes --parked 10000 --out $(BENCH_RESULTS)/parked.json
	$(BIN)/python -m benchmarks.scaleout --sagas 300 --netsuite-cap 20 --out $(BENCH_RESULTS)/scaleout.json
	$(BIN)/python -m benchmarks.ingress --sustained 2000 --burst 1000 --out $(BENCH_RESULTS)/ingress.json
	$(BIN)/python -m benchmarks.reconcile_scale --deals 100000 --out $(BENCH_RESULTS)/reconcile-100000.json
	$(BIN)/python -m benchmarks.sandbox --sagas 300 --pairs 2 --out $(BENCH_RESULTS)/sandbox.json
	$(BIN)/python -m benchmarks.report $(BENCH_RESULTS)/latest.json $(BENCH_RESULTS)/parked.json \
		$(BENCH_RESULTS)/scaleout.json $(BENCH_RESULTS)/ingress.json > $(BENCH_RESULTS)/tables.md

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

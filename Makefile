# Supportdesk: `make run` (everything on one machine, with demo data) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench fuzz lint system-deps venv jars schemas clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

system-deps:
	bash scripts/install-system-deps.sh

jars: venv
	$(PY) -m supportdesk.broker fetch

run: system-deps venv jars
	$(VENV)/bin/supportdesk up --demo

test: system-deps venv jars
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest -ra --durations=15
	$(PY) -m schemas.codec --check
	$(VENV)/bin/ruff check .

bench: system-deps venv jars
	$(PY) -m bench

# Fuzz the router (hypothesis, random seeds, under RLIMIT_AS) for FUZZ_MINUTES; failing
# inputs land in tests/corpus/fuzz/, which make test replays. make test runs a fixed-seed pass.
# First, every hostile mail of tests/unit/router/hostile.py within its budget (make test: most).
FUZZ_MINUTES ?= 10
fuzz: venv
	ROUTER_HOSTILE_ALL=1 $(VENV)/bin/pytest -q tests/unit/router/test_budget.py
	$(PY) -m tests.unit.router.fuzz --minutes $(FUZZ_MINUTES)

lint: venv
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

schemas: venv
	$(PY) -m schemas.codec

clean:
	rm -rf var .pytest_cache

# Supportdesk: `make run` (everything on one machine, with demo data) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench chaos fuzz lint system-deps venv jars schemas clean

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

# Two passes: most tests on TEST_WORKERS xdist workers (each with its own broker, PostgreSQL
# and Dovecot; they mostly wait on processes, so 3 on 2 cores), then the tests marked serial
# (bounds on time, the 3-node cluster, chaos) alone on the machine. Both always run.
TEST_WORKERS ?= 3
test: system-deps venv jars
	$(VENV)/bin/lint-imports
	rc=0; \
	$(VENV)/bin/pytest -ra --durations=15 -n $(TEST_WORKERS) --dist loadgroup -m "not serial" \
		|| rc=$$?; \
	$(VENV)/bin/pytest -ra --durations=15 -m serial || rc=$$?; \
	exit $$rc
	$(PY) -m schemas.codec --check
	$(VENV)/bin/ruff check .

bench: system-deps venv jars
	$(PY) -m bench

# The long chaos run (issue 12): CHAOS_MAILS over CHAOS_MINUTES with random SIGKILLs, a
# broker kill and a database stop (CHAOS_SEED); prints every count and the recovery figures.
# make test runs a bounded one (tests/chaos). CHAOS_DIR keeps the logs.
CHAOS_MAILS ?= 2000
CHAOS_MINUTES ?= 10
CHAOS_SEED ?= 7
chaos: system-deps venv jars
	CHAOS_MAILS=$(CHAOS_MAILS) CHAOS_MINUTES=$(CHAOS_MINUTES) CHAOS_SEED=$(CHAOS_SEED) \
		$(PY) -m bench.chaos

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

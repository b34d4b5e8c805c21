# One entry point for people and CI. Every target sets up .venv first from constraints.txt,
# so `make demo` and `make test` work on a fresh clone with nothing but Python 3.11
# (scripts/setup-venv.sh: uv when it can be had, in seconds; pip otherwise).
PYTHON ?= python3
# Our own modules' bytecode is cached like the installed packages' (scripts/setup-venv.sh compiles
# those): with PYTHONDONTWRITEBYTECODE set, each of the suite's processes recompiled everything.
unexport PYTHONDONTWRITEBYTECODE
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo demo-execute test test-loaded test-e2e test-shifted test-distributed test-multihost ui-test lint check-defs bench dev clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt scripts/setup-venv.sh
	PYTHON=$(PYTHON) VENV=$(VENV) scripts/setup-venv.sh
	touch $(STAMP)

demo: setup
	$(BIN)/spx-pipeline demo

demo-execute: setup
	$(BIN)/spx-pipeline demo --execute

# Both cores (pytest-xdist): every test builds its own stores, ports and Dagster instance.
PYTEST_WORKERS ?= 2
PYTEST_ARGS = -q -n $(PYTEST_WORKERS) --dist worksteal
# The tests' files (SQLite and DuckDB stores, Dagster instances) live in RAM where there is a tmpfs:
# on disk every commit waits ~1 ms for fsync, and the suite commits tens of thousands of times.
TEST_TMPDIR ?= $(if $(wildcard /dev/shm/.),/dev/shm,$(or $(TMPDIR),/tmp))

test: setup
	TMPDIR=$(TEST_TMPDIR) $(BIN)/pytest $(PYTEST_ARGS)

# `make test` with a CPU hog beside it (Debian's stress-ng, 4 workers): tests wait on events with
# generous deadlines, never on timings, so they hold on a loaded machine. The hog starts before
# pytest and is stopped after it, whatever the outcome (or at the latest after its own timeout).
HOG_WORKERS ?= 4
test-loaded: setup
	@command -v stress-ng >/dev/null || { echo "make test-loaded needs stress-ng: apt-get install -y stress-ng" >&2; exit 2; }
	@stress-ng --cpu $(HOG_WORKERS) --timeout 2h --quiet & hog=$$!; \
	trap 'kill $$hog 2>/dev/null; exit 130' INT TERM; \
	echo "stress-ng --cpu $(HOG_WORKERS) running (pid $$hog)"; \
	TMPDIR=$(TEST_TMPDIR) $(BIN)/pytest $(PYTEST_ARGS); status=$$?; \
	kill $$hog 2>/dev/null; wait $$hog 2>/dev/null; \
	echo "stress-ng stopped"; exit $$status

# The whole scenarios `make test` leaves out (marker e2e: the demo and its printed commands as
# processes, trading days on a filling market, concurrent and killed runs, `spx-pipeline dev`'s
# process trees): minutes of CPU, so a run of their own. CI runs them.
test-e2e: setup
	TMPDIR=$(TEST_TMPDIR) $(BIN)/pytest $(PYTEST_ARGS) -m e2e spx_pipeline_tests

# Runs on Celery workers: redis-server, two `spx-pipeline celery-worker`s and a PostgreSQL instance
# (SPX_TEST_PG_URL), all on loopback and stopped afterwards (see the README).
test-distributed: setup
	TMPDIR=$(TEST_TMPDIR) $(BIN)/pytest -q -m distributed spx_pipeline_tests

# Celery workers on three simulated hosts (Linux network namespaces on a bridge; needs root and
# iproute2), Redis, PostgreSQL and the local Tradier server on the bridge address (see the README).
test-multihost: setup
	TMPDIR=$(TEST_TMPDIR) $(BIN)/pytest -q -m multihost spx_pipeline_tests

# The Dagster UI in a real headless browser (Debian's chromium + chromium-driver; see the README).
ui-test: setup
	$(BIN)/pytest -q -s -m ui spx_pipeline_tests/ui

# The tests that read a clock in the test process (marker clock: they use a clock fixture, see
# fixtures/clock.py) again with that process's wall clock moved (time-machine) to a holiday late
# evening: nothing may depend on the real date. The shift reaches neither subprocesses nor pure
# functions of explicit dates, so the rest of the suite would only repeat itself. Any instant works:
# SHIFT_TO=2027-03-14T02:30:00-05:00.
SHIFT_TO ?= 2026-11-26T23:30:00-05:00
test-shifted: setup
	TMPDIR=$(TEST_TMPDIR) SPX_TEST_TRAVEL_TO=$(SHIFT_TO) $(BIN)/pytest $(PYTEST_ARGS) \
		-m 'clock and not ui and not distributed and not multihost and not e2e' spx_pipeline_tests

lint: setup check-defs
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The code location loads as `dg dev` and the webserver would load it (every folder under defs/).
check-defs: setup
	$(BIN)/dg check defs

bench: setup
	$(BIN)/python bench/occ.py
	$(BIN)/python bench/recommend.py
	$(BIN)/python bench/sync.py
	$(BIN)/python bench/pipeline.py --reconcile
	$(BIN)/python bench/reconcile.py
	$(BIN)/python bench/trade_mirror.py
	$(BIN)/python bench/soak.py --runs 50 --kills 6
	$(BIN)/python bench/warehouse_backends.py
	$(BIN)/python bench/warehouse_create.py

dev: setup
	$(BIN)/spx-pipeline dev

clean:
	rm -rf $(VENV) .tools data .pytest_cache .ruff_cache

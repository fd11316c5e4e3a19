# omniguichet — two commands: `make demo` and `make test`. Everything else is below.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_PERSONS ?= 20000
DEMO_CONTACTS ?= 200000
DEMO_EVENTS ?= 50000
DEMO_CALLS ?= 2000
HOST ?= 127.0.0.1
PORT ?= 8000
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test setup browser lint typecheck migrations-check test-sqlite test-postgres bench bench-crm serve clean help

help:
	@echo "make demo   — set up, seed $(DEMO_PERSONS) persons with $(DEMO_CONTACTS) contacts and run the platform with its worker on http://$(HOST):$(PORT)"
	@echo "make test   — set up and run ruff, mypy, makemigrations --check and pytest on SQLite and PostgreSQL"
	@echo "make bench  — the seed benchmark on SQLite and PostgreSQL (figures go to bench/RESULTS.md by hand)"
	@echo "make bench-crm — the customer-record benchmark (1 M persons, 20 M contacts; about 25 minutes)"

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python3-venv is missing: installing it with apt-get"; \
	  apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null && $(PYTHON) -m venv $(VENV); }

# Reinstall only when the dependency list changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -m pip install -q -e '.[dev]' 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -c "import importlib.metadata as m; [m.version(p) for p in ('omniguichet', 'django', 'django-ninja', 'pytest')]"
	@touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/omniguichet migrate --no-input -v 0
	$(BIN)/omniguichet seed --persons $(DEMO_PERSONS) --contacts $(DEMO_CONTACTS) --if-empty
	@# Back-office history (cases, payments, messages) once per demo database, then the analytics warehouse.
	@test -f var/.demo-backoffice || { $(BIN)/omniguichet simulate-backoffice --events $(DEMO_EVENTS) && touch var/.demo-backoffice; }
	$(BIN)/omniguichet warehouse export
	@# Yesterday's calls on the phone line (1 to 2 s; a replay on the same day changes nothing): docs/telephony.md.
	$(BIN)/omniguichet simulate-calls --calls $(DEMO_CALLS)
	@echo
	@echo "  omniguichet runs on http://$(HOST):$(PORT)/  (Ctrl-C stops the web server and the worker)"
	@echo "  API documentation: http://$(HOST):$(PORT)/api/v1/docs   administration: http://$(HOST):$(PORT)/admin/"
	@echo "  demo logins: agent-751 / demo-agent-2026 (one agent-<code> per caisse), supervisor / demo-supervisor-2026"
	@echo "  staff second factor: the code printed by $(BIN)/omniguichet totp --user agent-751 (see README)"
	@echo "  insured persons: /compte/connexion/ with a NIR printed by the seed above and demo-assure-2026"
	@echo
	DEBUG=1 $(BIN)/omniguichet serve --host $(HOST) --port $(PORT)

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports --no-cache

typecheck: setup
	$(BIN)/mypy

migrations-check: setup
	OMNIGUICHET_VAR_DIR=$$(mktemp -d) $(BIN)/omniguichet makemigrations --check --dry-run

# Browser tests use Debian's chromium (playwright never downloads a browser here); the Redis task queue's tests
# start Debian's redis-server.
browser:
	@command -v chromium >/dev/null || { echo "installing chromium (apt-get)"; \
	  apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
	@command -v redis-server >/dev/null || { echo "installing redis-server (apt-get)"; \
	  apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; }

test-sqlite: setup browser
	OMNIGUICHET_VAR_DIR=$$(mktemp -d) $(BIN)/pytest -n 2 -q

# A throwaway PostgreSQL cluster for the run (Debian's pg_virtualenv; -t: in a temporary directory, so several
# runs can coexist on one machine); PostgreSQL is installed when missing.
test-postgres: setup browser
	@command -v pg_virtualenv >/dev/null || { echo "installing PostgreSQL (apt-get)"; \
	  apt-get update -qq && apt-get install -y -qq postgresql postgresql-contrib >/dev/null; }
	OMNIGUICHET_VAR_DIR=$$(mktemp -d) pg_virtualenv -t sh -c \
	  'DATABASE_URL="postgres://$$PGUSER:$$PGPASSWORD@$$PGHOST:$${PGPORT:-5432}/$$PGDATABASE" $(BIN)/pytest -n 2 -q'

test: lint typecheck migrations-check test-sqlite test-postgres

bench: setup
	$(BIN)/python -m bench.seed
	pg_virtualenv -t sh -c 'DATABASE_URL="postgres://$$PGUSER:$$PGPASSWORD@$$PGHOST:$${PGPORT:-5432}/$$PGDATABASE" $(BIN)/python -m bench.seed'

# The customer-record bench: 1 M persons and 20 M contacts on SQLite then PostgreSQL (about 25 minutes).
# PostgreSQL gets the memory a server of this size would give it (the default 128 MB of shared buffers is for
# a laptop); durability settings are left as they are. WAL compression is lz4, as deploy/postgresql/omniguichet.conf
# advises: `on` means pglz, whose CPU made the full-page images after a checkpoint the ingestion's main cost.
PG_BENCH_OPTIONS := -o shared_buffers=2GB -o max_wal_size=8GB -o effective_cache_size=8GB -o wal_compression=lz4 \
  -o checkpoint_timeout=30min
bench-crm: setup
	$(BIN)/python -m bench.crm
	pg_virtualenv -t $(PG_BENCH_OPTIONS) sh -c 'DATABASE_URL="postgres://$$PGUSER:$$PGPASSWORD@$$PGHOST:$${PGPORT:-5432}/$$PGDATABASE" $(BIN)/python -m bench.crm'

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

# The national-size bench (issue 18 section 3): 10 M persons, contacts added in steps towards 200 M over three years,
# record / search / ingestion / export of a day / disk measured at each step (bench/national.py; hours at full
# size: NATIONAL_ARGS to stop earlier, e.g. --steps 10,20,30 --stop-at 10:25). Not part of `make test`. The WAL may
# grow to 8 GB between checkpoints (at 2 GB, a checkpoint every minute or two of ingestion kept it in the slow phase
# where every person's page is written whole: bench/RESULTS.md); index builds get 1 GB of memory.
NATIONAL_ARGS ?=
PG_NATIONAL_OPTIONS := -o shared_buffers=2GB -o max_wal_size=8GB -o effective_cache_size=8GB -o wal_compression=lz4 \
  -o checkpoint_timeout=30min -o maintenance_work_mem=1GB
.PHONY: bench-national
bench-national: setup
	pg_virtualenv -t $(PG_NATIONAL_OPTIONS) sh -c 'DATABASE_URL="postgres://$$PGUSER:$$PGPASSWORD@$$PGHOST:$${PGPORT:-5432}/$$PGDATABASE" $(BIN)/python -m bench.national $(NATIONAL_ARGS)'

# Contact ingestion layer by layer against a raw COPY of the same rows (issue 18 section 3): bench/ingest.py.
INGEST_ARGS ?=
.PHONY: bench-ingest
bench-ingest: setup
	pg_virtualenv -t $(PG_BENCH_OPTIONS) sh -c 'DATABASE_URL="postgres://$$PGUSER:$$PGPASSWORD@$$PGHOST:$${PGPORT:-5432}/$$PGDATABASE" $(BIN)/python -m bench.ingest $(INGEST_ARGS)'

# Cases and outbound messages (issue #5): ingestion with rules and ledger writes, dispatch to the file sink.
bench-outreach: setup
	$(BIN)/python -m bench.outreach --persons 50000 --events 150000
	pg_virtualenv -t $(PG_BENCH_OPTIONS) sh -c 'DATABASE_URL="postgres://$$PGUSER:$$PGPASSWORD@$$PGHOST:$${PGPORT:-5432}/$$PGDATABASE" $(BIN)/python -m bench.outreach --persons 50000 --events 150000'

.PHONY: bench-attestation
bench-attestation: setup  ## the attestation PDF (p50 target 20 ms) and its request end to end
	$(BIN)/python -m bench.attestation

# The steering-indicator bench: 10 M generated contacts, all indicators of a year with DuckDB (a few minutes).
bench-kpi: setup
	$(BIN)/python -m bench.kpi

# The documents bench: basket listing with 1 M documents in 101 caisses, deposit of a 1 MB PDF (a few minutes).
bench-documents: setup
	$(BIN)/python -m bench.documents
	pg_virtualenv -t sh -c 'DATABASE_URL="postgres://$$PGUSER:$$PGPASSWORD@$$PGHOST:$${PGPORT:-5432}/$$PGDATABASE" $(BIN)/python -m bench.documents'

# The baskets bench (issue 17): listing and an item's page with 5 M open work items in 101 caisses, SQLite then
# PostgreSQL (about 20 minutes each on a quiet machine: most of it is loading the items).
.PHONY: bench-baskets
bench-baskets: setup
	$(BIN)/python -m bench.baskets
	pg_virtualenv -t $(PG_BENCH_OPTIONS) sh -c 'DATABASE_URL="postgres://$$PGUSER:$$PGPASSWORD@$$PGHOST:$${PGPORT:-5432}/$$PGDATABASE" $(BIN)/python -m bench.baskets'

# The free-slot search bench (issue 7): 101 caisses x 5 sites x 20 agents, a year of bookings, SQLite then PostgreSQL.
bench-appointments: setup
	$(BIN)/python -m bench.appointments
	pg_virtualenv -t sh -c 'DATABASE_URL="postgres://$$PGUSER:$$PGPASSWORD@$$PGHOST:$${PGPORT:-5432}/$$PGDATABASE" $(BIN)/python -m bench.appointments'

# The warehouse export bench (issue 8): 2 M contacts exported, then changed contacts rewritten; SQLite then PostgreSQL.
.PHONY: bench-warehouse
bench-warehouse: setup
	$(BIN)/python -m bench.warehouse
	pg_virtualenv -t sh -c 'DATABASE_URL="postgres://$$PGUSER:$$PGPASSWORD@$$PGHOST:$${PGPORT:-5432}/$$PGDATABASE" $(BIN)/python -m bench.warehouse'

# The command line's start-up (issue 15): `omniguichet help` against bare Django, `omniguichet kpi` against its
# DuckDB statements alone (a minute or two).
.PHONY: bench-startup
bench-startup: setup
	$(BIN)/python -m bench.startup

# The SMS frequency cap on real send times (issue 15): 25 simulated days, a late and sometimes stopped dispatcher.
.PHONY: bench-sms-cap
bench-sms-cap: setup
	$(BIN)/python -m bench.sms_cap --persons 300 --days 25
	pg_virtualenv -t sh -c 'DATABASE_URL="postgres://$$PGUSER:$$PGPASSWORD@$$PGHOST:$${PGPORT:-5432}/$$PGDATABASE" $(BIN)/python -m bench.sms_cap --persons 300 --days 25'

# The motive classifier (issue 17): held-out top-1 accuracy and the time per message on one core (seconds).
.PHONY: bench-classify
bench-classify: setup
	$(BIN)/python -m bench.classify

# The load test (issue 18, section 4): serve --production on a throwaway PostgreSQL with LOAD_PERSONS persons,
# locust at increasing rates with 1, 2 and 4 web processes (bench/load/run.py; long: an hour at 1 M persons).
LOAD_PERSONS ?= 1000000
LOAD_ARGS ?=
.PHONY: bench-load
bench-load: setup
	@command -v pg_virtualenv >/dev/null || { echo "installing PostgreSQL (apt-get)"; \
	  apt-get update -qq && apt-get install -y -qq postgresql postgresql-contrib >/dev/null; }
	$(BIN)/python -m bench.load.run --persons $(LOAD_PERSONS) --web 1,2,4 $(LOAD_ARGS)

# The monthly partitions on PostgreSQL (issue 18 section 3): the migrations' time on 1 M contacts, then the hot
# queries and ingestion against the same rows in one table (a few minutes).
.PHONY: bench-partitions
bench-partitions: setup
	pg_virtualenv -t $(PG_BENCH_OPTIONS) sh -c 'DATABASE_URL="postgres://$$PGUSER:$$PGPASSWORD@$$PGHOST:$${PGPORT:-5432}/$$PGDATABASE" $(BIN)/python -m bench.partition_migration --contacts 1000000 --persons 100000 --queries'

# The retention of a month on PostgreSQL (issue 18 section 3): detach and drop of a month of 1 M contacts while a
# writer inserts into the current month (a few minutes, most of it filling the month and exporting it).
.PHONY: bench-partition-detach
bench-partition-detach: setup
	pg_virtualenv -t $(PG_BENCH_OPTIONS) sh -c 'DATABASE_URL="postgres://$$PGUSER:$$PGPASSWORD@$$PGHOST:$${PGPORT:-5432}/$$PGDATABASE" $(BIN)/python -m bench.partition_detach --contacts 1000000'

# mhi — the two commands: `make run` (serve the demo on http://127.0.0.1:5000) and `make test`.
# Needs nothing but Python 3.11: the virtual environment, the translations and the database are made on the way.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
# Installed once, and again whenever pyproject.toml changes (it is newer than the stamp).
STAMP := $(VENV)/.mhi-installed
FLASK := $(BIN)/flask --app mhi
HOST ?= 127.0.0.1
PORT ?= 5000
# Where `make run` keeps the demo's sign-in text, to show it again on the next runs.
DEMO_LOGIN := instance/demo-login.txt

.PHONY: help install translations db demo run test lint format i18n i18n-check bench

help:
	@echo "make run    install, migrate, load the demo into an empty database, serve on http://$(HOST):$(PORT)"
	@echo "            with one job queue worker (Ctrl-C stops both)"
	@echo "make test   install, then the test suite (SQLite; PostgreSQL with MHI_TEST_DATABASE_URL set)"
	@echo "make lint   ruff check and format check"
	@echo "make i18n   extract the messages, update mhi/translations/fr, compile, list what is left to translate"
	@echo "make bench  time the pool stress test"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || { echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# .mo files are build output (not committed): compiled on every run, it takes a fraction of a second.
translations: $(STAMP)
	@$(BIN)/python tools/i18n.py compile >/dev/null

db: translations
	$(FLASK) db upgrade

# The demo command fills an empty database and prints how to sign in; on a database that already holds data it
# refuses with a message. Either way `make run` goes on and serves what is there.
demo: db
	@out=$$(mktemp); status=0; \
	$(FLASK) demo >$$out 2>&1 || status=$$?; \
	cat $$out; \
	if [ $$status -eq 0 ] && grep -qi 'password' $$out; then mkdir -p instance; cp $$out $(DEMO_LOGIN); \
	elif [ -f $(DEMO_LOGIN) ]; then echo; echo "Sign-in of the demo loaded earlier:"; cat $(DEMO_LOGIN); \
	else echo "(no demo loaded: see the message above; sign in with an account of your own, made with"; \
	     echo " echo 'its-password-1' | $(FLASK) user create you@example.org --role admin --no-password-change)"; fi; \
	rm -f $$out

# The web server and one job queue worker (card printing, imports: mhi/core/jobs.py); Ctrl-C stops both.
run: demo
	@echo
	@echo "Serving mhi on http://$(HOST):$(PORT), with one job worker  (Ctrl-C to stop both)"
	@$(BIN)/huey_consumer mhi.worker.huey --workers 2 --worker-type thread --quiet & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT; \
	$(FLASK) run --host $(HOST) --port $(PORT)

test: translations
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

i18n: $(STAMP)
	$(BIN)/python tools/i18n.py update

i18n-check: $(STAMP)
	$(BIN)/python tools/i18n.py check

bench: $(STAMP)
	$(BIN)/python bench/bench_pool_stress.py

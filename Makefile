# netpol: the two quick-start commands are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)

.PHONY: run test lint check setup system-deps

# Python packages (in a virtualenv) and the front-end libraries (npm ci).
setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# Debian packages the tests use: a real Redis for the Celery worker test, Chromium for the pages,
# PostgreSQL for the tests that run on it (a throwaway cluster; Debian keeps initdb off PATH).
system-deps:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

# Start the dashboard with demo data on the embedded default (SQLite, tasks in-process).
run: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash scripts/run_dev.sh

# Set up everything and run the whole test suite (engine, corpus, API and its schema, Celery worker,
# PostgreSQL, browser).
test: system-deps setup
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check .
	# mypy's Django plugin loads the settings, which want a key with DEBUG off.
	DEBUG=True $(VENV)/bin/mypy policies netpol_site

check: lint test

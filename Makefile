# The two commands a newcomer needs: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: run test setup system-deps venv migrate lint fmt check-migrations requirements requirements-check ci clean

## run: set everything up, then start web (gunicorn) + Celery worker + Celery beat + live
## (uvicorn: the big screen's websockets on LIVE_PORT, 8001); Ctrl-C stops all
run: export LIVE_WS_PORT ?= $(or $(LIVE_PORT),8001)
run: setup
	@if [ -z "$$DJANGO_DEBUG" ] && [ -z "$$DJANGO_SECRET_KEY" ]; then \
	  echo "No DJANGO_SECRET_KEY set: running in development mode (DJANGO_DEBUG=1)."; fi
	@export DJANGO_DEBUG=$${DJANGO_DEBUG:-$$([ -z "$$DJANGO_SECRET_KEY" ] && echo 1 || echo 0)}; \
	  $(PY) manage.py migrate --noinput && \
	  $(PY) manage.py collectstatic --noinput -v 0 && \
	  exec $(PY) bin/run-procfile Procfile

## test: set everything up, then run the whole test suite
test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

setup: system-deps $(VENV)/.installed

# mysqlclient compiles against the MariaDB client headers; install them when missing.
system-deps:
	@if ! pkg-config --exists libmariadb 2>/dev/null && ! pkg-config --exists mysqlclient 2>/dev/null; then \
	  echo "Installing Debian's libmariadb-dev and pkg-config (mysqlclient builds against them)..."; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libmariadb-dev pkg-config; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libmariadb-dev pkg-config; fi; \
	fi

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(PY) || python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements-dev.txt
	@touch $@

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

check-migrations: setup
	$(PY) manage.py makemigrations --check --dry-run

# The whole dependency tree is pinned with hashes, compiled from the *.in files by uv. An existing
# pin is kept unless the .in files ask otherwise (uv prefers what the output file already holds), so
# `make requirements` after editing a .in file changes only what that edit needs.
UV_COMPILE = $(VENV)/bin/uv pip compile -q --python-version 3.11 --generate-hashes \
	--custom-compile-command "make requirements"
requirements: setup
	$(UV_COMPILE) -o requirements.txt requirements.in
	$(UV_COMPILE) -o requirements-dev.txt requirements-dev.in

## requirements-check: fail when requirements*.txt are not what the *.in files compile to
requirements-check: setup
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	  cp requirements.txt requirements-dev.txt $$tmp/; \
	  $(UV_COMPILE) -o $$tmp/requirements.txt requirements.in && \
	  $(UV_COMPILE) -o $$tmp/requirements-dev.txt requirements-dev.in && \
	  diff -u requirements.txt $$tmp/requirements.txt && \
	  diff -u requirements-dev.txt $$tmp/requirements-dev.txt && \
	  echo "requirements*.txt are current."

ci:
	bash .ci/run

clean:
	rm -rf $(VENV) var

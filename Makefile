# The two commands a new user needs: `make demo` and `make test`.
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")

.PHONY: demo test install services lint faults

install: tools/node_modules/.package-lock.json  ## Python (uv, locked) and Node tools (AsyncAPI CLI, Compose schema)
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen

# npm ci starts from an empty node_modules, so run it only when the lock file changed.
tools/node_modules/.package-lock.json: tools/package-lock.json
	npm ci --prefix tools --no-audit --no-fund --loglevel=error

services:  ## start PostgreSQL/RabbitMQ if needed, enable the plugins the hub uses
	bash scripts/services.sh

demo: install services  ## run the hub end to end: register a provider, single and batch registrations
	$(UV) run hub demo

test: install services  ## the whole suite: unit, integration (real RabbitMQ/PostgreSQL), e2e
	$(UV) run pytest

lint: install  ## ruff (lint and format) and mypy --strict
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy

faults: install services  ## the fault harness: private PostgreSQL and RabbitMQ cluster, every fault under load
	$(UV) run python bench/faults.py

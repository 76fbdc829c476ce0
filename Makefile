# Two commands for a fresh machine: `make demo` and `make test`. Everything else is installed by them.
SHELL := /bin/bash
PYTHON ?= python3.13
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .tools
SAM_CLI_VERSION := 1.170.0
CFN_LINT_VERSION := 1.58.0
CFN_LINT_SERVERLESS_VERSION := 0.3.6
CHECKOV_VERSION := 3.3.30
COSMIC_RAY_VERSION := 8.7.0
export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: lock demo test test-shuffled unit integration contract template fuzz fuzz-quick lint typecheck tools build package deploy check-env bench bench-faults clean mutation

# requirements-dev.txt pins (with hashes) every distribution of the venv, pip itself included.
$(BIN)/.installed: requirements-dev.txt layers/shared/requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# The one source of dependencies is pyproject.toml; both pinned files are compiled from it, with hashes.
# requirements-dev.txt: everything, with the [local] and [dev] extras. layers/shared/requirements.txt:
# the runtime dependencies only, at the dev venv's versions (-c), without what the Lambda runtime
# provides (LAMBDA_RUNTIME_PROVIDED: the layer installs with --no-deps, so they are never downloaded).
# Existing pins are kept; to move one: `make lock LOCK_ARGS="--upgrade-package NAME"` (or --upgrade).
# pip-compile's note that the layer file "may be rejected by pip install" (botocore & co unpinned) does
# not apply: the layer installs it with --no-deps.
LAMBDA_RUNTIME_PROVIDED := boto3 botocore s3transfer python-dateutil six
LOCK_ARGS ?=
PIP_COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes --strip-extras --no-emit-index-url \
	--no-emit-find-links $(LOCK_ARGS)
lock: $(BIN)/.installed
	$(PIP_COMPILE) --allow-unsafe --extra local --extra dev --output-file requirements-dev.txt pyproject.toml
	$(PIP_COMPILE) $(addprefix --unsafe-package ,$(LAMBDA_RUNTIME_PROVIDED)) --constraint requirements-dev.txt \
		--output-file layers/shared/requirements.txt pyproject.toml

# aws-sam-cli and cfn-lint pin their own boto3/pydantic: each lives in its own environment.
# The stamps do not depend on this Makefile: editing it must not reinstall shared tool environments
# (TOOLS=...); after changing a version, `rm -rf .tools` (or the one environment) and run `make tools`.
$(TOOLS)/sam/.installed:
	test -x $(TOOLS)/sam/bin/python || $(PYTHON) -m venv $(TOOLS)/sam
	$(TOOLS)/sam/bin/pip install --quiet aws-sam-cli==$(SAM_CLI_VERSION)
	touch $@

$(TOOLS)/cfnlint/.installed:
	test -x $(TOOLS)/cfnlint/bin/python || $(PYTHON) -m venv $(TOOLS)/cfnlint
	$(TOOLS)/cfnlint/bin/pip install --quiet cfn-lint==$(CFN_LINT_VERSION) \
		cfn-lint-serverless==$(CFN_LINT_SERVERLESS_VERSION)
	touch $@

$(TOOLS)/checkov/.installed:
	test -x $(TOOLS)/checkov/bin/python || $(PYTHON) -m venv $(TOOLS)/checkov
	$(TOOLS)/checkov/bin/pip install --quiet checkov==$(CHECKOV_VERSION)
	touch $@

$(TOOLS)/mutation/.installed: Makefile
	test -x $(TOOLS)/mutation/bin/python || $(PYTHON) -m venv $(TOOLS)/mutation
	$(TOOLS)/mutation/bin/pip install --quiet cosmic-ray==$(COSMIC_RAY_VERSION)
	touch $@

# On demand (minutes per module): mutation score of the sync decision code, per module (bar: 90%),
# equivalent mutants (scripts/mutation_equivalent.txt) excluded. MUTATION_ARGS: e.g. one module's
# path, or --retest-survivors after adding tests (keeps the last run's killed mutants).
MUTATION_ARGS ?=
mutation: $(BIN)/.installed $(TOOLS)/mutation/.installed
	$(BIN)/python scripts/mutation.py --cosmic-ray $(TOOLS)/mutation/bin $(MUTATION_ARGS)

tools: $(TOOLS)/sam/.installed $(TOOLS)/cfnlint/.installed $(TOOLS)/checkov/.installed

demo: $(BIN)/.installed
	$(BIN)/jira-bridge local demo

lint: $(BIN)/.installed
	$(BIN)/ruff check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy layers/shared/jira_bridge local functions

unit: $(BIN)/.installed
	$(BIN)/pytest -q tests/unit -p no:cacheprovider --disable-socket

integration: $(BIN)/.installed
	$(BIN)/pytest -q tests/integration -p no:cacheprovider --allow-hosts=127.0.0.1

contract: $(BIN)/.installed
	$(BIN)/pytest -q tests/contract -p no:cacheprovider --allow-hosts=127.0.0.1

template: $(BIN)/.installed tools
	JIRA_BRIDGE_TOOLS=$(abspath $(TOOLS)) $(BIN)/pytest -q tests/template -p no:cacheprovider

# Hostile input through the real handlers: a few hundred per entry point here (part of `make test`),
# FUZZ_INPUTS (>= 10,000) per entry point in `make fuzz`, which prints the table. Metrics lines are dropped.
fuzz-quick: $(BIN)/.installed
	$(BIN)/pytest -q tests/fuzz -p no:cacheprovider --allow-hosts=127.0.0.1

FUZZ_INPUTS ?= 10000
fuzz: $(BIN)/.installed
	set -o pipefail; $(BIN)/python -W ignore -m tests.fuzz.harness $(FUZZ_INPUTS) | grep -v '^{"_aws"'

# The unit and integration tiers in a random order (pytest-random-order: modules shuffled, and the tests
# within each module), so no test can lean on what an earlier one left behind. The seed is printed
# first and last; SEED=N repeats a run's order exactly.
test-shuffled: $(BIN)/.installed
	@seed=$(or $(SEED),$$RANDOM$$RANDOM); failed=""; echo "== shuffled with seed $$seed"; \
	$(BIN)/pytest -q tests/unit -p no:cacheprovider --disable-socket \
		--random-order-bucket=module --random-order-seed=$$seed || failed="$$failed unit"; \
	$(BIN)/pytest -q tests/integration -p no:cacheprovider --allow-hosts=127.0.0.1 \
		--random-order-bucket=module --random-order-seed=$$seed || failed="$$failed integration"; \
	echo "== shuffled with seed $$seed: $${failed:+FAILED:$$failed}$${failed:-passed} (again: make test-shuffled SEED=$$seed)"; \
	test -z "$$failed"

# Every tier runs and reports even when an earlier one fails; the run then exits non-zero.
TIERS := lint typecheck unit integration contract fuzz-quick template
test: $(BIN)/.installed
	@failed=""; for tier in $(TIERS); do \
		echo "== $$tier"; $(MAKE) --no-print-directory $$tier TOOLS=$(TOOLS) || failed="$$failed $$tier"; \
	done; \
	if [ -n "$$failed" ]; then echo "== FAILED:$$failed"; exit 1; fi; echo "== all tiers passed: $(TIERS)"

# sam build alone builds everything: the shared layer through layers/shared/Makefile (BuildMethod:
# makefile), which prunes what the runtime provides and precompiles the cold-start closure with
# scripts/finalize_layer.py (<= 20 MB unzipped), so `sam build`, `sam sync` and `make build` ship
# the same artefact.
SAM := $(TOOLS)/sam/bin/sam
build: tools $(BIN)/.installed
	$(SAM) build

# Deploy one environment of samconfig.toml (dev, staging, prod): needs AWS credentials.
ENV ?=
check-env:
	@test -n "$(ENV)" || { echo "name the environment: make deploy ENV=dev|staging|prod (samconfig.toml)" >&2; exit 2; }
	@grep -q '^\[$(ENV)\.deploy\.parameters\]' samconfig.toml || \
		{ echo "samconfig.toml has no [$(ENV).deploy.parameters]: add it or use dev, staging or prod" >&2; exit 2; }

# REGION=... (or AWS_DEFAULT_REGION, or region in the environment's samconfig section: SAM CLI does not read AWS_REGION)
REGION ?=
deploy: check-env build
	$(SAM) deploy --config-env $(ENV) $(if $(REGION),--region $(REGION))

# The deploy path without an AWS account: build, then `sam package` against an S3 bucket on
# loopback (scripts/package_dry_run.py); the packaged template and zips land in .aws-sam/package/ENV.
package: check-env build
	$(BIN)/python scripts/package_dry_run.py --env $(ENV) --sam $(SAM)

bench: $(BIN)/.installed
	$(BIN)/python bench/run.py

# Incident delivery under Jira faults (outages, one failing incident, a 429 storm, a 3-site scale run) on
# the local stack and a simulated clock; prints one row of issue 9's figures per scenario (bench/faults.py).
bench-faults: $(BIN)/.installed
	$(BIN)/python bench/faults.py 2> >(grep -v -e '^{' -e 'UserWarning' -e 'flush_metrics' >&2)

clean:
	rm -rf $(VENV) $(TOOLS) .aws-sam .pytest_cache .mypy_cache .ruff_cache

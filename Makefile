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
export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test unit integration contract template fuzz fuzz-quick lint typecheck tools build bench bench-faults clean

$(BIN)/.installed: requirements-dev.txt layers/shared/requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# aws-sam-cli and cfn-lint pin their own boto3/pydantic: each lives in its own environment.
$(TOOLS)/sam/.installed: Makefile
	test -x $(TOOLS)/sam/bin/python || $(PYTHON) -m venv $(TOOLS)/sam
	$(TOOLS)/sam/bin/pip install --quiet aws-sam-cli==$(SAM_CLI_VERSION)
	touch $@

$(TOOLS)/cfnlint/.installed: Makefile
	test -x $(TOOLS)/cfnlint/bin/python || $(PYTHON) -m venv $(TOOLS)/cfnlint
	$(TOOLS)/cfnlint/bin/pip install --quiet cfn-lint==$(CFN_LINT_VERSION) \
		cfn-lint-serverless==$(CFN_LINT_SERVERLESS_VERSION)
	touch $@

$(TOOLS)/checkov/.installed: Makefile
	test -x $(TOOLS)/checkov/bin/python || $(PYTHON) -m venv $(TOOLS)/checkov
	$(TOOLS)/checkov/bin/pip install --quiet checkov==$(CHECKOV_VERSION)
	touch $@

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
	JIRA_BRIDGE_TOOLS=$(TOOLS) $(BIN)/pytest -q tests/template -p no:cacheprovider

# Hostile input through the real handlers: a few hundred per entry point here (part of `make test`),
# FUZZ_INPUTS (>= 10,000) per entry point in `make fuzz`, which prints the table. Metrics lines are dropped.
fuzz-quick: $(BIN)/.installed
	$(BIN)/pytest -q tests/fuzz -p no:cacheprovider --allow-hosts=127.0.0.1

FUZZ_INPUTS ?= 10000
fuzz: $(BIN)/.installed
	set -o pipefail; $(BIN)/python -W ignore -m tests.fuzz.harness $(FUZZ_INPUTS) | grep -v '^{"_aws"'

test: lint typecheck unit integration contract fuzz-quick template

# Always both steps: sam build bundles botocore (through aws-xray-sdk) and ships no .pyc;
# finalize_layer.py prunes what the runtime provides, drops files nothing reads and precompiles
# what the handlers import at cold start and first use (the layer must stay <= 20 MB unzipped).
build: tools $(BIN)/.installed
	$(TOOLS)/sam/bin/sam build --parallel
	$(BIN)/python scripts/finalize_layer.py .aws-sam/build/JiraBridgeLayer

bench: $(BIN)/.installed
	$(BIN)/python bench/run.py

# Incident delivery under Jira faults (outages, one failing incident, a 429 storm, a 3-site scale run) on
# the local stack and a simulated clock; prints one row of issue 9's figures per scenario (bench/faults.py).
bench-faults: $(BIN)/.installed
	$(BIN)/python bench/faults.py 2> >(grep -v -e '^{' -e 'UserWarning' -e 'flush_metrics' >&2)

clean:
	rm -rf $(VENV) $(TOOLS) .aws-sam .pytest_cache .mypy_cache .ruff_cache

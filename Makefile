# Developers and CI run the same targets. `make test` builds its own virtual environment.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# What the one-file agent is built from; it must run on Python 3.8 (checked statically by vermin).
# The same list is SOURCES in assistcli/controller/agent_package.py (a unit test compares them).
AGENT_SOURCES := agentd assistcli/__init__.py assistcli/api/agent.py assistcli/api/status.py assistcli/api/wire.py

.PHONY: install lint typecheck test test-faults test-postgresql unit e2e bench demo docs completions agent clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check assistcli agentd tests
	$(BIN)/ruff format --check assistcli agentd tests
	$(BIN)/vermin -q -t=3.8- --no-tips --violations $(AGENT_SOURCES)

typecheck: $(STAMP)
	$(BIN)/mypy

# Suites run a second time with every test controller on PostgreSQL: the API in process, and the
# end-to-end suites that lean most on the store (`make test-postgresql` runs them all).
POSTGRES_SUITES := tests/integration tests/e2e/test_agent_durability.py tests/e2e/test_restart.py \
	tests/e2e/test_schedules.py tests/e2e/test_send_file.py tests/e2e/test_agent_output.py

# Lint, types and every test. pytest exits non-zero (5) when no test ran, which fails the target.
# The long fault-injection cases run under `make test-faults`; each has a fast representative here.
test: lint typecheck
	$(BIN)/pytest -q -m "not faults"
	ASSIST_TEST_STORE=postgresql $(BIN)/pytest -q -m "not faults" $(POSTGRES_SUITES)

test-faults: $(STAMP)
	$(BIN)/pytest -q -m faults

# The end-to-end suites with every test controller on PostgreSQL (see tests/pgtest.py).
test-postgresql: $(STAMP)
	ASSIST_TEST_STORE=postgresql $(BIN)/pytest -q -m "not faults" tests/e2e tests/integration

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

e2e: $(STAMP)
	$(BIN)/pytest -q tests/e2e

bench: $(STAMP)
	$(BIN)/python tests/bench/__main__.py

docs: $(STAMP)
	$(BIN)/python -m assistcli.docgen docs/api.md

# Shell completions, generated from the command tree and the action table (a test checks them).
completions: $(STAMP)
	$(BIN)/python -m assistcli.cli.completion completions

# The one-file agent: a zipapp that runs with python3 (3.8+) alone; the controller serves it too.
agent: $(STAMP)
	$(BIN)/python -m assistcli.controller.agent_package dist/agentd.pyz

demo: $(STAMP)
	$(BIN)/assistcli quickstart

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache dist

# provledger: every target installs what it needs (a .venv from PyPI, node_modules from npm).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
PYTEST_ARGS ?=

.PHONY: all deps demo test test-deep test-fast lint format compile gas lock clean

all: test

deps: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	$(PYTHON) scripts/vendor_assets.py
	touch $@

# make demo PORT=8900: the demo's gateway on another port than 8000.
demo: deps
	$(BIN)/provledger demo$(if $(PORT), --port $(PORT))

lint: deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python scripts/slither_check.py

format: deps
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The whole suite: lint, then every test on eth-tester and on anvil.
test: lint
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

# Longer profiles: more hypothesis steps, bigger chains.
test-deep: lint
	PROVLEDGER_TEST_PROFILE=deep $(BIN)/pytest -n 2 $(PYTEST_ARGS)

compile: deps
	$(BIN)/provledger compile

gas: deps
	$(BIN)/python scripts/gas_report.py

# Re-pin the Python dependency set after changing pyproject.toml.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	.lock-venv/bin/python -m pip freeze --exclude-editable --disable-pip-version-check > constraints.txt
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis test-output

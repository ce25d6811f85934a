# The two set-up commands of the README: `make run` and `make test`.
# Each creates what it needs on first use (a virtual environment in .venv; the
# tests also install Debian's Dovecot and Request Tracker 5 when they are missing).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test fuzz bench bench-scale lint format clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/gateway serve

test: $(STAMP)
	bash scripts/install-dovecot.sh
	sh scripts/install-rt.sh
	$(BIN)/pytest

# The privacy property test with a long budget (the normal suite runs 25 examples).
fuzz: $(STAMP)
	PRIVACY_FUZZ_EXAMPLES=$${PRIVACY_FUZZ_EXAMPLES:-2000} $(BIN)/pytest -q tests/test_privacy_property.py

bench: $(STAMP)
	bash scripts/install-dovecot.sh
	$(BIN)/python -m bench

bench-scale: $(STAMP)
	$(BIN)/python -m bench.scale

lint: $(STAMP)
	$(BIN)/ruff check gateway tests bench
	$(BIN)/ruff format --check gateway tests bench

format: $(STAMP)
	$(BIN)/ruff format gateway tests bench
	$(BIN)/ruff check --fix gateway tests bench

clean:
	rm -rf $(VENV) var .pytest_cache

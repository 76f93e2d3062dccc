# Passport: `make run` serves it, `make test` checks and tests it. See README.md.
PYTHON ?= python3
VENV ?= .venv
PASSPORT_HOME ?= var
export PASSPORT_HOME

BIN := $(VENV)/bin
CONSTRAINTS := requirements/constraints.txt

.PHONY: run test check bench install install-test lock clean

run: $(VENV)/.installed
	@if [ ! -d "$(PASSPORT_HOME)" ]; then $(BIN)/passport init; fi
	$(BIN)/passport run

test: $(VENV)/.installed-test
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/check
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/test

check: $(VENV)/.installed-test
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/check

bench: $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c $(CONSTRAINTS) -r bench/requirements.txt
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/run.py
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m bench.accounts
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m bench.xkms
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m bench.xkms_krss
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m bench.soap_peers

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c $(CONSTRAINTS) -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml $(CONSTRAINTS) $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c $(CONSTRAINTS) -e '.[test]'
	@touch $@

# Re-pin every dependency after changing pyproject.toml.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet -e '.[test]'
	.lock-venv/bin/python -m pip freeze --exclude-editable --exclude passport-server > $(CONSTRAINTS)
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis .coverage

# The two entry points of the README. Both work on a fresh clone with only python3 installed.
PY ?= python3
VENV ?= .venv
MIRROR ?= $(wildcard ../shared/snapshots)
export JLAC_MIRROR ?= $(abspath $(MIRROR))

# 2 xdist workers, tests sharing a session warehouse kept on one (tests/conftest.py, docs/testing.md); PYTEST_WORKERS=
# (empty) runs in one process.
PYTEST_WORKERS ?= -n 2 --dist loadgroup

.PHONY: setup run test lint clean

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

setup: $(VENV)/.installed

run: setup
	$(VENV)/bin/jlac refresh

lint: setup
	$(VENV)/bin/ruff check flows tests benchmarks

test: setup lint
	$(VENV)/bin/pytest -q $(PYTEST_WORKERS)

clean:
	rm -rf $(VENV)

# The two entry points of the README. Both work on a fresh clone with only python3 installed.
PY ?= python3
VENV ?= .venv
MIRROR ?= $(wildcard ../shared/snapshots)
export JLAC_MIRROR ?= $(abspath $(MIRROR))

.PHONY: setup run test lint clean

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

setup: $(VENV)/.installed

run: setup
	$(VENV)/bin/jlac refresh

test: setup
	$(VENV)/bin/ruff check flows tests benchmarks
	$(VENV)/bin/pytest -q

clean:
	rm -rf $(VENV)

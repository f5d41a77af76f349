# The two entry points of the README. Both work on a fresh clone with only python3 installed.
PY ?= python3
VENV ?= .venv
MIRROR ?= $(wildcard ../shared/snapshots)
# MIRROR= on make's command line wins over an exported JLAC_MIRROR (the README exports one for the CLI examples)
ifeq ($(origin MIRROR),command line)
export JLAC_MIRROR := $(abspath $(MIRROR))
else
export JLAC_MIRROR ?= $(abspath $(MIRROR))
endif

# One xdist worker per core (at least 2, at most 8), tests sharing a session warehouse kept on one (tests/conftest.py,
# docs/testing.md): the suite is CPU-bound, so more workers than cores only share them. PYTEST_WORKERS= (empty) runs
# in one process.
CORES := $(shell n=$$(nproc 2>/dev/null || echo 2); [ "$$n" -lt 2 ] && n=2; [ "$$n" -gt 8 ] && n=8; echo $$n)
PYTEST_WORKERS ?= -n $(CORES) --dist loadgroup
# The tests' scratch homes (about 70 small warehouses published, copied and thrown away) go to memory when /dev/shm
# has 8 GB free: 7 % of `make test` on this machine (docs/testing.md). TEST_TMPDIR=/somewhere picks another place.
TEST_TMPDIR ?= $(shell [ -d /dev/shm ] && [ "$$(df -Pk /dev/shm | awk 'NR==2 {print $$4}')" -gt 8000000 ] 2>/dev/null && echo /dev/shm/jlac-tests-$$(id -u))

.PHONY: setup run test lint clean lock

# constraints.txt pins every package to the versions the suite last passed with (`make lock` renews it)
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

setup: $(VENV)/.installed

run: setup
	$(VENV)/bin/jlac refresh

lint: setup
	$(VENV)/bin/ruff check flows tests benchmarks

test: setup lint
	$(if $(TEST_TMPDIR),mkdir -p -m 755 $(TEST_TMPDIR))
	$(if $(TEST_TMPDIR),TMPDIR=$(TEST_TMPDIR)) $(VENV)/bin/pytest -q $(PYTEST_WORKERS)

clean:
	rm -rf $(VENV)

# Resolve pyproject.toml's ranges afresh in a throwaway venv and write what it installed into constraints.txt (its
# comment header kept); then `make clean test` and commit both if the suite passes.
lock:
	rm -rf .lock-venv
	$(PY) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet -e '.[test]'
	{ grep '^#' constraints.txt; .lock-venv/bin/pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf .lock-venv

"""constraints.txt (what `make setup` installs) pins every dependency pyproject.toml declares, within its range."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _pins(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not a pin (name==version)"
            pins[canonicalize_name(name)] = version
    return pins


def test_every_declared_dependency_is_pinned_within_its_range():
    """A dependency added to pyproject.toml without `make lock` (or a range moved past its pin) would be installed
    at whatever version the registry has that day, or not at all: pip refuses a pin outside the range."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]]
    pins = _pins((ROOT / "constraints.txt").read_text())
    problems = []
    for req in declared:
        version = pins.get(canonicalize_name(req.name))
        if version is None:
            problems.append(f"{req.name}: not pinned")
        elif not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req.name}: pinned {version}, outside {req.specifier}")
    assert not problems, "constraints.txt (run `make lock`): " + "; ".join(problems)


def test_a_line_that_is_not_a_pin_is_named():
    assert _pins("# header\nduckdb==2.0.1  # why\n\n") == {"duckdb": "2.0.1"}
    try:
        _pins("duckdb>=1.2\n")
    except AssertionError as exc:
        assert "'duckdb>=1.2' is not a pin" in str(exc)
    else:
        raise AssertionError("a range was taken for a pin")

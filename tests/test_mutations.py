"""Every source under attack: each damaged or odd-but-valid variant is refused naming where, or accepted.

One test per (source, mutation), through the path a refresh takes for one source (verify, parse to the cache,
load into a scratch build, validate): see tests/mutation_harness.py. Sources and their expectations:
tests/mutation_sources.py; the table of what is refused and accepted, and why: docs/robustness.md.
"""

from __future__ import annotations

import logging

import pytest
from jlac.sources import all_sources
from mutation_harness import Accepted, Gap, Outcome, base_snapshot, check_refusal, reseal, run_source
from mutation_sources import SPECS

CASES = [(name, case) for name, spec in SPECS.items() for case in spec.cases()]
_BASE_ROWS: dict[str, int] = {}


def _env(monkeypatch, tmp_path, mirror_root):
    # imf-imts reads older vintages through the environment's settings: point it at the case's own mirror
    monkeypatch.setenv("JLAC_MIRROR", str(mirror_root))
    monkeypatch.setenv("JLAC_WAREHOUSE", str(tmp_path / "env" / "jlac.duckdb"))
    monkeypatch.delenv("JLAC_SNAPSHOTS", raising=False)


def base_rows(source: str, tmp_path_factory) -> int:
    """Rows the unmutated base loads (once per source)."""
    if source not in _BASE_ROWS:
        home = tmp_path_factory.mktemp(f"base-{source}")
        outcome = run_source(source, base_snapshot(SPECS[source], home / "mirror"), home,
                             SPECS[source].with_sources)
        assert outcome.stage == "accepted", f"{source}: the unmutated base is refused:\n{outcome.message}"
        _BASE_ROWS[source] = outcome.rows
    return _BASE_ROWS[source]


def test_every_source_has_a_spec():
    """A new source is attacked too: add its SourceSpec to tests/mutation_sources.py."""
    missing = sorted(set(all_sources()) - set(SPECS))
    assert not missing, f"sources without mutation cases (add them to tests/mutation_sources.py): {missing}"


@pytest.mark.parametrize(("source", "case"), CASES, ids=[f"{s}: {c}" for s, c in CASES])
def test_mutation(source, case, tmp_path, tmp_path_factory, monkeypatch, caplog):
    spec = SPECS[source]
    mutate, expected = spec.cases()[case]
    if case == "unchanged (control)":  # every source's path through a folder named as GX would read a variable: GX
        tmp_path = tmp_path / "d$NOSUCHx"  # took "$NOSUCHx" in its connection string for one (found by a QA pass)
        tmp_path.mkdir()
    _env(monkeypatch, tmp_path, tmp_path / "mirror")
    vintage = base_snapshot(spec, tmp_path / "mirror")
    change = mutate(vintage)
    reseal(vintage)
    caplog.set_level(logging.INFO, logger="jlac")  # the parse logs the repeats it drops (jlac.parse)
    # any non-jlac exception fails the test here
    outcome: Outcome = run_source(source, vintage, tmp_path, spec.with_sources)
    if isinstance(expected, Gap):  # a known gap (docs/robustness.md): pinned, so that a fix shows up here
        assert outcome.stage == "accepted", f"{source} now refuses {case}: make it a Refused case\n{outcome.message}"
        return
    if isinstance(expected, Accepted):
        assert outcome.stage == "accepted", (
            f"{source} refused a variant it should accept ({expected.why}):\n{outcome.message}")
        assert outcome.rows > 0
        if expected.same_rows:
            assert outcome.rows == base_rows(source, tmp_path_factory)
        if "repeated, same values" in case:  # dropped, but never silently
            assert "identical repeated row(s) dropped" in caplog.text
    else:
        assert outcome.stage != "accepted", f"{source} accepted damaged data ({case}): {outcome.rows} rows"
        check_refusal(spec, vintage, change, outcome, expected)

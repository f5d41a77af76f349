"""A few mutation cases per file type through a whole refresh: refused, the published warehouse byte-identical.

The fast cases (tests/test_mutations.py) run one source's path; these show the same refusals stop a full
``pipeline.refresh`` on a small mirror before anything is published, and that ``jlac refresh`` on the command
line prints a message, not a Python traceback.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys

import pytest
from conftest import IMF_DOTS, JAPAN_WORKBOOK, REPO, small_mirror
from jlac import errors, ledger, pipeline
from jlac.config import Settings
from jlac.errors import JlacError, ParseError, ValidationFailed
from mutation_harness import base_snapshot, reseal
from mutation_sources import SPECS

GOOD = {"DOTS_101.xlsx": JAPAN_WORKBOOK, "DOTS_88.xlsx": IMF_DOTS / "DOTS_88.xlsx"}


@pytest.fixture(scope="module")
def published(good_home):
    """(home, settings) of the session's warehouse published from the good small mirror (conftest.good_home)."""
    home, settings, record = good_home
    assert record.status == "completed"
    return home, settings


def _digest(settings: Settings) -> str:
    return hashlib.sha256(settings.warehouse.read_bytes()).hexdigest()


def variant(published, mirror, source: str, case: str):
    """The good small mirror with ``source`` replaced by its mutation-harness base, mutated by ``case``."""
    home, _ = published
    root = small_mirror(home / f"{source}-{case}".replace(" ", "_").replace(",", ""), mirror, GOOD)
    target = root / source
    if target.is_symlink():
        target.unlink()
    elif target.exists():
        shutil.rmtree(target)
    vintage = base_snapshot(SPECS[source], root)
    mutate, _ = SPECS[source].cases()[case]
    change = mutate(vintage)
    reseal(vintage)
    return root, vintage, change


CASES = [
    # (source, case, error type, texts the message must hold)
    ("imf-dots", "header footnote mark", ParseError, ["imf-dots/2022-02-02", "DOTS_101.xlsx", "row 7", "2018 1/"]),
    ("imf-dots", "row repeated, conflicting value", ValidationFailed,
     ["no conflicting values", "Brazil", "4004.035503", "4005.035503"]),
    ("fred-exjpus", "value not a number", ParseError, ["fred-exjpus/2025-05-27", "EXJPUS.csv", "line 2", "n.a.*"]),
    ("oecd-dac2a", "row repeated, conflicting value", ValidationFailed,
     ["oecd-dac2a/2022-01-18", "ODA-2008-DAC2a.csv"]),
    ("japan-customs-country-codes", "file truncated", JlacError, ["japan-customs-country-codes/2021-09-23",
                                                                  "Countries.csv"]),
]


@pytest.mark.parametrize(("source", "case", "error", "texts"), CASES, ids=[f"{s}: {c}" for s, c, *_ in CASES])
def test_refresh_refuses_and_keeps_the_published_warehouse(published, mirror, source, case, error, texts):
    _, settings = published
    before = _digest(settings)
    root, _, _ = variant(published, mirror, source, case)
    bad = Settings(warehouse=settings.warehouse, snapshots=settings.snapshots, mirrors=(root,),
                   output=settings.output)
    with pytest.raises(error) as info:
        pipeline.refresh(bad, trigger="test")
    text = str(info.value) + (info.value.report_path.read_text() if isinstance(info.value, ValidationFailed) else "")
    for t in texts:
        assert t in text, f"{t!r} not in:\n{text}"
    assert errors.UNEXPECTED not in text
    assert _digest(settings) == before  # the published warehouse is byte-identical
    assert ledger.read(settings.run_ledger)[-1]["failed_source"] == source


def test_cli_prints_a_message_not_a_traceback(published, mirror, prefect_api_url):
    """`jlac refresh` on a damaged header: exit 1, the error on stderr, no Python traceback."""
    home, settings = published
    before = _digest(settings)
    root, _, _ = variant(published, mirror, "imf-dots", "header renamed")
    env = {**os.environ, "JLAC_MIRROR": str(root), "JLAC_WAREHOUSE": str(settings.warehouse),
           "JLAC_SNAPSHOTS": str(settings.snapshots), "JLAC_OUTPUT": str(settings.output),
           "PREFECT_HOME": str(home / "prefect"), "PREFECT_API_URL": prefect_api_url}  # the session's API
    done = subprocess.run([sys.executable, "-m", "jlac.cli", "refresh"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout, done.stderr[-4000:]
    assert "jlac: ParseError" in done.stderr and "DOTS_101.xlsx" in done.stderr and "2018 (renamed)" in done.stderr
    assert _digest(settings) == before
    # its flow run is tagged as the deployments' are (filtering by 'jlac' missed every CLI run: found by a QA pass)
    import httpx

    flow_run_id = ledger.read(settings.run_ledger)[-1]["flow_run_id"]
    run = httpx.get(f"{prefect_api_url}/flow_runs/{flow_run_id}", timeout=30).json()
    assert {"jlac", "cli"} <= set(run["tags"]), run["tags"]

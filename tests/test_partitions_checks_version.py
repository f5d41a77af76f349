"""The checks version of a partitioned source: published partitions are checked again when the suite's code changes."""

from __future__ import annotations

import inspect

import pytest
from jlac import partitions
from jlac.sources import all_sources

SRC = "mof-hs9-country"


def _edited(monkeypatch, module_name: str) -> None:
    """Make ``inspect.getsource`` read ``module_name`` as if a line had been added to its file."""
    real = inspect.getsource
    monkeypatch.setattr(inspect, "getsource",
                        lambda obj: real(obj) + ("\n# edited\n" if obj.__name__ == module_name else ""))


@pytest.mark.parametrize("module_name", ["jlac.checks", "jlac.validation",
                                         "jlac.sources.mof_hs9_country.checks"])
def test_changes_when_a_jlac_module_the_checks_use_changes(monkeypatch, module_name):
    """mof-hs9-country's checks import helpers from jlac.checks and jlac.validation: a fix there must check the
    published partitions again, as ``files_to_validate`` skips those published under the same version."""
    source = all_sources()[SRC]
    before = partitions.checks_version(source)
    _edited(monkeypatch, module_name)
    assert partitions.checks_version(source) != before


def test_stays_put_when_nothing_the_checks_use_changes(monkeypatch):
    source = all_sources()[SRC]
    before = partitions.checks_version(source)
    assert partitions.checks_version(source) == before
    _edited(monkeypatch, "jlac.cli")  # the command line: no check runs it
    assert partitions.checks_version(source) == before

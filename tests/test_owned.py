"""Folders of JLAC_OUTPUT that jlac replaces whole (the report site, dbt's docs site): one of the user's under those
names is refused and left as it is (jlac.owned; found by a QA pass: `jlac report` deleted JLAC_OUTPUT/site)."""

from __future__ import annotations

import pytest
from jlac import owned, preflight
from jlac.config import Settings
from jlac.errors import JlacError


def _settings(tmp_path) -> Settings:
    return Settings(tmp_path / "wh" / "jlac.duckdb", tmp_path / "wh" / "snapshots", (), tmp_path / "out")


def test_a_site_folder_of_the_users_is_refused_before_any_work_and_kept(tmp_path):
    from jlac.site import write_site

    settings = _settings(tmp_path)
    post = settings.output / "site" / "blog" / "post.md"
    post.parent.mkdir(parents=True)
    post.write_text("notes")
    # no warehouse at all: the refusal comes first, before rendering anything
    with pytest.raises(JlacError, match=r"out/site holds files jlac did not write \(blog\); jlac writes its report "
                                        "site there, replacing the folder whole: move those files elsewhere"):
        write_site(settings)
    assert post.read_text() == "notes"
    assert sorted(p.name for p in settings.output.iterdir()) == ["site"]  # no work folder left


def test_preflight_refuses_a_refresh_whose_output_holds_a_folder_of_the_users(tmp_path):
    settings = _settings(tmp_path)
    docs = settings.output / "dbt-docs"
    docs.mkdir(parents=True)
    (docs / "index.html").write_text("jlac's")  # what jlac writes there: replaceable
    (docs / "catalog.json").write_text("{}")
    owned.check_replaceable(docs, {"index.html", "catalog.json"}, "dbt's docs site")
    (docs / "my-notes.txt").write_text("mine")
    with pytest.raises(JlacError, match=r"dbt-docs holds files jlac did not write \(my-notes.txt\); jlac writes dbt's "
                                        "docs site there"):
        preflight.check(settings)
    (docs / owned.MARK).write_text("")  # a folder jlac marked is its own, whatever is in it
    owned.check_replaceable(docs, set(), "dbt's docs site")
    (settings.output / "site").write_text("a file of the user's")
    with pytest.raises(JlacError, match=r"out/site is a file jlac did not write; jlac writes its report site in a "
                                        "folder of that name"):
        preflight.check(settings)


def test_moving_a_runs_folder_in_refuses_one_of_the_users_and_replaces_a_link_as_a_link(tmp_path):
    from jlac.pipeline import _move_into

    staged = tmp_path / "staged" / "dbt-docs"
    staged.mkdir(parents=True)
    (staged / "index.html").write_text("new")
    owned.mark(staged)
    mine = tmp_path / "out" / "dbt-docs"
    mine.mkdir(parents=True)
    (mine / "thesis.tex").write_text("mine")
    with pytest.raises(JlacError, match="thesis.tex"):
        _move_into(staged, mine)
    assert (mine / "thesis.tex").read_text() == "mine"
    (mine / "thesis.tex").unlink()
    mine.rmdir()
    elsewhere = tmp_path / "www"
    elsewhere.mkdir()
    (elsewhere / "keep.html").write_text("kept")
    mine.symlink_to(elsewhere, target_is_directory=True)  # a link: replaced, what it points to left alone
    _move_into(staged, mine)
    assert (mine / "index.html").read_text() == "new" and not mine.is_symlink()
    assert (elsewhere / "keep.html").read_text() == "kept"


def test_an_old_site_this_user_cannot_remove_is_said(tmp_path, monkeypatch, caplog):
    """A site written by root in a service's output folder: the service's next write moved it aside and could not
    delete it, and said nothing (found by a non-root QA pass). Root may delete anything, so the failure is simulated."""
    import logging
    import shutil

    from jlac import site

    old = tmp_path / ".site-123.old"
    (old / "assets").mkdir(parents=True)
    monkeypatch.setattr(shutil, "rmtree", lambda *a, **k: None)
    with caplog.at_level(logging.WARNING, logger="jlac.site"):
        site._remove(old)
    assert f"could not remove {old} (files this user may not delete" in caplog.text

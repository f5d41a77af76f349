"""Folders of JLAC_OUTPUT that jlac replaces whole (the report site, dbt's docs site): one of the user's under those
names is refused and left as it is (jlac.owned; found by a QA pass: `jlac report` deleted JLAC_OUTPUT/site)."""

from __future__ import annotations

import pytest
from jlac import owned, preflight, transform
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
    (docs / "index.html").write_text("a page of the user's")  # jlac's names, not jlac's folder
    (docs / "catalog.json").write_text("{}")
    with pytest.raises(JlacError, match=r"dbt-docs was not written by jlac \(it has no \.jlac-owned, and what it holds "
                                        r"is not jlac's\); jlac writes dbt's docs site there"):
        preflight.check(settings)
    (docs / "jlac-docs.json").write_text("{}")  # jlac's record of what its site describes: written before the mark
    transform.check_docs_folder(docs)
    (docs / "my-notes.txt").write_text("mine")
    (docs / owned.MARK).write_text("")  # marked or not, a file of the user's would be deleted with the folder
    with pytest.raises(JlacError, match=r"dbt-docs holds files jlac did not write \(my-notes.txt\); jlac writes dbt's "
                                        "docs site there"):
        preflight.check(settings)
    (docs / "my-notes.txt").unlink()
    (docs / "jlac-docs.json").unlink()
    transform.check_docs_folder(docs)  # marked
    (settings.output / "site").write_text("a file of the user's")
    with pytest.raises(JlacError, match=r"out/site is a file jlac did not write; jlac writes its report site in a "
                                        "folder of that name"):
        preflight.check(settings)


def test_a_homepage_named_site_is_not_taken_for_jlacs_and_a_site_jlac_wrote_before_the_mark_is(tmp_path):
    """index.html and assets/ are a homepage's usual layout: `jlac report` replaced one by its site, photos and all
    (found by a QA pass). A site is jlac's by its mark, or by its page's title (written before the mark existed)."""
    from jlac.site import check_site_folder

    home = tmp_path / "site"
    (home / "assets").mkdir(parents=True)
    (home / "index.html").write_text("<h1>My homepage</h1>")
    (home / "assets" / "photo.jpg").write_text("PHOTO")
    with pytest.raises(JlacError, match=r"holds files jlac did not write \(assets/photo.jpg\)"):
        check_site_folder(home)
    (home / "assets" / "photo.jpg").unlink()
    (home / "assets" / "me.png").write_text("PNG")
    with pytest.raises(JlacError, match="was not written by jlac"):
        check_site_folder(home)
    (home / "index.html").write_text("<title>Japanese Engagement with LAC — figures reproduced and updated (jlac)"
                                     "</title>")
    check_site_folder(home)
    (home / "NOTES.txt").write_text("mine")
    owned.mark(home)
    with pytest.raises(JlacError, match=r"holds files jlac did not write \(NOTES.txt\)"):
        check_site_folder(home)


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


def test_two_homes_sharing_one_output_folder_are_refused_naming_the_other(tmp_path):
    """Two warehouse homes with one JLAC_OUTPUT overwrote each other's charts and site (the outputs lock is per home;
    found by a QA pass): the second is refused before it builds, naming the first; a home moved or gone is no owner,
    and an output folder inside the home (the default layout, a copied home) is its own."""
    from jlac import warehouse

    shared = tmp_path / "shared-out"
    a = Settings(tmp_path / "a" / "jlac.duckdb", tmp_path / "a" / "snapshots", (), shared)
    b = Settings(tmp_path / "b" / "jlac.duckdb", tmp_path / "b" / "snapshots", (), shared)
    for s in (a, b):
        s.home.mkdir(parents=True)
    shared.mkdir()
    with warehouse.outputs_lock(a, "jlac report"):  # a writes its outputs there: the folder names it
        pass
    assert (shared / warehouse.OUTPUT_OWNER).read_text(encoding="utf-8").strip() == str(a.warehouse)
    assert warehouse.output_owner_problem(a) is None and warehouse.output_owner_problem(b) is None  # a: no file yet
    a.warehouse.write_bytes(b"")  # a's warehouse exists: b may not write a's outputs
    with pytest.raises(JlacError, match=rf"JLAC_OUTPUT {shared} holds the charts, CSVs and site of the warehouse "
                                        rf"{a.warehouse} \(its \.jlac-warehouse\), not {b.warehouse}"):
        preflight.check(b)
    with pytest.raises(JlacError, match=r"^jlac figures: JLAC_OUTPUT"), warehouse.outputs_lock(b, "jlac figures"):
        pass
    # the default layout: an output folder inside the home is its own, whatever a copy of the home carried
    inside = Settings(tmp_path / "c" / "jlac.duckdb", tmp_path / "c" / "snapshots", (), tmp_path / "c" / "output")
    inside.output.mkdir(parents=True)
    (inside.output / warehouse.OUTPUT_OWNER).write_text(str(a.warehouse))
    assert warehouse.output_owner_problem(inside) is None
    a.warehouse.unlink()  # a gone: b may take the folder over
    assert warehouse.output_owner_problem(b) is None

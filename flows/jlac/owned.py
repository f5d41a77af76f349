"""Folders of JLAC_OUTPUT that jlac replaces whole (the report site, dbt's docs site), and the check that one of those
names is not a folder of the user's.

Each write of such a folder swapped in the new one and removed the old, whatever it held: with JLAC_OUTPUT pointed
at a folder that already had a ``site/`` of its own (``JLAC_OUTPUT=$HOME``), `jlac report` deleted it without a
word (found by a QA pass). A folder jlac writes now carries a mark; one without it is replaced only when it holds
nothing but what jlac writes there (written before the mark existed, or emptied), and refused otherwise.
"""

from __future__ import annotations

from pathlib import Path

from jlac.errors import JlacError

MARK = ".jlac-owned"
_MARK_TEXT = "written by jlac, which replaces this folder whole on each write: keep no files of your own here\n"


def mark(folder: Path) -> None:
    """Mark ``folder`` (being written by jlac) as jlac's."""
    (folder / MARK).write_text(_MARK_TEXT, encoding="utf-8")


def check_replaceable(folder: Path, own: set[str] | frozenset[str], what: str) -> None:
    """Raise JlacError when ``folder`` exists and is not jlac's to replace: a file, or a folder without jlac's mark
    that holds more than the names in ``own`` (what jlac writes there). A symbolic link is replaced as a link
    (what it points to is left alone). ``what`` names the folder's content in the message."""
    if folder.is_symlink() or not folder.exists():
        return
    if folder.is_dir():
        try:
            names = {p.name for p in folder.iterdir()}
        except OSError as exc:
            raise JlacError(f"{folder}: cannot list it to replace it with {what} ({exc.strerror or exc})") from exc
        if MARK in names or names <= set(own):
            return
        foreign = sorted(names - set(own))
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise JlacError(f"{folder} holds files jlac did not write ({shown}); jlac writes {what} there, replacing the "
                        "folder whole: move those files elsewhere, or set JLAC_OUTPUT to another folder")
    raise JlacError(f"{folder} is a file jlac did not write; jlac writes {what} in a folder of that name: move the "
                    "file elsewhere, or set JLAC_OUTPUT to another folder")

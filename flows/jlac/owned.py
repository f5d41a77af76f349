"""Folders of JLAC_OUTPUT that jlac replaces whole (the report site, dbt's docs site), and the check that one of those
names is not a folder of the user's.

Each write of such a folder swapped in the new one and removed the old, whatever it held: with JLAC_OUTPUT pointed
at a folder that already had a ``site/`` of its own (``JLAC_OUTPUT=$HOME``), `jlac report` deleted it without a
word (found by a QA pass). A folder jlac writes now carries a mark. A folder holding a file jlac does not write
there is refused, marked or not (the file would go with it); an unmarked one is replaced only when its content shows
that an older jlac wrote it (before the mark existed), or when it is empty.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from jlac.errors import JlacError

MARK = ".jlac-owned"
_MARK_TEXT = ("written by jlac, which replaces this folder whole on each write (and refuses to while it holds a file "
              "of yours): keep your own files elsewhere\n")


def mark(folder: Path) -> None:
    """Mark ``folder`` (being written by jlac) as jlac's."""
    (folder / MARK).write_text(_MARK_TEXT, encoding="utf-8")


def check_replaceable(folder: Path, own: set[str] | frozenset[str], what: str,
                      legacy: Callable[[Path], bool] | None = None,
                      inside: Callable[[Path], list[str]] | None = None) -> None:
    """Raise JlacError unless ``folder`` is jlac's to replace: absent, a symbolic link (replaced as a link; what it
    points to is left alone), or a folder holding only the names in ``own`` (what jlac writes there) and nothing
    ``inside`` reports (e.g. files of the user's in a subfolder) that is either marked, empty, or one an older jlac
    wrote before the mark existed (``legacy``, read from its content). A marked folder with a file of the user's is
    refused too: the file would be deleted with it. ``what`` names the folder's content in the message."""
    if folder.is_symlink() or not folder.exists():
        return
    if not folder.is_dir():
        raise JlacError(f"{folder} is a file jlac did not write; jlac writes {what} in a folder of that name: move "
                        "the file elsewhere, or set JLAC_OUTPUT to another folder")
    try:
        names = {p.name for p in folder.iterdir()}
        foreign = sorted(names - set(own) - {MARK}) + (inside(folder) if inside else [])
    except OSError as exc:
        raise JlacError(f"{folder}: cannot list it to replace it with {what} ({exc.strerror or exc})") from exc
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise JlacError(f"{folder} holds files jlac did not write ({shown}); jlac writes {what} there, replacing the "
                        "folder whole: move those files elsewhere, or set JLAC_OUTPUT to another folder")
    if MARK in names or not names or (legacy is not None and legacy(folder)):
        return
    raise JlacError(f"{folder} was not written by jlac (it has no {MARK}, and what it holds is not jlac's); jlac "
                    f"writes {what} there, replacing the folder whole: move it elsewhere, or set JLAC_OUTPUT to "
                    "another folder")

"""Refresh outputs kept by fingerprint in the cache (``<JLAC_CACHE>/<kind>/<name>/<fingerprint>/``), so that an output
made before from the same inputs is copied instead of made again: a chart (``jlac.figures``: the tables it reads and
the code) or dbt's documentation site (``jlac.transform.docs``: the project and the build's catalog).

Homes sharing a cache (staging and production), a full rebuild of unchanged data and a new home all find what an
earlier refresh made. An entry is written aside and renamed into place (a concurrent refresh sees a whole entry or
none); its files' sha256 are checked when it is used, and an entry that changed since is made again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import time
from pathlib import Path

log = logging.getLogger(__name__)

ENTRIES = 8  # entries kept per name: the latest few states of its inputs (charts: a few hundred KB each)
_LIST = "files.json"  # written last into an entry: each file's path and sha256
_ABANDONED_S = 3600  # an entry being written for longer than this was left by a killed refresh


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def restore(cache: Path, name: str, fingerprint: str, outdir: Path) -> list[Path] | None:
    """Copy the files kept for ``name`` under ``fingerprint`` into ``outdir`` and return their paths; None when the
    cache has no whole entry for it (none, a half-pruned one, or one changed since it was kept: a file's content, or
    files the listing leaves out). A cache that can only be read (another user's, a read-only mount) is used."""
    entry = cache / name / fingerprint
    try:
        listed = json.loads((entry / _LIST).read_text(encoding="utf-8"))
        present = {p.relative_to(entry).as_posix() for p in entry.rglob("*") if p.is_file()} - {_LIST}
        if not isinstance(listed, dict) or not listed or set(listed) != present:
            log.warning("%s: the cached entry of %s does not list the files it holds; made again", cache, name)
            shutil.rmtree(entry, ignore_errors=True)
            return None
        for rel, sha in listed.items():  # (the names are the entry's own files: none leaves outdir)
            if _sha256(entry / rel) != sha:
                log.warning("%s: cached %s of %s differs from what was kept; made again", cache, rel, name)
                shutil.rmtree(entry, ignore_errors=True)  # what is made now takes its place
                return None
        paths = []
        for rel in listed:
            (outdir / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(entry / rel, outdir / rel)
            paths.append(outdir / rel)
    except (OSError, ValueError):
        return None
    with contextlib.suppress(OSError):  # recently used, so pruned last; a cache that cannot be written still serves
        os.utime(entry)
    return paths


def keep(cache: Path, name: str, fingerprint: str, outdir: Path, files: list[Path]) -> None:
    """Keep copies of ``files`` (inside ``outdir``) for ``name`` under ``fingerprint``; at most ENTRIES per name.
    A cache that cannot be written costs making the output again next time, never the refresh."""
    folder = cache / name
    tmp = folder / f".{fingerprint}.{os.getpid()}.tmp"
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        listed = {}
        for path in files:
            rel = path.relative_to(outdir).as_posix()
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, tmp / rel)
            listed[rel] = _sha256(tmp / rel)
        (tmp / _LIST).write_text(json.dumps(listed, indent=1), encoding="utf-8")
        try:
            os.rename(tmp, folder / fingerprint)
        except OSError:  # another refresh kept the same entry first
            shutil.rmtree(tmp, ignore_errors=True)
        entries = sorted((p for p in folder.iterdir() if not p.name.startswith(".")),
                         key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[ENTRIES:]:
            shutil.rmtree(old, ignore_errors=True)
        for left in folder.glob(".*.tmp"):  # written by a refresh killed before its rename
            with contextlib.suppress(OSError):
                if time.time() - left.stat().st_mtime > _ABANDONED_S:
                    shutil.rmtree(left, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        log.warning("could not keep %s in the cache %s: %s", name, cache, exc)

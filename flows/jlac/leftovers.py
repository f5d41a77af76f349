"""Temporary files and folders of jlac processes that were killed (kill -9, an out-of-memory kill, a power cut).

Every writer names its temporary file or folder with its process id and removes it when it ends, whatever
happens in Python; only a killed process leaves one behind. Found by a QA pass (many refreshes of a scheduled
install): none was ever removed, among them a whole copy of the warehouse (`jlac sql` killed while copying a file
another process held for writing) and the serving load's CSV staging (gigabytes at HS-9 scale).

``sweep`` removes those whose process is gone. The process id alone is not proof: a cache shared with Dask
workers on other machines (``JLAC_TASK_RUNNER``) holds files of processes this host cannot see, so a leftover
must also be untouched for ``MIN_AGE_S``; a file written without a process id in its name is left alone.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from jlac.config import Settings

log = logging.getLogger(__name__)

MIN_AGE_S = 3600  # a leftover untouched this long, whose process is gone, is removed
# name -> the writer's process id (group "pid"), per folder swept
_CACHE_TMP = re.compile(r"^\..+\.(?P<pid>\d+)(\.[0-9a-f]{8})?\.tmp$")  # parse, partitions, seals, stats, lists
_DBT_TMP = re.compile(r"^.+\.(?P<pid>\d+)\.tmp$")  # dbt's saved parse (jlac.transform._save_parse)
# read copies of a warehouse another process holds for writing (jlac.warehouse beside it or in the temp folder; the
# serving copy's folder, jlac.serving.load)
_READ_COPY = re.compile(r"^\..+-read-(?P<pid>\d+)-[^/]+\.duckdb$")
_SERVING_COPY = re.compile(r"^\.jlac-serving-read-(?P<pid>\d+)-.+$")
_TMP = re.compile(r"^jlac-(serving|mof-hs9)-(?P<pid>\d+)-.+$")  # serving staging, the MOF HS-9 parser's scratch


def prefix(kind: str) -> str:
    """The name prefix of a temporary file or folder: ``<kind>-<this process id>-`` (``sweep`` reads it back)."""
    return f"{kind}-{os.getpid()}-"


def _gone(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, another user's
        return False
    return False


def _old(path: Path, now: float) -> bool:
    try:
        return now - path.lstat().st_mtime > MIN_AGE_S
    except OSError:
        return False


def _candidates(folder: Path, patterns: tuple[re.Pattern, ...], recursive: bool):
    """(path, writer's process id) of each entry of ``folder`` named as one of ``patterns``."""
    if not folder.is_dir():
        return
    try:
        entries = folder.rglob("*") if recursive else folder.iterdir()
        for path in entries:
            if m := next(filter(None, (p.match(path.name) for p in patterns)), None):
                yield path, int(m["pid"])
    except OSError:  # a folder that went away or cannot be listed: nothing of ours to remove there
        return


def sweep(settings: Settings, dbt_home: Path | None = None, tmp: Path | None = None) -> list[Path]:
    """Remove what killed jlac processes left in the warehouse home, the parse cache, dbt's home and the temp folder
    (see the module's docstring); return what was removed."""
    now = time.time()
    temp = Path(tmp or tempfile.gettempdir())
    where = [(settings.home, (_READ_COPY, _SERVING_COPY), False), (settings.cache_dir, (_CACHE_TMP,), True),
             (temp, (_TMP, _READ_COPY), False)]
    if dbt_home is not None:
        where.append((dbt_home, (_DBT_TMP,), True))
    removed = []
    for folder, patterns, recursive in where:
        for path, pid in list(_candidates(folder, patterns, recursive)):
            if not (_gone(pid) and _old(path, now)):
                continue
            try:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
            except OSError as exc:  # another user's, or gone meanwhile
                log.debug("leftover %s not removed: %s", path, exc)
                continue
            removed.append(path)
    if removed:
        log.info("removed %d file(s) left by killed jlac processes: %s", len(removed),
                 ", ".join(str(p) for p in removed[:5]) + (" ..." if len(removed) > 5 else ""))
    return removed

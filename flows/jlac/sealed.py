"""Cache files sealed with a checksum: a cached parse is reused only while its bytes are the ones jlac wrote.

The parse caches (a whole source's batch, an HS-9 partition) are named by what they were parsed from, and a refresh
reuses one that exists, ``--full`` included. Checking only Parquet's magic bytes let a file damaged inside, or a
valid Parquet file edited by hand, be reused: its values reached the checks, which blamed the publisher's file for
rows it does not have, or passed and published them (found by a QA pass). Each cache file now has a seal beside it
(``<file>.seal.json``), written before the file takes its name: a CRC-32 of its bytes, and the stat it had then, as
git's index keeps one. While the stat is unchanged the file is trusted without being read; otherwise it is read once
and either matches (the stat is recorded anew: the cache was copied or moved) or is not reused.

CRC-32, not sha256: the cache is jlac's own, and what it must catch is damage and edits, not a forger; zlib's CRC-32
reads at memory speed, where sha256 added about 0.5 s of CPU to the 529 MB of partitions of a 38-year HS-9 ingest.
"""

from __future__ import annotations

import contextlib
import json
import os
import zlib
from pathlib import Path


def checksum(path: Path) -> str:
    """CRC-32 of the file's bytes, as 8 hex digits (zlib lets go of Python's lock on large blocks)."""
    crc = 0
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            crc = zlib.crc32(block, crc)
    return f"{crc:08x}"


def seal_path(path: Path) -> Path:
    """The seal of a cache file, beside it: ``<file>.seal.json``."""
    return path.with_name(path.name + ".seal.json")


def _stat(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev]


def _write(record: dict, dest: Path) -> None:
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        tmp.write_text(json.dumps(record), encoding="utf-8")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def seal(written: Path, final: Path) -> None:
    """Seal ``written`` (a finished temporary file) for the name ``final`` it is about to be renamed to: a rename
    keeps its inode, size and modification time."""
    _write({"crc32": checksum(written), "stat": _stat(written)}, seal_path(final))


def intact(path: Path) -> bool:
    """The file has the bytes it was sealed with. False when it or its seal is missing or unreadable (a cache
    written by an older jlac is parsed again once), or when its bytes differ."""
    try:
        record = json.loads(seal_path(path).read_text(encoding="utf-8"))
        stat = _stat(path)
        if record["stat"] == stat:
            return True
        if checksum(path) != record["crc32"]:
            return False
    except (OSError, ValueError, KeyError, TypeError):
        return False
    with contextlib.suppress(OSError):  # the same bytes elsewhere (a copied cache): trusted by stat from now on
        _write({"crc32": record["crc32"], "stat": stat}, seal_path(path))
    return True

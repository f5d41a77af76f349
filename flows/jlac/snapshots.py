"""The snapshot store: ``<root>/<source>/<vintage>/<files>`` plus a ``SNAPSHOT.yml`` manifest.

The manifest carries the origin (title, publisher, URLs, license, retrieval time) and the sha256 and
size of every file. jlac reads its own store and any read-only mirrors with the same layout; the
newest vintage of a source wins unless one is pinned.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml

from jlac.config import Settings
from jlac.errors import SnapshotError, unicode_clean

log = logging.getLogger(__name__)
_WARNED: set[Path] = set()  # folders without a manifest, and manifests without their origin: warned once per process

MANIFEST = "SNAPSHOT.yml"


@dataclass(frozen=True)
class SnapshotFile:
    path: str  # relative to the vintage folder, with forward slashes
    sha256: str
    bytes: int | None = None


@dataclass(frozen=True)
class Snapshot:
    """One vintage of one source, as described by its manifest."""

    source: str
    vintage: str
    root: Path  # the vintage folder
    manifest: dict
    # the source's earlier vintages, oldest first, for a source whose parse reads them (``Source.reads_history``;
    # attached by ``with_history``): part of the fingerprint, so a vintage added or changed among them is a change
    older: tuple[Snapshot, ...] = field(default=(), compare=False, repr=False)

    @property
    def id(self) -> str:
        return f"{self.source}/{self.vintage}"

    @property
    def files(self) -> tuple[SnapshotFile, ...]:
        return tuple(
            SnapshotFile(str(f["path"]), str(f["sha256"]), f.get("bytes")) for f in self.manifest.get("files") or []
        )

    def path(self, rel: str) -> Path:
        return self.root / rel

    @property
    def fingerprint(self) -> str:
        """One sha256 over the files' paths and checksums and the rest of the manifest: changes when any file
        changes, or anything else a parser may read from the manifest (``synthetic: true`` marks every row of
        mof-hs9-country synthetic; a manifest edited to say otherwise left the refresh ``unchanged``, its rows
        still marked, where a full build unmarked them: found by a QA pass)."""
        h = hashlib.sha256()
        for f in sorted(self.files, key=lambda f: f.path):
            h.update(f"{f.path}\0{f.sha256}\n".encode())
        rest = {k: v for k, v in self.manifest.items() if k != "files"}
        h.update(b"manifest\0" + json.dumps(rest, sort_keys=True, default=str).encode())
        for snap in self.older:
            h.update(f"older\0{snap.vintage}\0{snap.fingerprint}\n".encode())
        return h.hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# libyaml's loader when PyYAML was built with it (its wheels are): the same documents, about 8x faster to read. Every
# refresh reads every manifest (imf-dots' lists 224 files): 0.2 s of an unchanged refresh's 1.1 s with the Python one.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def normal_path(path: str) -> str:
    """A listed path as the files are found in the folder: ``/`` between parts (a manifest written on Windows has
    ``\\``), no ``./`` or empty parts. ``./EXJPUS.csv`` was refused as "unlisted file EXJPUS.csv (not in
    SNAPSHOT.yml)" (found by a QA pass)."""
    return "/".join(part for part in path.replace("\\", "/").split("/") if part not in ("", "."))


def _path_problem(path: str) -> str | None:
    """Why a listed path does not name a file inside the vintage folder, None when it does: an absolute path or one
    climbing out with ``..`` would have read (and, its checksum matching, loaded) a file from anywhere."""
    posix = path.replace("\\", "/")
    if posix.startswith("/") or re.match(r"[A-Za-z]:/", posix):
        return f"has the absolute path {path!r}; expected a path relative to the vintage folder"
    if ".." in posix.split("/"):
        return f"has the path {path!r}, which leads out of the vintage folder ('..'); expected a path inside it"
    if not normal_path(path) or normal_path(path) == MANIFEST:
        return f"has the path {path!r}, which names no data file in the vintage folder"
    if any(len(part.encode("utf-8", "surrogateescape")) > 255 for part in normal_path(path).split("/")):
        # the operating system's "File name too long" ended verify in a traceback (found by a QA pass)
        return f"has the path {path[:60]!r}..., a name longer than 255 bytes, which no file here can have"
    return None


def _file_entry_problem(entry) -> str | None:
    """What is wrong with one ``files:`` entry of a manifest, None when it is whole."""
    if not isinstance(entry, dict):
        return "is not a mapping with path, sha256 and bytes"
    if not isinstance(entry.get("path"), str) or not entry["path"]:
        return "has no path"
    if problem := _path_problem(entry["path"]):
        return problem
    if not isinstance(entry.get("sha256"), str) or not re.fullmatch(r"[0-9a-f]{64}", entry["sha256"]):
        return f"has no sha256 of 64 hex digits (found {entry.get('sha256')!r})"
    if entry.get("bytes") is not None and (not isinstance(entry["bytes"], int) or isinstance(entry["bytes"], bool)
                                           or entry["bytes"] < 0):  # YAML's true is an int to Python: 1 byte
        return f"has bytes {entry['bytes']!r}, not a size"
    return None


# A vintage is named by its date, ISO 8601 (sorted as text, that is by date), with an optional suffix: a second
# release on one day (2026-11-28T170102), a derived vintage (2000-01-01+2026-01).
_VINTAGE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T+_.-].*)?")


def vintage_problem(name: str) -> str | None:
    """Why ``name`` is not a vintage folder's name, None when it is one."""
    if unicode_clean(name) != name:  # bytes that are not UTF-8: the name reached the run's state and stuck it (QA)
        return "is not UTF-8 text (its other bytes shown as \\xNN); a vintage is named by its date"
    m = _VINTAGE.fullmatch(name)
    if m:
        try:
            datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            return None
        except ValueError:
            pass
    return ("is not a vintage name: expected its date as YYYY-MM-DD (zero-padded, so that the newest sorts last), "
            "optionally followed by T, +, _, . or - and more")


def _refuse_aliases(text: str, manifest_path: Path) -> None:
    """A manifest with a YAML alias is refused: a few nested anchors (1.6 KB) stand for 10^9 strings, which the
    run's fingerprint of the manifest expanded until memory ran out (found by a QA pass). A manifest has no use
    for them."""
    if "&" not in text:  # an alias names an anchor, and an anchor is written with &: most manifests have none
        return
    for event in yaml.parse(text, Loader=_YAML_LOADER):
        if isinstance(event, yaml.AliasEvent):
            raise SnapshotError(f"{manifest_path}: uses a YAML alias (*{event.anchor}); a manifest is written out "
                                "in full (a few nested aliases can stand for billions of values)")


def load_snapshot(vintage_dir: Path) -> Snapshot:
    """Read the manifest of one vintage folder."""
    manifest_path = vintage_dir / MANIFEST
    try:
        text = manifest_path.read_text(encoding="utf-8")
        _refuse_aliases(text, manifest_path)
        manifest = yaml.load(text, Loader=_YAML_LOADER) or {}
    except FileNotFoundError as exc:
        raise SnapshotError(f"{vintage_dir}: no {MANIFEST}; every vintage needs a manifest") from exc
    except yaml.YAMLError as exc:
        raise SnapshotError(f"{manifest_path}: not valid YAML ({exc})") from exc
    except UnicodeDecodeError as exc:  # e.g. saved as UTF-16 by an editor: a traceback naming no file (QA pass)
        raise SnapshotError(f"{manifest_path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset "
                            f"{exc.start}); a manifest is YAML in UTF-8") from None
    except OSError as exc:  # a folder of that name, unreadable: the file and the reason
        raise SnapshotError(f"{manifest_path}: cannot be read ({exc.strerror or exc})") from None
    if not isinstance(manifest, dict):
        raise SnapshotError(f"{manifest_path}: expected a mapping (source, vintage, files, ...), found a "
                            f"{type(manifest).__name__}")
    if not isinstance(manifest.get("files"), list) or not manifest["files"]:
        raise SnapshotError(f"{manifest_path}: expected a non-empty 'files:' list with path and sha256")
    for i, entry in enumerate(manifest["files"], 1):
        problem = _file_entry_problem(entry)
        if problem:
            raise SnapshotError(f"{manifest_path}: files entry {i} ({str(entry)[:80]}) {problem}")
    # each path as the folder's files are named (verify and the parsers compare them with those names)
    manifest = {**manifest, "files": [{**entry, "path": normal_path(entry["path"])} for entry in manifest["files"]]}
    paths = [entry["path"] for entry in manifest["files"]]
    if repeated := sorted({p for p in paths if paths.count(p) > 1}):
        # a file listed twice was read twice: the errors then spoke of a repeated reporter or a row count
        raise SnapshotError(f"{manifest_path}: lists {', '.join(repeated)} more than once; each file once")
    source = manifest.get("source")
    if source is not None and str(source) != vintage_dir.parent.name:
        # the folder decides which parser reads the files: a manifest of another source copied in was read as this one
        raise SnapshotError(f"{manifest_path}: says source {str(source)!r} but lies in the folder of source "
                            f"{vintage_dir.parent.name!r}; move the vintage to {source}/ or set source: "
                            f"{vintage_dir.parent.name}")
    said = manifest.get("vintage")
    if said is not None and str(said) != vintage_dir.name:
        # a vintage copied to a new folder keeps the old manifest's name: it was listed twice under the old name,
        # recorded so, and `--source` then pinned the other source back to the old folder's data
        raise SnapshotError(f"{manifest_path}: says vintage {str(said)!r} but its folder is {vintage_dir.name!r}; "
                            f"a copied vintage keeps the manifest it was copied with: set vintage: {vintage_dir.name}")
    _warn_missing_origin(manifest_path, manifest)
    return Snapshot(
        source=vintage_dir.parent.name, vintage=vintage_dir.name,
        root=vintage_dir, manifest=manifest,
    )


# The origin every manifest carries (each of the mirror's, and what every connector writes): what the data is, who
# publishes it, where from, under which license. ``url`` stands for ``publisher_url`` (the report site reads either).
ORIGIN_FIELDS = ("title", "publisher", "publisher_url", "license")


def missing_origin(manifest: dict) -> list[str]:
    """The origin fields (``ORIGIN_FIELDS``) a manifest lacks or leaves empty."""
    said = {name: str(manifest.get(name) or "").strip() for name in (*ORIGIN_FIELDS, "url")}
    said["publisher_url"] = said["publisher_url"] or said["url"]
    return [name for name in ORIGIN_FIELDS if not said[name]]


def _warn_missing_origin(manifest_path: Path, manifest: dict) -> None:
    """A manifest without its origin is used (tests and hand-made vintages write minimal ones), and said so once:
    data of unknown origin or license went into the warehouse without a word (found by a QA pass)."""
    if manifest_path in _WARNED or not (missing := missing_origin(manifest)):
        return
    _WARNED.add(manifest_path)
    log.warning("%s: no %s; a manifest carries the data's origin (%s) and license: add them", manifest_path,
                ", ".join(missing), ", ".join(ORIGIN_FIELDS[:-1]))


def list_vintages(source: str, settings: Settings) -> list[Snapshot]:
    """All vintages of a source over the store and the mirrors, oldest first.

    A vintage present in several roots is taken from the first root (the own store before mirrors).
    """
    found: dict[str, Snapshot] = {}
    for root in settings.snapshot_roots:
        source_dir = root / source
        if not source_dir.is_dir():
            if source_dir.is_symlink():  # a link to nothing (broken, or a loop) read as "no snapshot found" (QA pass)
                raise SnapshotError(f"{source}: {source_dir} is a symbolic link to no folder (broken, or a loop); "
                                    "point it at the source's folder or remove it")
            continue
        for vintage_dir in sorted(p for p in source_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if not (vintage_dir / MANIFEST).exists():
                # jlac writes a vintage with its manifest in one rename: a folder without one is files copied in by
                # hand; it is not used, and said so (a new release dropped there would otherwise look "unchanged")
                if vintage_dir not in _WARNED and any(vintage_dir.iterdir()):
                    _WARNED.add(vintage_dir)
                    log.warning("%s: folder %s has no %s and is not used; a vintage needs its manifest (origin, "
                                "license, the sha256 and size of each file)", source, vintage_dir, MANIFEST)
                continue
            if vintage_dir.name not in found:
                # '2026-9-30' sorted after '2026-10-04' and was taken as the newest; 'latest' after every date
                problem = vintage_problem(vintage_dir.name)
                if problem:
                    raise SnapshotError(f"{source}: folder {vintage_dir}: '{vintage_dir.name}' {problem}; rename it "
                                        "or move it out of the store")
                found[vintage_dir.name] = load_snapshot(vintage_dir)
    return [found[k] for k in sorted(found)]


def unknown_folders(settings: Settings, names: list[str]) -> list[str]:
    """One line per folder of the store or a mirror that is no source in ``names``, with the name it was probably
    meant as: its snapshots are never read; and one per vintage folder of a source without its manifest. A new
    source's folder spelt as its table (``banxico_fix`` for ``banxico-fix``) left the source without a snapshot and
    the refresh said only "no snapshot" (found by a QA pass, as a contributor)."""
    import difflib

    known = set(names)
    lines = []
    for root in dict.fromkeys(settings.snapshot_roots):
        try:
            folders = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        except OSError:  # a root that does not exist: `jlac sources` names it
            continue
        for name in folders:
            if name in known:
                lines += _vintages_without_manifest(root / name)
                continue
            alike = [n for n in known if n.replace("_", "-").lower() == name.replace("_", "-").lower()]
            guess = alike or difflib.get_close_matches(name, sorted(known), n=1)
            lines.append(f"{root / name} is no registered source's folder, so its snapshots are not read"
                         + (f" (the folder of source {guess[0]!r} is {root / guess[0]})" if guess else
                            " (a snapshot store holds <source name>/<vintage>/SNAPSHOT.yml; `jlac sources` lists "
                            "the names)"))
    return lines


def _vintages_without_manifest(folder: Path) -> list[str]:
    """A source's vintage folders without SNAPSHOT.yml: not read, as the manifest is written last (a copy or a sync
    still under way, or a manifest lost). The refresh used the vintage before without a word (found by a QA pass)."""
    try:
        vintages = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []
    return [f"{v} has no {MANIFEST}, so it is not read (a copy still under way, or its manifest lost): "
            f"{folder.name}'s newest vintage with one, if any, is used" for v in vintages
            if not (v / MANIFEST).is_file()]


def with_history(snapshot: Snapshot, settings: Settings) -> Snapshot:
    """``snapshot`` with every earlier vintage of its source attached (``Snapshot.older``)."""
    older = tuple(s for s in list_vintages(snapshot.source, settings) if s.vintage < snapshot.vintage)
    return dataclasses.replace(snapshot, older=older)


def history(snapshot: Snapshot) -> list[Snapshot]:
    """The vintages a history-reading parse reads, oldest first, ``snapshot`` last; the earlier ones verified against
    their manifests (the core verifies the loaded one). A damaged earlier vintage stops the source, saying so."""
    for snap in snapshot.older:
        verify_earlier(snapshot, snap)
    return [*snapshot.older, snapshot]


# the earlier vintages a parse verified, while ``recording_earlier_reads`` records them (jlac.parse keeps them with
# the cached batch, so that a batch read from the cache verifies exactly those again)
_EARLIER_READ: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("jlac_earlier_read", default=None)


@contextlib.contextmanager
def recording_earlier_reads() -> Iterator[list[str]]:
    """The vintages ``verify_earlier`` verifies inside the block, in a list filled as it goes."""
    token = _EARLIER_READ.set([])
    try:
        yield _EARLIER_READ.get()
    finally:
        _EARLIER_READ.reset(token)


def verify_earlier(snapshot: Snapshot, earlier: Snapshot, check: Callable[[Snapshot], object] | None = None) -> None:
    """``verify`` (or ``check``) of an earlier vintage ``snapshot``'s parse reads, its error saying why it matters and
    what to do."""
    if (seen := _EARLIER_READ.get()) is not None:
        seen.append(earlier.vintage)
    try:
        (check or verify)(earlier)
    except SnapshotError as exc:
        raise SnapshotError(f"{snapshot.id} also reads the earlier vintage {earlier.vintage} (for the years or "
                            f"revisions newer releases no longer hold), which is damaged; restore it, or move it out "
                            f"of the store if its data is not needed: {exc}") from None


def latest_snapshot(source: str, settings: Settings, pin: str | None = None) -> Snapshot | None:
    """The newest vintage of a source, or the pinned one; None when the source has no snapshot."""
    vintages = list_vintages(source, settings)
    if pin is not None:
        for snap in vintages:
            if snap.vintage == pin:
                return snap
        raise SnapshotError(
            f"{source}: pinned vintage {pin!r} not found; available: {[s.vintage for s in vintages] or 'none'}"
        )
    return vintages[-1] if vintages else None


def verify(snapshot: Snapshot) -> None:
    """Check every file against the manifest; raise naming each missing, changed or unlisted file."""
    problems: list[str] = []
    for f in snapshot.files:
        p = snapshot.path(f.path)
        if not p.is_file():
            problems.append(missing_problem(f, p))
            continue
        if wrong_size := size_problem(f, p.stat().st_size):
            problems.append(wrong_size)
            continue
        actual = sha256_file(p)
        if actual != f.sha256:
            problems.append(
                f"checksum mismatch for {f.path}: manifest sha256 {f.sha256[:12]}…, file has {actual[:12]}…"
            )
    raise_problems(snapshot, problems)


def missing_problem(f: SnapshotFile, path: Path) -> str:
    """A listed file that is not there: missing, or a symbolic link to nothing (broken, a loop), which read as
    "missing" (found by a QA pass)."""
    if path.is_symlink():
        return f"{f.path} (listed in {MANIFEST}) is a symbolic link to no file (broken, or a loop)"
    return f"missing file {f.path} (listed in {MANIFEST})"


def size_problem(f: SnapshotFile, size: int) -> str | None:
    """The manifest's size of a file, when it gives one, against the file's: a file cut short or grown is named
    before it is hashed."""
    if f.bytes is not None and f.bytes != size:
        return f"size mismatch for {f.path}: manifest {f.bytes:,} bytes, file has {size:,}"
    return None


def raise_problems(snapshot: Snapshot, problems: list[str]) -> None:
    """Add the files present but not in the manifest, then raise one error listing every problem (if any)."""
    listed = {f.path for f in snapshot.files}
    for p in sorted(snapshot.root.rglob("*")):
        rel = p.relative_to(snapshot.root).as_posix()
        if p.is_file() and rel != MANIFEST and rel not in listed:
            problems.append(f"unlisted file {rel} (not in {MANIFEST})")  # not UTF-8: shown as \xff (JlacError)
    if problems:
        raise SnapshotError(
            f"snapshot {snapshot.id} at {snapshot.root} failed verification; nothing from it is loaded:\n  - "
            + "\n  - ".join(problems)
        )


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def shareable(folder: Path) -> None:
    """Give a folder made with mkdtemp/mkstemp (owner-only: 0700 and 0600) the modes any other file of the user
    gets (0777/0666 less the umask): a vintage is read by other accounts too (a service's worker, a team's
    reader), like the vintages of the mirror."""
    mask = _umask()
    for path in [folder, *folder.rglob("*")]:
        path.chmod((0o777 if path.is_dir() else 0o666) & ~mask)


def _vintage_names(vintage: str | None) -> Iterator[str]:
    """The names a new vintage may take, first free one wins: the given name or today's date, then (a second release
    on one day) the time to the second, then (several in one second: two fetches at once, a quick retry) the time
    with -02, -03, ... (sorted after the plain time, as a later vintage must be)."""
    if vintage:
        yield vintage
    now = datetime.now(UTC)
    if not vintage:
        yield now.strftime("%Y-%m-%d")
    stamp = now.strftime("%Y-%m-%dT%H%M%S")
    yield stamp
    for i in range(2, 100):
        yield f"{stamp}-{i:02d}"
    raise SnapshotError(f"no free vintage name left for {stamp}: 99 vintages written in one second?")


# A vintage being written: a hidden folder beside the vintages, named for the vintage and the writing process (a
# killed writer leaves it behind; the next fetch of the source removes it once that process is gone).
_WRITING = re.compile(r"\.(?P<vintage>.+)-pid(?P<pid>\d+)-[a-z0-9_]+")


def writing_folder(name: str) -> tuple[str, int | None] | None:
    """(vintage, pid of the writer) when ``name`` is the hidden folder of a vintage being written, else None; the pid
    is None for one an older jlac wrote (``.<vintage>-<random>``)."""
    if m := _WRITING.fullmatch(name):
        return m["vintage"], int(m["pid"])
    if name.startswith(".") and not vintage_problem(name[1:].rsplit("-", 1)[0]) and "-" in name:
        return name[1:].rsplit("-", 1)[0], None
    return None


def write_snapshot(
    store: Path, source: str, files: dict[str, Path], metadata: dict, vintage: str | None = None
) -> Snapshot:
    """Write a new vintage atomically: files are moved into a hidden temp folder, then renamed.

    ``files`` maps the relative name in the snapshot to a finished temp file (moved, not copied).
    A reader never sees a half-written vintage. An OSError (a full disk) is a SnapshotError naming the source, the
    step and the folder; nothing of the vintage is left.
    """
    source_dir = store / source
    step = f"creating the folder {source_dir}"
    tmp: Path | None = None
    try:
        source_dir.mkdir(parents=True, exist_ok=True)
        names = _vintage_names(vintage)
        vintage = next(n for n in names if not (source_dir / n).exists())
        step = f"creating a temporary folder for vintage {vintage} in {source_dir}"
        tmp = Path(tempfile.mkdtemp(prefix=f".{vintage}-pid{os.getpid()}-", dir=source_dir))
        entries = []
        for rel, src in sorted(files.items()):
            dest = tmp / rel
            step = f"moving {rel} into {tmp}"
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(src), dest)
            entries.append({"path": rel, "bytes": dest.stat().st_size, "sha256": sha256_file(dest)})
        step = f"setting the modes of {tmp}"
        shareable(tmp)
        while True:
            manifest = {"source": source, "vintage": vintage, **metadata, "files": entries}
            step = f"writing {tmp / MANIFEST}"
            (tmp / MANIFEST).write_text(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True),
                                        encoding="utf-8")
            shareable(tmp / MANIFEST)
            final = source_dir / vintage
            step = f"renaming {tmp} to {final}"
            try:
                os.replace(tmp, final)
                break
            except OSError as exc:  # another fetch took the name meanwhile: the next one
                if not final.exists():
                    raise SnapshotError(f"{source}: could not write vintage {vintage} into {source_dir}: "
                                        f"{exc.strerror or exc}") from exc
                vintage = next(n for n in names if not (source_dir / n).exists())
    except OSError as exc:
        error = SnapshotError(f"{source}: {step} failed: {exc.strerror or exc}; "
                              f"{f'vintage {vintage}' if vintage else 'the vintage'} not written, nothing stored")
        error.may_pass = True  # a disk with room again, a quota raised: the same fetch may then succeed
        raise error from exc
    finally:
        if tmp is not None and tmp.exists():  # not renamed: whatever stopped it, nothing half-written is left
            shutil.rmtree(tmp, ignore_errors=True)
    return load_snapshot(final)

"""What a refresh must do: the snapshots to build from, and how much of the published warehouse they change.

Every input of a build has a fingerprint: each source's snapshot (its sha256 fingerprint, from the manifest the
verify step checks the files against) and one ``code`` fingerprint over everything else a build reads (jlac's
code and reviewed data files, the SQL models, the settings that change a build). The published warehouse keeps
the fingerprints it was built from in ``meta.inputs``. Comparing them gives the plan:

* ``unchanged`` — every input equal: nothing is built or published (the run is still recorded);
* ``incremental`` — only some sources' snapshots differ and the code is the same: the build starts as a copy of
  the published warehouse, only those sources are parsed, loaded and validated, and only the models downstream
  of them are rebuilt;
* ``full`` — no published warehouse, one built by another code version, or asked for: everything is rebuilt
  (parses still come from the batch cache where their inputs are unchanged).
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

import jlac
from jlac import config, transform, warehouse
from jlac.config import Settings
from jlac.errors import JlacError, SnapshotError
from jlac.snapshots import Snapshot, latest_snapshot, unknown_folders, with_history
from jlac.sources import all_sources

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(jlac.__file__).parent
# Settings read while building (not paths), as Settings' field and its variable: a change rebuilds everything.
BUILD_SETTINGS = {"quarantine_max_share": "JLAC_QUARANTINE_MAX_SHARE"}


def check_known(names: list[str] | None = None, pins: dict[str, str] | None = None) -> None:
    """Raise JlacError when a source name given (to build or to pin) is not a registered source, with the closest
    known names: a typo must not run the refresh of everything else as if nothing had been asked."""
    sources = sorted(all_sources())
    unknown = sorted((set(names or []) | set(pins or {})) - set(sources))
    if unknown:
        close = {u: difflib.get_close_matches(u, sources, n=2, cutoff=0.5) for u in unknown}
        hints = "; ".join(f"{u!r}: did you mean {' or '.join(map(repr, c))}?" for u, c in close.items() if c)
        raise JlacError(f"unknown source(s) {unknown}{'; ' + hints if hints else ''}; known: {sources}")


def discover(settings: Settings, names: list[str] | None = None, pins: dict[str, str] | None = None,
             absent: list[str] | None = None) -> dict[str, Snapshot | None]:
    """The snapshot each source will be built from (latest vintage unless pinned); None when absent, or when
    ``absent`` names it (``--source`` keeps a source the published warehouse was built without, without)."""
    check_known(names, pins)
    sources = all_sources()
    for line in unknown_folders(settings, list(sources)):
        log.warning("%s", line)
    chosen, missing = {}, []
    for name, src in sources.items():
        if name in (absent or []) and not src.required:
            chosen[name] = None
            continue
        snap = latest_snapshot(name, settings, (pins or {}).get(name))
        if snap is not None and src.reads_history:
            snap = with_history(snap, settings)
        if snap is None and src.required:
            missing.append(name)
        chosen[name] = snap
    if missing:
        raise missing_required(settings, missing)
    return chosen


def missing_required(settings: Settings, missing: list[str]) -> SnapshotError:
    """The error for required sources without a snapshot: every one of them, each with what brings it (the first
    alone was named, with `jlac fetch` for all)."""
    return SnapshotError(f"no snapshot found under {_roots(settings)} of {', '.join(missing)}, which every build "
                         f"needs: {how_to_get(missing)}")


def how_to_get(names: list[str]) -> str:
    """What brings snapshots of these sources: `jlac fetch` for those with a live connector, a mirror for the rest
    (a mirror-only source, e.g. imf-dots, cannot be fetched: `jlac fetch` refuses it)."""
    from jlac.connectors import connectors

    live = connectors()
    fetched = [n for n in names if n in live]
    mirrored = [n for n in names if n not in live]
    said = []
    if mirrored:
        said.append(f"set JLAC_MIRROR (or JLAC_SNAPSHOTS) to a folder holding {', '.join(mirrored)} (no live "
                    f"connector: {'they are' if len(mirrored) > 1 else 'it is'} read from snapshots only)")
    if fetched:
        said.append(f"fetch {'them' if len(fetched) > 1 else 'it'} with `jlac fetch {' '.join(fetched)}`"
                    + (" or set JLAC_MIRROR" if not mirrored else ""))
    return "; ".join(said)


def vanished(snapshots: dict[str, Snapshot | None], published: dict[str, str] | None) -> dict[str, str]:
    """Sources the published warehouse was built from (``meta.inputs``) of which no snapshot is found now, or which
    are no longer registered at all (``snapshots`` has every registered source): {source: the published vintage}.
    A build without them would publish their raw tables empty, or without them."""
    out = {}
    for key, was in (published or {}).items():
        name = key.removeprefix("source:")
        if key.startswith("source:") and snapshots.get(name) is None and was != "none":
            out[name] = was.split("/", 1)[0]
    return out


def published_sources(settings: Settings) -> set[str]:
    """The sources the published warehouse was built from (``meta.inputs``), registered or not."""
    return {k.removeprefix("source:") for k, v in (published_inputs(settings) or {}).items()
            if k.startswith("source:") and v != "none"}


def refuse_vanished(gone: dict[str, str], settings: Settings) -> None:
    """Raise SnapshotError for the sources the published warehouse holds of which no snapshot is found any more
    (``vanished``; a mirror no longer configured, a store moved) or which are no longer registered (a source
    folder removed, or its ``SOURCE.name`` changed: found by a QA pass): a refresh would otherwise remove their
    published data."""
    names = " ".join(f"--drop {n}" for n in sorted(gone))
    registered = all_sources()
    lost = {n: v for n, v in gone.items() if n in registered}
    unregistered = {n: v for n, v in gone.items() if n not in registered}
    said = []
    if lost:
        said.append("no snapshot found of " + ", ".join(f"{n} (the published warehouse holds its vintage {v})"
                                                        for n, v in sorted(lost.items()))
                    + f" under {_roots(settings)}")
    if unregistered:
        said.append(", ".join(f"{n} (vintage {v})" for n, v in sorted(unregistered.items()))
                    + " is in the published warehouse but no longer a registered source (its folder under "
                    "flows/jlac/sources/ removed, or the name in its SOURCE changed; registered: "
                    + ", ".join(sorted(registered)) + ")")
    raise SnapshotError(
        "; ".join(said) + ": a refresh now would remove its published data; nothing was built. "
        + (f"To keep it: {how_to_get(sorted(lost))}; " if lost else "Put the source back, ")
        + f"or build without it on purpose: `jlac refresh {names}`")


def gone_back(snapshots: dict, published_inputs: dict[str, str] | None, pinned: set[str]) -> dict:
    """{source: (published vintage, vintage found)} of the sources whose newest snapshot found is older than the
    vintage the published warehouse is built from, unless the user pinned them there (``--pin``, the runbook's way
    back from a wrong release). The published vintage is then no longer found: a mirror left out of JLAC_MIRROR or
    mistyped, a store moved."""
    back = {}
    for name, snap in sorted(snapshots.items()):
        was = _vintage_of((published_inputs or {}).get(f"source:{name}"))
        if snap is not None and name not in pinned and was and snap.vintage < was:
            back[name] = (was, snap.vintage)
    return back


def refuse_gone_back(back: dict, settings: Settings) -> None:
    """Raise SnapshotError for ``gone_back``'s sources: the refresh built the older vintage and published it, with
    9,575 of imf-dots' values gone and exit 0 (found by a QA pass)."""
    if back:
        raise SnapshotError(
            "; ".join(f"{n}: the published warehouse is built from its vintage {was}, which is no longer found; the "
                      f"newest found is {now}" for n, (was, now) in back.items())
            + f" (looked under {_roots(settings)}): a refresh now would go back to it and remove what the later "
            "vintage added; nothing was built. Put the folder back (a mirror missing from JLAC_MIRROR?), or go back "
            "on purpose: `jlac refresh " + " ".join(f"--pin {n}={now}" for n, (_, now) in back.items()) + "`")


def _roots(settings: Settings) -> str:
    """Where snapshots are looked for, as an error names them."""
    return ", ".join(f"{r}{'' if r.is_dir() else ' (no such folder)'}" for r in settings.snapshot_roots)


def _hash_tree(h, root: Path, suffixes: tuple[str, ...] | None = None) -> None:
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        # generated files: bytecode, and dbt's target/ and logs/ if dbt was ever run by hand inside the project
        if not path.is_file() or "__pycache__" in parts or path.name.startswith(".") or \
                {"target", "logs"} & set(parts[:-1]) and "sql" in parts:
            continue
        if suffixes and path.suffix not in suffixes:
            continue
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())


def code_fingerprint(settings: Settings | None = None) -> str:
    """One sha256 over jlac's code and data files, the SQL models and the build settings: ``settings``' values, or
    without them the variables'. A refresh gives its settings: a stricter quarantine share given as the flow's
    ``settings`` (not in the environment) planned "unchanged" and left over-limit data published (mutation pass)."""
    h = hashlib.sha256(jlac.__version__.encode())
    _hash_tree(h, PACKAGE_DIR)
    if config.DATA_DIR.is_dir() and not config.DATA_DIR.is_relative_to(PACKAGE_DIR):  # data files kept elsewhere
        _hash_tree(h, config.DATA_DIR)
    h.update(transform.project_fingerprint().encode())  # the dbt project (inside the package, hashed above too)
    for name, var in BUILD_SETTINGS.items():
        value = repr(getattr(settings, name)) if settings is not None else os.environ.get(var, "")
        h.update(f"{var}={value}".encode())
    return h.hexdigest()


def inputs_of(snapshots: dict[str, Snapshot | None], code: str) -> dict[str, str]:
    """The fingerprints a build from these snapshots records in ``meta.inputs``.

    A snapshot's input is its vintage with its files' checksums: the rows carry their vintage, and a parser may read
    it (MOF's top-30 table is provisional or final by its release date), so a new vintage of identical files is a
    change too, not an 'unchanged' that left the older vintage published while the ledger named the new one."""
    out = {f"source:{name}": (f"{snap.vintage}/{snap.fingerprint}" if snap else "none")
           for name, snap in snapshots.items()}
    out["code"] = code
    # the build reads the date: Figure 2 has a row per year up to the current one, the checks bound years by it and a
    # MIDEPLAN approval date may not be after it. A new year is a new input (found by a QA pass: refreshes after
    # New Year kept last year's Figure 2, a full rebuild drew this year's)
    out["calendar_year"] = str(today().year)
    return out


def today() -> date:
    """The date a build is made on, in UTC as every date jlac writes (run ids, the ledger, vintages, and the SQL
    models' ``current_date``: dbt's profile sets DuckDB's TimeZone): one place, so that a test can set it. The local
    date made a machine west of UTC rebuild a warehouse built east of it and take a year out of Figure 2 (found by
    a QA pass)."""
    return datetime.now(UTC).date()


def published_inputs(settings: Settings) -> dict[str, str] | None:
    """``meta.inputs`` of the published warehouse; None when there is none or it predates meta.inputs."""
    if not settings.warehouse.exists():
        return None
    warehouse.check_readable(settings.warehouse)  # not "unreadable: full rebuild", which replaced it (QA pass)
    try:
        return warehouse.read_published(settings, _read_inputs, "inputs")
    except duckdb.Error as exc:  # an unreadable published file: rebuild, and say why
        log.warning("published warehouse %s unreadable (%s): full rebuild", settings.warehouse, exc)
        return None


def inputs_in(con: duckdb.DuckDBPyConnection, catalog: str | None = None) -> dict[str, str]:
    """A published warehouse's ``meta.inputs`` (``catalog``: its attached name, if any) as {input: fingerprint}, a
    source's fingerprint always ``<vintage>/<sha256>``. jlac before 4 December recorded the sha256 alone: its
    vintage is then read from ``meta.snapshots``, or `--source` took the hash for the vintage and refused every
    refresh of a warehouse published before an upgrade (found by a QA pass)."""
    meta = f"{catalog}.meta" if catalog else "meta"
    rows = dict(con.execute(f"SELECT input, fingerprint FROM {meta}.inputs").fetchall())
    bare = [key for key, fp in rows.items() if key.startswith("source:") and fp != "none" and "/" not in fp]
    if not bare:
        return rows
    has_snapshots = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = coalesce(?, "
                                "current_database()) AND schema_name = 'meta' AND table_name = 'snapshots'",
                                [catalog]).fetchone()[0]
    vintages = dict(con.execute(f"SELECT source, max(vintage) FROM {meta}.snapshots GROUP BY source").fetchall()
                    if has_snapshots else [])
    return {**rows, **{key: f"{vintages.get(key.removeprefix('source:'), '?')}/{rows[key]}" for key in bare}}


def _read_inputs(path: Path) -> dict[str, str] | None:
    with duckdb.connect() as con:
        con.execute("ATTACH ? AS pub (TYPE duckdb, READ_ONLY)", [str(path)])
        has = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'pub' "
                          "AND schema_name = 'meta' AND table_name = 'inputs'").fetchone()[0]
        if not has:
            return None
        return inputs_in(con, "pub")


@dataclass
class Plan:
    mode: str  # full | incremental | unchanged
    reason: str
    inputs: dict[str, str]
    changed: list[str] = field(default_factory=list)  # sources to load (all of them for a full build)


def _vintage_of(fingerprint: object) -> str | None:
    """The vintage of a source's recorded input ('<vintage>/<sha256>'); None for 'none' and for a bare sha256, as
    warehouses published before 4 December recorded it."""
    return fingerprint.split("/", 1)[0] if isinstance(fingerprint, str) and "/" in fingerprint else None


def make_plan(snapshots: dict[str, Snapshot | None], inputs: dict[str, str], published: dict[str, str] | None,
              *, full: bool = False, missing: dict[str, str] | None = None) -> Plan:
    """Compare this refresh's inputs with the published warehouse's.

    ``missing``: sources whose published view lists partitions that are gone or damaged
    (``partitions.missing_partitions``); they are loaded again even when their snapshot is unchanged."""
    everything = sorted(snapshots)
    if full:
        return Plan("full", "a full rebuild was asked for", inputs, everything)
    if published is None:
        return Plan("full", "no published warehouse with recorded inputs", inputs, everything)
    built_in, now_in = published.get("calendar_year"), inputs.get("calendar_year")
    if built_in and now_in and built_in.isdigit() and now_in.isdigit() and int(built_in) > int(now_in):
        # a clock set back, or two machines whose dates disagree: the rebuild would take a year out of Figure 2;
        # before the code's check, which made any changed setting or upgrade rebuild past it (found by a QA pass)
        raise JlacError(f"this machine's date is in {now_in} (UTC), but the published warehouse was built in "
                        f"{built_in}: is the clock right? Nothing was built; `jlac refresh --full` builds for {now_in} "
                        "anyway")
    if published.get("code") != inputs["code"]:
        return Plan("full", "jlac's code, data files, SQL models or build settings changed", inputs, everything)
    if built_in != now_in:
        return Plan("full", f"a new calendar year ({inputs.get('calendar_year')}; the published warehouse was built in "
                    f"{published.get('calendar_year') or 'an earlier one'}): what runs to the current year (Figure 2's "
                    "years, the checks' year bounds) is built again", inputs, everything)
    if set(published) != set(inputs):
        return Plan("full", "the set of sources changed", inputs, everything)
    newer = [n for n in everything if published.get(f"source:{n}") != inputs[f"source:{n}"]]
    gone = {n: why for n, why in (missing or {}).items() if n in snapshots and n not in newer}
    if not newer and not gone:
        return Plan("unchanged", "every input equals the published warehouse's", inputs, [])
    # a source the build has no snapshot of any more (`--drop`) is not "new snapshots": said as what it is
    dropped = [n for n in newer if inputs[f"source:{n}"] == "none"]
    arrived = [n for n in newer if n not in dropped]
    # a pin back to an older vintage (the runbook's way back from a wrong release) is not "new" (QA pass)
    # nor is the published vintage with other content (a re-issued manifest, or a changed vintage in the history a
    # source reads, e.g. the top-30 file's earlier years): "new snapshot(s)" sent the reader looking for a new vintage
    earlier, same = {}, {}
    for n in arrived:
        now, was = _vintage_of(inputs[f"source:{n}"]), _vintage_of(published.get(f"source:{n}"))
        if now and was and now < was:
            earlier[n] = (was, now)
        elif now and now == was:
            same[n] = now
    arrived = [n for n in arrived if n not in earlier and n not in same]
    reasons = ([f"new snapshot(s) of {', '.join(arrived)}"] if arrived else []) + [
        f"an earlier snapshot of {n} ({now}; published: {was})" for n, (was, now) in sorted(earlier.items())] + [
        f"the published vintage of {n} ({v}) with other content (its files or manifest, or an earlier vintage it reads)"
        for n, v in sorted(same.items())] + (
        [f"built without {', '.join(dropped)} (no snapshot any more)"] if dropped else []) + [
        f"the published partitions of {n} cannot be read ({why}): loaded again" for n, why in sorted(gone.items())]
    return Plan("incremental", "; ".join(reasons), inputs, sorted([*newer, *gone]))

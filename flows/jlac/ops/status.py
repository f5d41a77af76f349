"""Freshness: per source, the newest vintage, its age, the last run that used it, the vintage (and quarantined rows)
the published warehouse holds, and whether what readers get is stale.

Inputs are files only (the snapshot store and mirrors, the run ledger, each source's ``release.yml``), so
``jlac status`` works while a refresh runs and without a Prefect server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import yaml

from jlac import ledger
from jlac.config import Settings
from jlac.snapshots import latest_snapshot
from jlac.sources import RegistryError, all_sources


@dataclass(frozen=True)
class Rhythm:
    """How often a publisher releases; ``stale_after_days`` None means never flagged (frozen or unknown)."""

    rhythm: str
    stale_after_days: int | None = None
    note: str = ""


@dataclass(frozen=True)
class SourceStatus:
    source: str
    rhythm: Rhythm
    vintage: str | None  # newest vintage found in the store and mirrors
    age_days: int | None
    last_run_id: str | None  # the last run that used or failed on this source
    last_status: str | None
    last_duration_s: float | None
    last_vintage: str | None  # the vintage the published warehouse holds (the last run that published used it)
    required: bool = True  # a required source with no snapshot at all is stale; an optional one is "missing"
    # rows the published warehouse sets aside in quarantine.rows (jlac.quarantine): rows, raw_rows, share, values
    quarantined: dict | None = None
    published_age_days: int | None = None  # age of last_vintage
    # published values of this source the last publish removed (jlac.publish_hooks.revisions): (run id, count)
    removed: tuple[str, int] | None = None
    # the source's last live fetch failed (fetches.jsonl): (when, message); None when it succeeded or never ran
    fetch_failed: tuple[str, str] | None = None
    # the run that published the warehouse without this source at ``jlac refresh --drop`` (its data removed), when
    # no run used it since; None otherwise
    dropped: str | None = None
    # the last run's status as the ledger has it (last_status is what the table shows: "failed (<sources>)" for a run
    # other sources failed, "dropped") and the sources whose checks failed it
    last_run_status: str | None = None
    failed_sources: tuple[str, ...] = ()
    # no published warehouse at all (none yet, or a mistyped JLAC_WAREHOUSE): readers get nothing, every source is
    # stale (it read fresh from the newest vintage's age, exit 0: found by a QA pass)
    no_warehouse: bool = False

    @property
    def stale(self) -> bool:
        """The data a reader gets is older than the source's rhythm allows: the published vintage's age, or (never
        published) the newest vintage's. A newer vintage that failed to build does not make old data fresh."""
        if self.no_warehouse:
            return True
        if self.vintage is None and self.last_vintage is None:
            return self.required
        limit = self.rhythm.stale_after_days
        age = self.published_age_days if self.last_vintage is not None else self.age_days
        return limit is not None and age is not None and age > limit

    def as_json(self) -> dict:
        """The row as `jlac status --json` gives it: ``last_status`` the run's status as recorded (completed, failed,
        unchanged, crashed, cancelled, skipped; a monitor compares it, where "failed (fred-exjpus)" matched no value:
        QA pass), ``failed_sources`` the sources that failed that run, and the flags."""
        row = asdict(self)
        row["last_status"] = row.pop("last_run_status")
        row["failed_sources"] = list(self.failed_sources)
        # objects with named fields, not positional pairs a reader must know the order of (QA pass)
        row["fetch_failed"] = ({"at": self.fetch_failed[0], "message": self.fetch_failed[1]}
                               if self.fetch_failed else None)
        row["removed"] = {"run_id": self.removed[0], "values": self.removed[1]} if self.removed else None
        return {**row, "stale": self.stale, "unpublished": self.unpublished, "published_gone": self.published_gone,
                "future": self.future}

    @property
    def unpublished(self) -> bool:
        """A newer vintage exists than the published one: the next refresh will pick it up."""
        return None not in (self.vintage, self.last_vintage) and self.vintage > self.last_vintage

    @property
    def future(self) -> bool:
        """The newest vintage is dated after today (a typo'd year?): it wins over every real release until then."""
        return self.age_days is not None and self.age_days < 0

    @property
    def published_gone(self) -> bool:
        """The published vintage is no longer in the store or mirrors: the next refresh goes back to ``vintage``."""
        return None not in (self.vintage, self.last_vintage) and self.vintage < self.last_vintage


RELEASE_FILE = "release.yml"  # in each source's folder, jlac/sources/<table>/
RHYTHMS = ("monthly", "annual", "irregular", "frozen")  # what a release.yml's rhythm may say (jlac.sources' docstring)


class ReleaseFileError(RegistryError, ValueError):
    """A source's ``release.yml`` that ``jlac status`` cannot use; the message names the file, the field and what it
    takes. A JlacError, so the CLI says it in one line (``stale_after_days: soon`` was a traceback from int())."""


def read_rhythm(path: Path) -> Rhythm:
    """One source's ``release.yml``: ``rhythm``, ``stale_after_days`` (absent: never flagged), ``note``."""
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(spec, dict) or "rhythm" not in spec:
        raise ReleaseFileError(f"{path}: needs a 'rhythm' ({', '.join(RHYTHMS)})")
    rhythm = spec["rhythm"]
    if rhythm not in RHYTHMS:
        raise ReleaseFileError(f"{path}: rhythm {rhythm!r} is not one of {', '.join(RHYTHMS)}")
    days = spec.get("stale_after_days")
    # a whole number of days (not a bool, which int() took as 1 or 0); absent or empty: never flagged stale
    if days is not None and (not isinstance(days, int) or isinstance(days, bool) or days < 1):
        raise ReleaseFileError(f"{path}: stale_after_days {days!r} is not a number of days: expected a whole number "
                               "of at least 1 (e.g. 45), or no stale_after_days for a source never flagged stale")
    return Rhythm(rhythm, days, spec.get("note", ""))


def load_rhythms() -> dict[str, Rhythm]:
    """The release rhythm of every registered source that has a ``release.yml`` in its folder, by source name.

    A source without one is shown with rhythm "unknown" and never flagged stale.
    """
    return {name: read_rhythm(src.folder / RELEASE_FILE) for name, src in all_sources().items()
            if (src.folder / RELEASE_FILE).is_file()}


# Within ``one_read``: the ledgers read so far, by path. `jlac status` reads the run ledger for the table, the last
# run, the pending hooks and the serving line: each read warned again about the same bad line.
_READ: ContextVar[dict[Path, list[dict]] | None] = ContextVar("jlac_status_ledger_reads", default=None)


@contextmanager
def one_read() -> Iterator[None]:
    """Within it, ``read_ledger`` reads each ledger once (and warns once about a line it skips); the ledger is taken
    as it was at the first read, as one report must be."""
    token = _READ.set({})
    try:
        yield
    finally:
        _READ.reset(token)


def read_ledger(path: Path) -> list[dict]:
    """``jlac.ledger.read``, once per ledger within ``one_read``."""
    reads = _READ.get()
    if reads is None:
        return ledger.read(path)
    if path not in reads:
        reads[path] = ledger.read(path)
    return reads[path]


def vintage_age(vintage: object, today: date) -> int | None:
    """Days since a vintage named YYYY-MM-DD (None for vintages named otherwise, or a ledger's odd value)."""
    if not isinstance(vintage, str):
        return None
    try:
        return (today - date.fromisoformat(vintage[:10])).days
    except ValueError:
        return None


def _last_run_for(source: str, runs: list[dict]) -> dict | None:
    """The last run that used the source, failed on it, or built without it at ``--drop``."""
    for run in reversed(runs):
        used = {s.get("source") for s in run.get("snapshots") or []}
        if source in used or source in ledger.failed_sources(run) or source in (run.get("dropped") or []):
            return run
    return None


def _dropped_by(source: str, run: dict | None) -> str | None:
    """The run's id when it published the warehouse without ``source`` at ``--drop`` (a failed one removed nothing)."""
    if run and run.get("status") == "completed" and source in (run.get("dropped") or []):
        return run.get("run_id")
    return None


def _published(source: str, runs: list[dict]) -> tuple[str | None, dict | None]:
    """(vintage, quarantine entry) of ``source`` in the published warehouse, from the ledger: the vintage of the last
    run that published, and the quarantine of the last publishing run that validated the source (a full build, or
    an incremental one that rebuilt it; the others carried its rows over). Failed and unchanged runs publish nothing."""
    published = [run for run in reversed(runs) if run.get("status") == "completed"]
    vintage = next(({s.get("source"): s.get("vintage") for s in run.get("snapshots") or []}.get(source)
                    for run in published[:1]), None)

    def validated(run: dict) -> bool:
        plan = run.get("plan") or {}
        changed = plan.get("changed")
        return plan.get("mode") != "incremental" or (isinstance(changed, list) and source in changed)

    quarantine = next(((run.get("quarantine") or {}).get(source) for run in published if validated(run)), None)
    return (vintage if isinstance(vintage, str) else None), (quarantine if _whole_quarantine(quarantine) else None)


def _whole_quarantine(entry: object) -> bool:
    """A quarantine entry as jlac.quarantine writes it (the report prints its counts); another (an edit) is ignored."""
    return (isinstance(entry, dict) and all(isinstance(entry.get(k), int) for k in ("rows", "raw_rows"))
            and isinstance(entry.get("share"), int | float) and "snapshot_id" in entry and "values" in entry)


def _removed(source: str, runs: list[dict]) -> tuple[str, int] | None:
    """(run id, values) when the last publishing run removed published values of ``source`` (its revisions hook)."""
    last = ledger.last_published(runs)
    for hook in (last or {}).get("hooks") or []:
        details = hook.get("details") if isinstance(hook, dict) and hook.get("hook") == "revisions" else None
        removed = details.get("removed") if isinstance(details, dict) else None
        count = removed.get(source) if isinstance(removed, dict) else None
        # a count as the hook writes it; another value (an edit: "many") says nothing countable
        if isinstance(count, int) and not isinstance(count, bool) and count:
            return last.get("run_id"), count
    return None


def _fetch_failed(source: str, fetches: list[dict]) -> tuple[str, str] | None:
    """(when, message) when the source's last fetch that reached the publisher failed (skipped ones, e.g. offline,
    say nothing about the publisher)."""
    last = next((f for f in reversed(fetches) if f["source"] == source and f["status"] != "skipped"), None)
    if not last or last["status"] != "failed":
        return None
    return last["at"], (last.get("message") or "failed").removeprefix(f"{source}: ")  # the line names the source


def _outcome(source: str, run: dict) -> str | None:
    """The run's status, naming the sources that failed it when the source's own checks did not; ``dropped`` for a
    publishing run that built without the source (``--drop``)."""
    status, failed = run.get("status"), ledger.failed_sources(run)
    if _dropped_by(source, run):
        return "dropped"
    return f"{status} ({', '.join(failed)})" if status == "failed" and failed and source not in failed else status


def source_status(settings: Settings, today: date | None = None, rhythms: dict[str, Rhythm] | None = None
                  ) -> list[SourceStatus]:
    """Freshness of every registered source, in name order."""
    today = today or datetime.now(UTC).date()
    rhythms = rhythms if rhythms is not None else load_rhythms()
    runs = read_ledger(settings.run_ledger)
    fetches = ledger.read_fetches(settings.fetch_ledger)
    no_warehouse = not settings.warehouse.is_file()  # a folder named by JLAC_WAREHOUSE is none either
    out = []
    for name, src in sorted(all_sources().items()):
        snap = latest_snapshot(name, settings)
        run = _last_run_for(name, runs)
        published, quarantined = _published(name, runs)
        out.append(SourceStatus(
            source=name,
            rhythm=rhythms.get(name, Rhythm("unknown")),
            vintage=snap.vintage if snap else None,
            age_days=vintage_age(snap.vintage, today) if snap else None,
            last_run_id=run.get("run_id") if run else None,
            last_status=_outcome(name, run) if run else None,
            last_duration_s=run.get("duration_s") if run else None,
            last_vintage=published,
            required=src.required,
            quarantined=quarantined,
            published_age_days=vintage_age(published, today) if published else None,
            removed=_removed(name, runs),
            fetch_failed=_fetch_failed(name, fetches),
            dropped=_dropped_by(name, run),
            last_run_status=run.get("status") if run else None,
            failed_sources=tuple(ledger.failed_sources(run)) if run else (),
            no_warehouse=no_warehouse,
        ))
    return out


def last_run(settings: Settings, *, ran: bool = False) -> dict | None:
    """The newest ledger entry, whatever its sources; with ``ran``, the newest that was not ``skipped``: a refresh
    skipped because another held the lock says nothing about the warehouse, and must not hide an earlier failure
    from ``jlac health`` and ``jlac status`` (found by a QA pass)."""
    runs = read_ledger(settings.run_ledger)
    if ran:
        runs = [r for r in runs if r.get("status") != "skipped"]
    return runs[-1] if runs else None


def skipped_since(settings: Settings, run: dict | None) -> int:
    """How many ``skipped`` runs the ledger holds after ``run`` (all of them when ``run`` is None)."""
    runs = read_ledger(settings.run_ledger)
    after = runs
    if run is not None:
        ids = [r.get("run_id") for r in runs]
        after = runs[ids.index(run.get("run_id")) + 1:] if run.get("run_id") in ids else []
    return sum(r.get("status") == "skipped" for r in after)


def folder_instead(settings: Settings) -> str | None:
    """What to say when JLAC_WAREHOUSE names a folder: no file is published there, and no refresh will publish one
    (it refuses the setting); status and health said "the next refresh publishes a new one" (found by a QA pass)."""
    if not settings.warehouse.is_dir():
        return None
    return (f"JLAC_WAREHOUSE={settings.warehouse} names a folder, not the warehouse's DuckDB file: every reader and "
            f"every refresh fails until it names the file (e.g. {settings.warehouse / 'jlac.duckdb'})")


def published_problem(settings: Settings) -> str | None:
    """Why readers cannot open the published warehouse (truncated, not a DuckDB file, of another DuckDB version), or
    None: status read only the ledger and showed all well while every reading command failed (found by a QA pass).
    A file held open for writing by another process is readable (a copy of it, ``warehouse.open_for_reading``)."""
    from jlac.warehouse import locked_by_a_writer, unreadable

    why = unreadable(settings.warehouse) if settings.warehouse.exists() else None
    return None if why is None or locked_by_a_writer(why) else why


def unrecorded_publish(settings: Settings) -> str | None:
    """The run id of the published warehouse when the ledger does not list it (killed after its swap, or its ledger
    line could not be written): status described the warehouse before it, with no word (found by a QA pass). The
    next refresh records it from ``meta.runs`` (``jlac.pipeline``). None otherwise, or when the file cannot be read."""
    import duckdb

    from jlac.revisions import published_run

    if not settings.warehouse.exists():
        return None
    try:
        with duckdb.connect() as con:
            con.execute("ATTACH ? AS published (READ_ONLY)", [str(settings.warehouse)])
            con.execute("USE published")
            run_id = published_run(con)
    except duckdb.Error:  # unreadable (published_problem says so) or held by a writer: nothing to say here
        return None
    if run_id is None or any(r.get("run_id") == run_id for r in read_ledger(settings.run_ledger)):
        return None
    return run_id


def unrecorded_runs(settings: Settings) -> tuple[list[str], list[str]]:
    """(running, stopped): runs marked in ``.build/`` (``warehouse.mark_running``) that neither the ledger nor the
    published warehouse lists yet: the one holding the refresh lock now, and those killed during their build (the
    next refresh records and alerts them). Status showed only the ledger's last run: a refresh running for minutes,
    or one killed, had no word."""
    from jlac.warehouse import marked_runs, refresh_held

    marks = marked_runs(settings)
    # and the published warehouse's run: killed after its swap, it published (``unrecorded_publish`` says so)
    listed = {r.get("run_id") for r in read_ledger(settings.run_ledger)} | {unrecorded_publish(settings)}
    held = refresh_held(settings) is not None
    running, stopped = [], []
    for run_id, said in marks.items():
        # a marker no run named: the next refresh removes it, recording nothing
        if run_id in listed or ledger.run_started(run_id) is None:
            continue
        (running if held and _alive(said.get("pid")) else stopped).append(run_id)
    return running, stopped


def _alive(pid: object) -> bool:
    """The process exists (or cannot be told: a marker without a pid, a process of another user)."""
    if not isinstance(pid, int):
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def pending_hooks(settings: Settings, unrecorded: str | None = None
                  ) -> tuple[str, list[tuple[str, str | None]]] | None:
    """(run id, [(hook, its last failure message or None)]) for the after-publish hooks that have not succeeded for the
    published run (a serving copy or the report site behind it; the next refresh runs them again,
    ``jlac.publish_hooks.catch_up``); None when there is none. The published run is ``unrecorded`` when the
    warehouse holds a run the ledger does not list yet (``unrecorded_publish``: killed after its swap, its hooks not
    run), else the ledger's last publishing run: the hooks of the run before it were named as pending for "the
    published run" (found by a QA pass)."""
    from jlac.publish_hooks import outcomes_for, pending

    runs = read_ledger(settings.run_ledger)
    run_id = unrecorded or (ledger.last_published(runs) or {}).get("run_id")
    if run_id is None or not (hooks := pending(run_id, runs)):
        return None
    last = {h["hook"]: h.get("message") for h in outcomes_for(run_id, runs)}  # the newest of each
    return run_id, [(h.name, last.get(h.name)) for h in hooks]

"""The run ledger, ``runs.jsonl``: one small JSON summary per refresh run, failed ones included; and the fetch
ledger, ``fetches.jsonl``: one line per connector run (``jlac.connectors``).

The run ledger is appended to by every run and read by ``meta.runs``, ``jlac status``, alerts and backfills; the
fetch ledger by ``meta.fetches`` and ``jlac status``. A process killed while appending leaves a torn line; that line
is skipped (with a warning naming it) and never stops a later run, and the next append starts on a line of its own.
So is a line no reader can use (an edit, another tool's): no record, a field of another type, a time that is none.
File lists are not repeated per run: a run names the snapshots it used (source, vintage, fingerprint); their files
and sha256s are in the snapshot manifests and in the warehouse's ``meta.snapshots``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from jlac.errors import unicode_clean_all

log = logging.getLogger(__name__)


@dataclass
class RunRecord:
    """What a refresh run did; ``snapshots`` carries each snapshot's files while the run needs them."""

    run_id: str
    trigger: str = "cli"
    flow_run_id: str | None = None
    # to the millisecond: to the second, a run's duration counted the part of the second it started in (up to 1 s
    # more than it took) and runs of one second had no order
    # (empty: now, and the duration is measured on the monotonic clock: a clock set back during a run, NTP, gave it
    # a negative duration, -3613 s, found by a QA pass)
    started: str = ""
    ended: str | None = None
    status: str = "running"  # running, completed, unchanged (nothing to publish), failed, crashed, cancelled, skipped
    duration_s: float | None = None
    snapshots: list[dict] = field(default_factory=list)
    error: str | None = None
    failed_source: str | None = None  # the first (or only) source that failed the run, or it was working on
    failed_suite: str | None = None
    # every source and suite whose validation failed (``failed_source``/``failed_suite`` name the first only); lines
    # of older runs lack them: read them with ``failed_sources``
    failed_sources: list[str] = field(default_factory=list)
    failed_suites: list[str] = field(default_factory=list)
    # optional sources built without at ``--drop`` (no snapshot of them found any more): a completed run removed
    # their published data
    dropped: list[str] = field(default_factory=list)
    report_path: str | None = None
    hooks: list[dict] = field(default_factory=list)  # outcomes of the after-publish hooks
    plan: dict | None = None  # what the run had to build: mode (full, incremental, unchanged), reason, changed
    # rows set aside per source (jlac.quarantine): {source: {"rows", "raw_rows", "share", "values"}}
    quarantine: dict[str, dict] = field(default_factory=dict)
    # sources whose fetch failed in this run (after its retries), {source: message}: built from their last vintage
    fetch_failed: dict[str, str] = field(default_factory=dict)
    # a refresh that published nothing but ran the after-publish hooks the published run still lacked
    # (jlac.publish_hooks.catch_up): that run's id; its ``hooks`` are for that run's warehouse
    hooks_for: str | None = None

    def __post_init__(self) -> None:
        self._since: float | None = None  # monotonic start, for a run timed in this process
        if not self.started:
            self.started = datetime.now(UTC).isoformat(timespec="milliseconds")
            self._since = time.monotonic()

    @classmethod
    def from_summary(cls, line: dict) -> RunRecord:
        """A record from its ledger line (as ``read`` returns it); fields the line lacks keep their defaults."""
        return cls(**{k: v for k, v in line.items() if k in cls.__dataclass_fields__})

    def finish(self, status: str, error: str | None = None) -> None:
        """End the record: its status, error, end time and duration."""
        self.status = status
        self.error = error
        now = datetime.now(UTC)
        self.ended = now.isoformat(timespec="milliseconds")
        took = (time.monotonic() - self._since if self._since is not None
                else (now - datetime.fromisoformat(self.started)).total_seconds())
        self.duration_s = round(max(took, 0.0), 2)

    def summary(self) -> dict:
        """The ledger line: the record without per-file lists, its text as any UTF-8 writer takes it (a file name
        that is not UTF-8, in an error, written as its bytes: ``\\xff``)."""
        return unicode_clean_all({**{k: v for k, v in self.__dict__.items() if not k.startswith("_")},
                                  "snapshots": [{k: v for k, v in s.items() if k not in ("files", "older", "origin")}
                                                for s in self.snapshots]})


# The JSON types of a ledger line's fields (RunRecord's): a line of valid JSON whose field has another type (an edit,
# another tool's line) would stop `jlac status` and every reader at that field.
_TYPES = {"trigger": (str,), "flow_run_id": (str, type(None)), "started": (str,), "ended": (str, type(None)),
          "status": (str,), "duration_s": (int, float, type(None)), "snapshots": (list,), "error": (str, type(None)),
          "failed_source": (str, type(None)), "failed_suite": (str, type(None)), "report_path": (str, type(None)),
          "hooks": (list,), "plan": (dict, type(None)), "quarantine": (dict,), "fetch_failed": (dict,),
          "hooks_for": (str, type(None)), "failed_sources": (list,), "failed_suites": (list,), "dropped": (list,)}
# the list fields whose items are names (`jlac status` compares them with source names, alerts join them)
_NAME_LISTS = ("failed_sources", "failed_suites", "dropped")


# An ISO 8601 time as jlac writes it (datetime.isoformat) and both readers take: Python's fromisoformat (run
# durations) and DuckDB's TIMESTAMPTZ (meta.runs, meta.fetches). A line with "2026" or "yesterday" there was read,
# then failed every later refresh after its whole build, at meta.runs, without naming the ledger or the line.
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?")


def _not_a_time(value: object) -> bool:
    """True unless ``value`` is None or a time both readers of the ledgers take (``_TIMESTAMP``)."""
    if value is None:
        return False
    if not isinstance(value, str) or not _TIMESTAMP.fullmatch(value):
        return True
    try:
        datetime.fromisoformat(value)  # a date that does not exist (2026-02-30, month 13)
    except ValueError:
        return True
    return False


def _wrong_field(run: dict) -> str | None:
    """The first field of a ledger line whose type (or time format) is not a run record's, as ``name=value``; None
    when all fit. The items the readers look into are checked too: each snapshot's source and vintage (`jlac
    status` compares and dates vintages), each hook outcome and quarantine entry being an object."""
    for name, types in _TYPES.items():
        value = run.get(name)
        if name in run and (not isinstance(value, types) or isinstance(value, bool)):
            return f"{name}={value!r}"
    for name in ("started", "ended"):
        if _not_a_time(run.get(name)):
            return f"{name}={run[name]!r} (not an ISO 8601 time such as 2026-12-01T05:11:17.123+00:00)"
    for item in run.get("snapshots") or []:
        if not isinstance(item, dict):
            return f"snapshots item {item!r}"
        if wrong := next((k for k in ("source", "vintage") if k in item and not isinstance(item[k], str)), None):
            return f"snapshots item {item!r} ({wrong} is no text)"
    for name in _NAME_LISTS:
        if bad := [i for i in run.get(name) or [] if not isinstance(i, str)]:
            return f"{name} item {bad[0]!r}"
    if item := next((h for h in run.get("hooks") or [] if not isinstance(h, dict)), None):
        return f"hooks item {item!r}"
    if name := next((k for k, v in (run.get("quarantine") or {}).items() if not isinstance(v, dict)), None):
        return f"quarantine {name}={run['quarantine'][name]!r}"
    return None


_ID_LOCK = threading.Lock()
_last_id_ms = 0


def new_run_id() -> str:
    """A run's id: the UTC time to the millisecond and the process id (``20261205T051117123-2397``), so ids sort by
    time, and never the same twice in a process. To the second only, two refreshes of one process within a second
    (unchanged ones take about one) got the same id: two ledger lines with it, and a stopped run found "its" line."""
    global _last_id_ms
    with _ID_LOCK:
        ms = _last_id_ms = max(time.time_ns() // 1_000_000, _last_id_ms + 1)
    seconds, millis = divmod(ms, 1000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y%m%dT%H%M%S") + f"{millis:03d}-{os.getpid()}"


def run_started(run_id: str) -> datetime | None:
    """When the run of a ``new_run_id`` id started (UTC), or None when ``run_id`` is no run's id (a file a run did not
    name)."""
    try:
        return datetime.strptime(run_id.split("-", 1)[0], "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC)
    except ValueError:
        return None


def append(path: Path, record: RunRecord) -> None:
    """Add the run's summary line to the run ledger."""
    append_lines(path, [json.dumps(record.summary(), default=str)], f"run {record.run_id}", "the run ledger")


def append_lines(path: Path, lines: list[str], what: str, ledger: str) -> None:
    """Append JSON lines to a ledger in one write: after a torn last line (a process killed while appending) they
    start on a line of their own; a failed write (a full disk) leaves the file as it was and names ``what``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(line + "\n" for line in lines)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.lseek(fd, 0, os.SEEK_END)
        torn = size > 0 and os.pread(fd, 1, size - 1) != b"\n"
        data = memoryview((b"\n" if torn else b"") + text.encode("utf-8"))
        try:
            while data:  # unbuffered: a short write is seen here, not at close
                data = data[os.write(fd, data):]
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)
            raise OSError(exc.errno, f"{exc.strerror}: cannot add {what} to {ledger}", str(path)) from exc
    finally:
        os.close(fd)


def _json_lines(path: Path, what: str):
    """(line number, line, value) of each JSON line of a ledger; a line that is not JSON (a torn append) is skipped
    and reported, naming ``what`` was being written."""
    if not path.exists():
        return
    for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            # a line an older jlac wrote may hold a non-UTF-8 file name's escapes, which DuckDB refuses (meta.runs)
            yield n, line, unicode_clean_all(json.loads(line))
        except json.JSONDecodeError as exc:
            log.warning("%s: line %d is not JSON (%s, %r...): skipped (a %s killed while writing it, or an edit)",
                        path, n, exc.msg, line[:60], what)


def read(path: Path) -> list[dict]:
    """Every run in the ledger, oldest first; a line that is not JSON (a torn append) is skipped and reported."""
    runs = []
    for n, line, run in _json_lines(path, "run"):
        if not isinstance(run, dict) or not isinstance(run.get("run_id"), str):
            # valid JSON that is no run record (123, [1, 2], {}): every later build read it as one and failed
            log.warning("%s: line %d is not a run record (%r...): skipped", path, n, line[:60])
            continue
        if wrong := _wrong_field(run):
            log.warning("%s: line %d (run %s) has %s, not what a run record holds there: skipped", path, n,
                        run["run_id"], wrong[:120])
            continue
        runs.append(run)
    return runs


def built_instead(source: str, snapshots: list[dict] | None, what: str = "built") -> str:
    """What a run built of ``source`` when its fetch failed, from the run's snapshots: "built from its last good
    vintage V", or that it had none. "Built from its last good vintage" was said of sources never fetched before
    (found by a QA pass)."""
    vintage = next((s.get("vintage") for s in snapshots or [] if isinstance(s, dict) and s.get("source") == source),
                   None)
    return (f"{what} from its last good vintage {vintage}" if vintage else
            f"it has no earlier vintage: {what} without it")


def failed_sources(run: dict) -> list[str]:
    """Every source whose own checks failed the run (``read``'s line): ``failed_sources``, and ``failed_source``,
    all a line of an older run has (one source, though more may have failed)."""
    names = list(run.get("failed_sources") or [])
    first = run.get("failed_source")
    return names + [first] if first and first not in names else names


def last_published(runs: list[dict]) -> dict | None:
    """The newest run of ``runs`` (``read``'s lines) that published (status completed); failed and unchanged runs
    publish nothing."""
    return next((run for run in reversed(runs) if run.get("status") == "completed"), None)


# A fetch ledger line's fields and their JSON types (``jlac.connectors.FetchResult`` plus the time, ``at``).
_FETCH_TYPES = {"at": (str,), "source": (str,), "status": (str,), "vintage": (str, type(None)),
                "requests": (int, type(None)), "bytes": (int, type(None)), "message": (str, type(None))}


def read_fetches(path: Path) -> list[dict]:
    """Every fetch in the fetch ledger, oldest first; a line that is not a fetch record (a torn append, an edit) is
    skipped and reported, as in ``read``."""
    out = []
    for n, _, item in _json_lines(path, "fetch"):
        wrong = "not an object" if not isinstance(item, dict) else next(
            (f"{k}={item.get(k)!r}" for k, types in _FETCH_TYPES.items()
             if (k in ("at", "source", "status") and k not in item)
             or (k in item and (not isinstance(item[k], types) or isinstance(item[k], bool)))), None)
        if not wrong and _not_a_time(item["at"]):  # meta.fetches.fetched_at is a TIMESTAMPTZ, as meta.runs' times
            wrong = f"at={item['at']!r}, not an ISO 8601 time such as 2026-12-01T05:11:17+00:00"
        if wrong:
            log.warning("%s: line %d is not a fetch record (%s): skipped", path, n, wrong[:120])
            continue
        out.append(item)
    return out

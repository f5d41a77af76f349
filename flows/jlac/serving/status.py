"""The serving copy's version and lag, for ``jlac status``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from jlac.config import Settings
from jlac.ops.status import read_ledger
from jlac.serving.cluster import ClusterError, LocalCluster
from jlac.serving.load import attach_published, published_version, serving_version
from jlac.serving.target import Target, team_target
from jlac.warehouse import read_published


@dataclass
class ServingStatus:
    where: str  # the target, or why there is none
    version: str | None = None  # run id the copy holds
    published: str | None = None  # run id of the published warehouse
    published_at: datetime | None = None
    runs_behind: int | None = None  # completed runs published after the copy's version (None: not read)
    error: str | None = None  # why the copy could not be read
    advice: str | None = None  # what to do when there is no copy to read (not an error: the cluster is stopped)
    last_hook: dict | None = None  # the postgres hook's outcome in the last run that ran it

    @property
    def current(self) -> bool:
        return self.version is not None and self.version == self.published

    @property
    def lag_s(self) -> float | None:
        """How long the published warehouse has waited for the copy (0 when the copy holds it)."""
        if self.current:
            return 0.0
        if self.published_at is None:
            return None
        return round((datetime.now(UTC) - self.published_at).total_seconds(), 1)

    def line(self) -> str:
        """One line for ``jlac status``."""
        hook = ""
        if self.last_hook and self.last_hook.get("status") == "failed":
            hook = f"; last refresh's load failed: {self.last_hook.get('message')}"
        advice = f"; {self.advice}" if self.advice else ""
        if self.error:
            return f"serving copy ({self.where}): unreadable - {self.error}{hook}{advice}"
        if self.advice:  # a stopped cluster is no read failure: it said "unreadable - start ..." (QA pass)
            return f"serving copy ({self.where}): {self.advice}{hook}"
        if self.version is None and self.published is None:
            return f"serving copy ({self.where}): empty, nothing published yet"
        if self.current:
            return f"serving copy ({self.where}): run {self.version}, current"
        behind = f" by {self.runs_behind} run(s)" if self.runs_behind is not None else ""
        lag = f", lag {self.lag_s:.0f} s" if self.lag_s is not None else ""
        return (f"serving copy ({self.where}): run {self.version or '(none)'}, BEHIND the published run "
                f"{self.published or '(none)'}{behind}{lag}{hook}")


def _target(settings: Settings) -> tuple[Target | None, str]:
    team = team_target()
    if team is not None:
        return team, team.description
    cluster = LocalCluster(settings.home)
    port = cluster.running_port()
    if port is not None:
        return cluster.target(port), f"local cluster on 127.0.0.1:{port}"  # ClusterError: owner.secret unreadable
    if cluster.initialized:
        return None, f"local cluster {cluster.data} not running"
    return None, "none configured"


def _published_run(path) -> str | None:
    with duckdb.connect(":memory:") as con:
        attach_published(con, path)
        return published_version(con)


def serving_status(settings: Settings, connect_timeout: int = 10) -> ServingStatus | None:
    """Version and lag of the serving copy; None when neither JLAC_POSTGRES_URL nor a local cluster exists.
    ``connect_timeout``: seconds to wait for the copy's server (`jlac health` waits less: a monitor's check has ten
    seconds in all, and a stopped PostgreSQL held it for twelve: found by a QA pass)."""
    try:
        target, where = _target(settings)
        unreadable, foreign = None, False
    except ClusterError as exc:  # an owner.secret or a data folder this user cannot read: reported, not a crash
        port = LocalCluster(settings.home).running_port()
        target, where = None, f"local cluster on 127.0.0.1:{port}" if port else "local cluster"
        unreadable, foreign = str(exc).strip().splitlines()[0], True
    if target is None and where == "none configured":
        return None
    status = ServingStatus(where)
    runs = read_ledger(settings.run_ledger)
    status.last_hook = next((h for r in reversed(runs) for h in r.get("hooks") or [] if h.get("hook") == "postgres"),
                            None)
    if settings.warehouse.exists():
        try:  # on a byte copy while a BI tool holds the file open for writing
            status.published = read_published(settings, _published_run, "serving status")
        except duckdb.Error as exc:  # a damaged file: said on the serving line, the copy is still read
            unreadable = f"published warehouse {settings.warehouse}: {str(exc).strip().splitlines()[0]}"
        status.published_at = datetime.fromtimestamp(settings.warehouse.stat().st_mtime, UTC)
    if unreadable is not None:
        status.error = unreadable
    if target is None:
        if not foreign:  # stopped; a cluster this user cannot read is not theirs to start
            status.advice = "start `jlac serve-sql` to serve and catch up"
    else:
        try:
            with target.connect(connect_timeout=connect_timeout) as con:
                status.version = serving_version(con)
        except Exception as exc:  # noqa: BLE001 - status reports, it does not fail
            status.error = str(exc).strip().splitlines()[0]
            if unreadable is not None:
                status.error = f"{unreadable}; {status.error}"
    # a copy not read (a stopped cluster, an error) is of no known run: how far behind it is, unknown (it read every
    # run since the first: found by a QA pass)
    if not status.current and status.published is not None and target is not None and status.error is None:
        completed = [r["run_id"] for r in runs if r.get("status") == "completed"]
        after = completed[completed.index(status.version) + 1:] if status.version in completed else completed
        status.runs_behind = max(1, len(after))
    return status

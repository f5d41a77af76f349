"""One verdict on the whole installation for a monitor: `jlac health`.

`jlac status` is the per-source freshness table (and its JSON rows); the states around it (a published warehouse
that cannot be read, a refresh running or killed, after-publish hooks not done, the SQL endpoint's copy down or
behind) were lines of prose below it, so a monitor had to parse text to see them (found by a QA pass). Here every
state is a problem with a stable ``code``, a severity and the source or run it concerns, and the exit status is a
monitoring plugin's (Nagios, Icinga, Sensu, Zabbix's and Prometheus' script exporters read it): 0 OK, 1 WARNING,
2 CRITICAL, 3 UNKNOWN (the check itself could not run).

Readers first: CRITICAL is what stops them now (no published warehouse, one that cannot be read, a SQL endpoint
whose copy cannot be read); WARNING what will, or what someone must look at (stale data, a failed or killed
refresh, a failed fetch, a copy behind, hooks not done). A running refresh, quarantined rows and removed values are
reported, not problems: they are the pipeline working (the latter two are alerted when they happen).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from jlac.config import Settings

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
LEVELS = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}
# every code a problem may have, with its severity (docs/operations.md lists them)
CODES = {
    "no_warehouse": CRITICAL,
    "warehouse_unreadable": CRITICAL,
    "serving_unreadable": CRITICAL,
    "serving_stopped": CRITICAL,
    "stale": WARNING,
    "last_run_failed": WARNING,
    "run_stopped": WARNING,
    "publish_unrecorded": WARNING,
    "fetch_failed": WARNING,
    "vintage_missing": WARNING,
    "vintage_gone": WARNING,
    "vintage_in_future": WARNING,
    "hooks_pending": WARNING,
    "serving_behind": WARNING,
}
FAILED = ("failed", "crashed", "cancelled")


@dataclass(frozen=True)
class Problem:
    code: str  # one of CODES
    message: str
    source: str | None = None
    run_id: str | None = None

    @property
    def severity(self) -> int:
        return CODES[self.code]

    def as_json(self) -> dict:
        return {"code": self.code, "severity": LEVELS[self.severity].lower(), "message": self.message,
                "source": self.source, "run_id": self.run_id}


@dataclass
class Health:
    warehouse: dict
    problems: list[Problem] = field(default_factory=list)
    last_run: dict | None = None
    running: list[str] = field(default_factory=list)
    serving: dict | None = None
    pending_hooks: list[dict] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)
    checked_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def exit_code(self) -> int:
        """0 OK, 1 WARNING, 2 CRITICAL: the worst problem's."""
        return max((p.severity for p in self.problems), default=OK)

    def as_json(self) -> dict:
        return {"status": LEVELS[self.exit_code].lower(), "exit_code": self.exit_code, "checked_at": self.checked_at,
                "error": None, "problems": [p.as_json() for p in self.problems], "warehouse": self.warehouse,
                "last_run": self.last_run, "running": self.running, "pending_hooks": self.pending_hooks,
                "serving": self.serving, "sources": self.sources}

    def summary(self) -> str:
        """The first line of a monitoring plugin's output: the verdict and the worst problems."""
        level = LEVELS[self.exit_code]
        if not self.problems:
            return f"JLAC {level}: published run {self.warehouse.get('published_run') or '-'}, every source fresh"
        worst = sorted(self.problems, key=lambda p: -p.severity)
        more = f" (+{len(worst) - 3} more)" if len(worst) > 3 else ""
        return f"JLAC {level}: " + "; ".join(p.message for p in worst[:3]) + more


def unknown(error: str) -> dict:
    """The JSON of a check that could not run: the same keys as a verdict's (empty), and ``error`` saying why (it had
    another shape, which a monitor reading ``warehouse`` failed on: found by a QA pass)."""
    return {**Health(warehouse={}).as_json(), "status": "unknown", "exit_code": UNKNOWN, "error": error,
            "warehouse": None}


def _stamp(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _warehouse(settings: Settings) -> tuple[dict, list[Problem]]:
    from jlac.ops.status import folder_instead, published_problem, unrecorded_publish
    from jlac.warehouse import refresh_held

    path = settings.warehouse
    info = {"path": str(path), "exists": path.is_file(), "readable": None, "published_run": None,
            "published_at": None, "unrecorded_run": None}
    if folder := folder_instead(settings):
        return info, [Problem("no_warehouse", folder)]
    if not info["exists"]:
        return info, [Problem("no_warehouse", f"no published warehouse at {path}: every reader fails until a refresh "
                                              "publishes one (a mistyped JLAC_WAREHOUSE?)")]
    info["published_at"] = _stamp(datetime.fromtimestamp(path.stat().st_mtime, UTC))
    if why := published_problem(settings):
        info["readable"] = False
        return info, [Problem("warehouse_unreadable", f"the published warehouse {path} cannot be read ({why}); the "
                                                      "next refresh publishes a new one")]
    info["readable"] = True
    problems = []
    if unrecorded := unrecorded_publish(settings):
        info["unrecorded_run"] = unrecorded
        if refresh_held(settings) is None:  # else it has published and runs its after-publish hooks: no problem
            problems.append(Problem("publish_unrecorded", f"the published warehouse holds run {unrecorded}, which "
                                                          f"{settings.run_ledger} does not list; the next refresh "
                                                          "records it and runs its after-publish hooks",
                                    run_id=unrecorded))
    return info, problems


def _runs(settings: Settings, health: Health) -> None:
    from jlac import ledger
    from jlac.ops.status import last_run, read_ledger, unrecorded_runs

    run = last_run(settings, ran=True)  # a skipped refresh must not hide a failure before it
    published = ledger.last_published(read_ledger(settings.run_ledger))
    if health.warehouse["exists"]:  # a ledger beside a mistyped warehouse name names no run published there
        health.warehouse["published_run"] = health.warehouse["unrecorded_run"] or (published or {}).get("run_id")
    if run:
        health.last_run = {"run_id": run.get("run_id"), "status": run.get("status"), "started": run.get("started"),
                           "ended": run.get("ended"), "duration_s": run.get("duration_s"),
                           "failed_sources": ledger.failed_sources(run), "error": run.get("error")}
        if run.get("status") in FAILED:
            failed = ", ".join(ledger.failed_sources(run))
            health.problems.append(Problem(
                "last_run_failed", f"the last refresh {run.get('run_id')} {run.get('status')}"
                + (f" on {failed}" if failed else "") + ": nothing of it was published", run_id=run.get("run_id")))
    running, stopped = unrecorded_runs(settings)
    unrecorded = health.warehouse.get("unrecorded_run")
    if unrecorded and not any(p.code == "publish_unrecorded" for p in health.problems):
        running = [*running, unrecorded]  # published, and running its after-publish hooks under the lock
    health.running = running
    for run_id in stopped:
        health.problems.append(Problem("run_stopped", f"refresh {run_id} was stopped during its build (killed?): "
                                                      "nothing of it was published", run_id=run_id))


def _sources(settings: Settings, health: Health) -> None:
    from jlac.ops.status import source_status

    rows = source_status(settings)
    health.sources = [r.as_json() for r in rows]
    for r in rows:
        if r.stale and not r.no_warehouse:  # no warehouse is one problem, not one a source
            published = f"published vintage {r.last_vintage}" if r.last_vintage else f"vintage {r.vintage or '-'}"
            health.problems.append(Problem("stale", f"{r.source} is stale ({published})", source=r.source))
        if r.fetch_failed:
            health.problems.append(Problem("fetch_failed", f"the last fetch of {r.source} failed at "
                                                           f"{r.fetch_failed[0]}: {r.fetch_failed[1]}",
                                           source=r.source))
        if r.published_gone:
            health.problems.append(Problem("vintage_gone", f"published vintage {r.last_vintage} of {r.source} is no "
                                                           f"longer in the store or mirrors: the next refresh builds "
                                                           f"the older {r.vintage}", source=r.source))
        if r.vintage is None and r.last_vintage is not None and not r.dropped:
            health.problems.append(Problem("vintage_missing", f"published vintage {r.last_vintage} of {r.source} is "
                                                              "not in the store or mirrors: the next refresh stops",
                                           source=r.source))
        if r.future:
            health.problems.append(Problem("vintage_in_future", f"the newest vintage of {r.source}, {r.vintage}, is "
                                                                "dated in the future", source=r.source))


def _hooks_and_serving(settings: Settings, health: Health) -> None:
    from jlac.ops.status import pending_hooks
    from jlac.serving.status import serving_status

    serving = serving_status(settings, connect_timeout=5)
    if serving is not None:
        health.serving = {"where": serving.where, "version": serving.version, "published": serving.published,
                          "current": serving.current, "runs_behind": serving.runs_behind, "lag_s": serving.lag_s,
                          "error": serving.error, "advice": serving.advice}
        if serving.error:
            health.problems.append(Problem("serving_unreadable", f"the SQL endpoint's copy ({serving.where}) cannot "
                                                                 f"be read: {serving.error}"))
        elif serving.advice:
            health.problems.append(Problem("serving_stopped", f"the SQL endpoint ({serving.where}) is not serving: "
                                                              f"{serving.advice}"))
        elif serving.published is not None and not serving.current:
            health.problems.append(Problem("serving_behind", f"the SQL endpoint's copy holds run "
                                                             f"{serving.version or '(none)'}, {serving.runs_behind} "
                                                             f"run(s) behind {serving.published}",
                                           run_id=serving.published))
    unrecorded = health.warehouse.get("unrecorded_run")
    if not (unrecorded and unrecorded in health.running) and (pending := pending_hooks(settings, unrecorded)):
        run_id, hooks = pending
        caught_up = serving is not None and serving.current and serving.version == run_id
        # the postgres hook failed, but serve-sql has loaded the run since: done (as `jlac status` says)
        hooks = [(hook, message) for hook, message in hooks if not (caught_up and hook == "postgres")]
        health.pending_hooks = [{"run_id": run_id, "hook": hook, "message": message} for hook, message in hooks]
        if hooks:
            health.problems.append(Problem("hooks_pending", f"after-publish hooks not done for run {run_id}: "
                                           + ", ".join(hook for hook, _ in hooks), run_id=run_id))


def check(settings: Settings) -> Health:
    """Every state of the installation a monitor acts on, read from files and the serving copy (no Prefect API)."""
    from jlac.ops.status import one_read

    with one_read():  # one reading of each ledger for the whole report
        info, problems = _warehouse(settings)
        health = Health(warehouse=info, problems=problems)
        _runs(settings, health)
        _sources(settings, health)
        _hooks_and_serving(settings, health)
    return health


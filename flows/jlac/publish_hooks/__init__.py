"""The one hook point around the atomic publish. Every consumer of a new warehouse plugs in here.

A hook is a module in this package defining ``HOOK = PublishHook(...)``; it is found automatically (like
sources). Two phases:

* ``before(ctx)`` runs on the finished build while the previous warehouse is still the published one
  (``ctx.previous``), e.g. to record which published values the new build changes. It may write into
  ``ctx.build``. An exception stops the publish: nothing is published, the run fails. A ``JlacError`` (the hook's
  verdict on the build) fails it at once; any other error (a file system's, a connection's) may pass, and the
  publish task is tried once more, hooks included, 2 s later (``jlac.pipeline.may_pass``).
* ``after(ctx)`` runs once the new warehouse is published (``ctx.published``), e.g. to load a serving copy
  or write the report site. A failure here never undoes the publish: it is logged, kept in the run record
  (``hooks`` in ``runs.jsonl``) and alerted, and the next refresh's hook catches up.

A refresh that publishes nothing (its inputs equal the published warehouse's) still runs again, once, every
``after`` hook that has not succeeded for the published warehouse (``catch_up``): a hook that failed, or the hooks
of a run stopped after its swap. Otherwise a serving copy a down server missed would stay behind until a publisher
releases new data.

Hooks run in ``order`` (then name) in both phases.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jlac import ledger
from jlac.config import Settings

log = logging.getLogger(__name__)


@dataclass
class PublishContext:
    """What a hook sees: the settings, the run, the build file, and the published file before/after the swap."""

    settings: Settings
    record: Any  # jlac.ledger.RunRecord (the run being published)
    build: Path  # the finished, checkpointed build (before) — gone once published
    previous: Path | None  # the published warehouse before the swap, None on a first publish (before only)

    @property
    def published(self) -> Path:
        """The published warehouse's path (``JLAC_WAREHOUSE``): the new warehouse once the swap is done (after)."""
        return self.settings.warehouse


@dataclass(frozen=True)
class PublishHook:
    """A consumer of new warehouses: its ``before`` and ``after`` callables (either may be None), run in ``order``."""

    name: str
    before: Callable[[PublishContext], None] | None = None
    after: Callable[[PublishContext], dict | None] | None = None  # may return details for the run record
    order: int = 100
    # run again by every refresh that publishes nothing, even once it succeeded, while this answers True: for a
    # consumer whose state can be lost behind jlac's back (a team's PostgreSQL restored or emptied) and whose ``after``
    # is cheap when it is current
    recheck: Callable[[], bool] | None = None


@dataclass
class HookOutcome:
    hook: str
    status: str  # ok, failed
    seconds: float
    message: str | None = None
    details: dict | None = None


@cache
def all_hooks() -> list[PublishHook]:
    """Every hook module in this package, in order."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        hook = getattr(importlib.import_module(f"{__name__}.{info.name}"), "HOOK", None)
        if isinstance(hook, PublishHook):
            found.append(hook)
    return sorted(found, key=lambda h: (h.order, h.name))


def run_before(ctx: PublishContext, hooks: list[PublishHook] | None = None) -> None:
    """Run every ``before`` hook; the first exception propagates and stops the publish."""
    for hook in all_hooks() if hooks is None else hooks:
        if hook.before is not None:
            started = time.perf_counter()
            hook.before(ctx)
            log.info("publish hook %s (before): %.2f s", hook.name, time.perf_counter() - started)


def run_after(ctx: PublishContext, hooks: list[PublishHook] | None = None,
              alert: Callable[[str, str], None] | None = None) -> list[HookOutcome]:
    """Run every ``after`` hook; failures are caught, logged and alerted, and returned as outcomes.

    Each outcome is also noted on ``ctx.record.hooks`` as soon as its hook ends: a stop in a later hook (Ctrl-C,
    SIGTERM: not caught here) leaves in the run's ledger line the hooks that did succeed, so the next refresh's catch-up
    does not run them (nor alert) again."""
    outcomes = []
    for hook in all_hooks() if hooks is None else hooks:
        if hook.after is None:
            continue
        started = time.perf_counter()
        try:
            details = hook.after(ctx)
        except Exception as exc:  # noqa: BLE001 - the publish stands whatever a consumer does
            seconds = round(time.perf_counter() - started, 2)
            message = f"{type(exc).__name__}: {exc}"
            log.error("publish hook %s failed after publishing %s (%s); the published warehouse stands",
                      hook.name, ctx.published, message)
            outcomes.append(HookOutcome(hook.name, "failed", seconds, message))
            _note(ctx, outcomes)
            if alert is not None:
                alert(hook.name, message)
            continue
        seconds = round(time.perf_counter() - started, 2)
        log.info("publish hook %s (after): %.2f s", hook.name, seconds)
        outcomes.append(HookOutcome(hook.name, "ok", seconds, None, details))
        _note(ctx, outcomes)
    return outcomes


def _note(ctx: PublishContext, outcomes: list[HookOutcome]) -> None:
    if hasattr(ctx.record, "hooks"):
        ctx.record.hooks = [o.__dict__ for o in outcomes]


def outcomes_for(published_run: str, runs: list[dict]) -> list[dict]:
    """The after-publish hook outcomes recorded for the warehouse ``published_run`` published, oldest first: its own,
    and those of later refreshes that caught up for it (``hooks_for``). Items that are no outcome are left out."""
    return [h for run in runs if run["run_id"] == published_run or run.get("hooks_for") == published_run
            for h in run.get("hooks") or [] if isinstance(h, dict) and isinstance(h.get("hook"), str)]


def pending(published_run: str, runs: list[dict], hooks: list[PublishHook] | None = None) -> list[PublishHook]:
    """The ``after`` hooks that have not succeeded for the warehouse ``published_run`` published (``outcomes_for``).

    A hook the publishing run's own line does not name while it names one that runs after it was no ``after`` hook of
    the jlac that published (hooks run in order, each noted as it ends, failed ones too): not pending. A warehouse
    an older jlac published (``revisions`` ran before its publish then) was said to have hooks "not done" after an
    upgrade, a warning in ``jlac health``, though nothing had been left undone."""
    listed = all_hooks() if hooks is None else hooks
    done = {h["hook"] for h in outcomes_for(published_run, runs) if h.get("status") == "ok"}
    own = {h["hook"] for run in runs if run["run_id"] == published_run and not run.get("hooks_for")
           for h in run.get("hooks") or [] if isinstance(h, dict) and isinstance(h.get("hook"), str)}
    ordered = sorted((h for h in listed if h.after is not None), key=lambda h: (h.order, h.name))
    last_noted = max((i for i, h in enumerate(ordered) if h.name in own), default=-1)
    unknown_then = {h.name for i, h in enumerate(ordered) if i < last_noted and h.name not in own}
    return [h for h in listed if h.after is not None and h.name not in done and h.name not in unknown_then]


def catch_up(settings: Settings, record, alert: Callable[[str, str], None] | None = None) -> list[HookOutcome]:
    """For a refresh that publishes nothing: run the ``after`` hooks still pending for the published warehouse
    (``pending``), as for its own publish, and note in ``record.hooks_for`` which run they were for. Each hook runs
    again until it succeeds once; nothing pending costs one read of the ledger and of the warehouse's run id."""
    import duckdb

    from jlac import warehouse
    from jlac.revisions import published_run

    if not settings.warehouse.exists():
        return []
    runs = ledger.read(settings.run_ledger)
    try:  # attached: duckdb.connect(path) reuses a database this process has open there (the file before a publish)
        with warehouse.attach_readonly(settings.warehouse) as con:
            run_id = published_run(con)
    except duckdb.Error as exc:  # UnreadableWarehouse is one
        if not warehouse.locked_by_a_writer(str(exc)):  # damaged: the next refresh replaces it
            log.warning("publish hooks: the published warehouse %s cannot be read (%s); hooks not caught up",
                        settings.warehouse, exc)
            return []
        # a user's session holds it open for writing (DBeaver does): the ledger names the run that published it
        run_id = (ledger.last_published(runs) or {}).get("run_id")
    if run_id is None:
        return []
    waiting = pending(run_id, runs)
    # and the hooks that check their consumer again whatever the ledger says (``PublishHook.recheck``)
    names = {h.name for h in waiting}
    hooks = sorted([*waiting, *(h for h in all_hooks() if h.name not in names and h.after is not None
                                and h.recheck is not None and h.recheck())], key=lambda h: h.order)
    if not hooks:
        return []
    # the hooks see the run that published (its quarantine, its id in alerts), as they would have then
    known = next((r for r in reversed(runs) if r["run_id"] == run_id), None)
    published_record = ledger.RunRecord.from_summary(known) if known else ledger.RunRecord(run_id=run_id)
    log.info("publish hooks %s have not succeeded for the published run %s: running them again",
             ", ".join(h.name for h in hooks), run_id)
    record.hooks_for = run_id
    return run_after(PublishContext(settings, published_record, settings.warehouse, None), hooks, alert=alert)

"""What a refresh (or backfill) would fail on later, checked before anything starts: the CLI calls it before Prefect's
seconds of start, the refresh flow at its beginning (a deployment's run).

Inside a run, a fetch's bad setting only failed that fetch (the run went on and ended "nothing changed", status 0),
a bad JLAC_TASK_RUNNER passed unless a partitioned file was parsed, and a folder that cannot be what the settings say
was found after building (the warehouse a folder) or after publishing (the output under a file).
"""

from __future__ import annotations

import os
from pathlib import Path

from jlac.config import Settings
from jlac.errors import JlacError, SettingError, SnapshotError


def fetch_ignored(fetch: str, offline: str, run: str) -> str:
    """What a run given both a fetch and offline (``jlac refresh --fetch --offline``, a deployment's ``fetch: true``
    run with offline=true) says: offline wins, as documented, and the run says so rather than fetch nothing without
    a word, as if the publishers had nothing new. ``fetch``/``offline`` are the options as the caller spells them."""
    return (f"{fetch} is ignored: {offline} never touches the network, so nothing is fetched and {run} builds from "
            "the snapshots at hand")


def check(settings: Settings, sources: list[str] | None = None, pins: dict[str, str] | None = None,
          fetch: bool = False, drop: list[str] | None = None) -> None:
    """Raise JlacError (SettingError for a setting) naming what is wrong: an unknown source name, a required source
    to ``drop``, a JLAC_HTTP_* value when the run fetches, JLAC_TASK_RUNNER's form or a Dask scheduler it names that
    does not answer, or a warehouse, output or cache path no refresh can write."""
    from jlac import task_runners
    from jlac.plan import check_known
    from jlac.snapshots import latest_snapshot
    from jlac.sources import all_sources
    from jlac.transform import dbt_home
    from jlac.warehouse import not_duckdb

    # --drop may name a source the published warehouse holds that is no longer registered (its folder removed)
    gone = {n for n in drop or [] if n not in all_sources()}
    if gone:
        from jlac.plan import published_sources

        gone -= published_sources(settings)
    check_known([*(sources or []), *gone] or None, pins)
    if not 0 <= settings.quarantine_max_share <= 1:  # given as the flow's `settings` parameter, not read from the env
        raise SettingError(f"quarantine_max_share={settings.quarantine_max_share!r} (JLAC_QUARANTINE_MAX_SHARE): "
                           "expected a share between 0 and 1, e.g. 0.02")
    if required := sorted(n for n in drop or [] if n in all_sources() and all_sources()[n].required):
        raise JlacError(f"--drop {', '.join(required)}: a required source (the models and figures need its data) "
                        "cannot be built without; put its snapshots back where JLAC_MIRROR or JLAC_SNAPSHOTS say")
    if fetch:
        from jlac.connectors import make_client

        make_client()  # reads and checks JLAC_HTTP_CONNECT_TIMEOUT, _READ_TIMEOUT and _RETRIES
    # its form, and that a dask:// scheduler answers now: checked only when a parse was sent to it, one down (or an
    # address mistyped) passed every refresh with nothing to parse and was found on the day data arrived
    task_runners.check_setting()
    raw = os.environ.get("JLAC_WAREHOUSE", "")
    if settings.warehouse.is_dir() or raw.endswith(("/", os.sep)):
        # a path ending in '/' became a DuckDB file of the folder's name, the folder's siblings its home (QA pass)
        raise JlacError(f"JLAC_WAREHOUSE={raw or settings.warehouse} names a folder; it names the warehouse's DuckDB "
                        "file (e.g. warehouse/jlac.duckdb)")
    if settings.warehouse.suffix.lower() not in (".duckdb", ".db", ".ddb") and (
            why := not_duckdb(settings.warehouse)) is not None:
        # the publish would replace it: a user's CSV named by mistake is theirs (a damaged jlac.duckdb is replaced)
        raise JlacError(f"JLAC_WAREHOUSE: {why}; a refresh would replace it. Move it away, or point JLAC_WAREHOUSE "
                        "at the warehouse's .duckdb file")
    for name, vintage in (pins or {}).items():
        # a vintage that does not exist was found only inside the flow, after Prefect's start, and recorded and
        # alerted as a failed run (found by a QA pass); the message lists the vintages there are
        latest_snapshot(name, settings, vintage)
    dbt = dbt_home(settings)
    if "?" in str(dbt):  # dbt-duckdb drops everything from a "?" on from the path it attaches (URL parameters)
        which = "JLAC_DBT_HOME" if os.environ.get("JLAC_DBT_HOME") else "JLAC_WAREHOUSE's folder"
        raise JlacError(f"{which} {dbt.parent if which != 'JLAC_DBT_HOME' else dbt}: dbt cannot build in a folder "
                        "whose path has a '?' (dbt-duckdb reads what follows it as URL parameters); choose a folder "
                        "without one, or set JLAC_DBT_HOME to one")
    # the warehouse's folder first, and a folder whose variable is unset named as the default it is: a read-only
    # warehouse folder was reported as "JLAC_OUTPUT ...", a variable the user never set (found by a QA pass)
    # the build folder too: a file named .build was a FileExistsError naming nothing else (found by a QA pass)
    for name, folder in (("JLAC_WAREHOUSE's folder", settings.home), ("the build folder", settings.build_dir),
                         (folder_label("JLAC_OUTPUT"), settings.output),
                         (folder_label("JLAC_CACHE"), settings.cache_dir)):
        check_writable(name, folder, "a refresh writes there")
    # Each of these failed late: the dbt folder after parsing and checking every source, the run ledger after the
    # publish (and again at once on every later refresh), Prefect's home after 4 minutes of its temporary API not
    # starting, in a traceback naming no folder (found by a QA pass)
    # the folders of the output a refresh replaces whole: one of the user's under those names is refused now, not
    # after building (jlac.owned)
    from jlac import site, transform
    from jlac.warehouse import output_owner_problem

    if (problem := output_owner_problem(settings)) is not None:
        raise JlacError(problem)
    transform.check_docs_folder(settings.output / transform.DOCS_DIR)
    site.check_site_folder(site.site_dir(settings))
    check_writable("the dbt folder (JLAC_DBT_HOME, unset: .dbt beside JLAC_WAREHOUSE)", dbt,
                   "dbt keeps the build's link, its profile and its target folder there")
    ledger = settings.run_ledger
    if ledger.exists() and not os.access(ledger, os.R_OK | os.W_OK):
        raise JlacError(f"the run ledger {ledger} cannot be read and written by this user: every refresh reads it "
                        "and appends its record there; give this user read and write access to it")
    lock = settings.home / ".refresh.lock"  # left by a run as another user (root, then the service's user)
    if lock.exists() and not os.access(lock, os.R_OK | os.W_OK):
        raise JlacError(f"the refresh lock {lock} cannot be opened for writing by this user (another user's run left "
                        "it): give this user write access to it, or remove it while no refresh runs")
    prefect_home = os.environ.get("PREFECT_HOME", "").strip()
    if prefect_home and not os.environ.get("PREFECT_API_URL", "").strip():
        home = Path(prefect_home).expanduser()
        name = "PREFECT_HOME (unset: .prefect beside JLAC_WAREHOUSE)" if home == settings.home / ".prefect" \
            else "PREFECT_HOME"
        check_writable(name, home, "Prefect's temporary API keeps the run's records there (or set PREFECT_API_URL "
                       "to a Prefect server)")
        db = home / "prefect.db"
        if db.exists() and not os.access(db, os.R_OK | os.W_OK):
            raise JlacError(f"PREFECT_HOME {home}: its database {db} cannot be read and written by this user; "
                            "Prefect's temporary API keeps the run's records there")
    from jlac.warehouse import check_readable, refresh_held

    check_readable(settings.warehouse)  # an intact file this user may not read was replaced as "damaged"
    if held := refresh_held(settings):
        raise held
    if fetch:
        blocking = next((p for p in (settings.snapshots, *settings.snapshots.parents) if p.exists()), None)
        if blocking is not None and blocking.is_dir() and not os.access(blocking, os.W_OK | os.X_OK):
            raise JlacError(f"JLAC_SNAPSHOTS {settings.snapshots}: {blocking} cannot be written; `--fetch` stores "
                            "the new releases there")


def check_snapshots(settings: Settings, pins: dict[str, str] | None = None, fetch: bool = False,
                    named: list[str] | None = None) -> None:
    """Raise SnapshotError naming every required source without a snapshot, and every source ``named`` (``--source``)
    without one, but those this run's fetch may bring (``fetch``). The command line calls it before Prefect's start:
    with JLAC_MIRROR unset or mistyped, a refresh said so after the temporary API had started (25-40 s on a busy
    machine), in six log lines; `--source imf-imts` without a snapshot of it said "nothing changed" and exit 0. The
    flow itself finds a missing required source when it looks for the snapshots, after taking its lock."""
    from jlac.connectors import connectors
    from jlac.plan import how_to_get, missing_required
    from jlac.snapshots import latest_snapshot
    from jlac.sources import all_sources

    fetched = set(connectors()) if fetch else set()
    if missing := [n for n, src in sorted(all_sources().items()) if src.required and n not in (pins or {})
                   and n not in fetched and latest_snapshot(n, settings) is None]:
        raise missing_required(settings, missing)
    if absent := sorted({n for n in named or [] if n in all_sources() and n not in (pins or {}) and n not in fetched
                         and latest_snapshot(n, settings) is None}):
        how = how_to_get(absent).replace("`jlac fetch", "`jlac refresh --fetch --source")
        raise SnapshotError(f"--source {', '.join(absent)}: no snapshot to build from (the store and mirrors hold "
                            f"none); {how}")


def folder_label(var: str) -> str:
    """How an error names a folder setting: the variable, and that it is the default when it is unset."""
    return var if os.environ.get(var) else f"{var} (unset: beside JLAC_WAREHOUSE)"


def check_writable(name: str, folder: Path, why_needed: str) -> None:
    """Raise JlacError naming ``name`` and ``folder`` when the folder cannot be made or written: a file where it or
    a parent should be, a read-only mount (root too: access() answers EROFS) or a folder of another user. Found
    after a refresh's publish it was the outputs that failed (the hooks never ran); `jlac figures` and `report`
    warned of their lock first, then failed on the first file (found by QA passes)."""
    blocking = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if blocking is not None and not blocking.is_dir():
        raise JlacError(f"{name} {folder}: {blocking} is a file, so no folder can be made there")
    if blocking is not None and not os.access(blocking, os.W_OK | os.X_OK):
        why = "a read-only file system" if _read_only_mount(blocking) else "no write permission"
        where = f"{name} {folder}" if blocking == folder else f"{name} {folder}: {blocking}"
        fix = "" if why != "no write permission" else (
            ": give this user write access to it, or point the setting at a folder of this user's")
        raise JlacError(f"{where} cannot be written ({why}); {why_needed}{fix}")


def _read_only_mount(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False

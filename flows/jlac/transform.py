"""The SQL models: the dbt project in ``flows/jlac/sql`` (dbt-core 1.10 + dbt-duckdb), run against a build file.

``build`` runs ``dbt build`` (models and their data tests) in-process through dbt's own ``dbtRunner``, each node's
result going to the ``jlac`` logger (in a flow run: the run's log). With ``JLAC_DBT_TASKS=1`` inside a flow run,
prefect-dbt's ``PrefectDbtRunner`` makes each model and test a task of the run instead; off by default, as its
~120 task runs cost about 23 s per whole build against Prefect's temporary API (17 s -> 41 s, measured).
A failed model or test raises :class:`jlac.errors.ModelError` naming it, with the failing rows' count and a
sample; nothing is published.

dbt's profile, target folder (manifest, partial-parse file, docs), logs and the build-file link live under
``settings.home / ".dbt"``, never in the package. dbt never reaches the network (no usage statistics, no version
check; the project has no packages to fetch).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import logging
import os
import pickle
import re
import shutil
import threading
import time
from pathlib import Path

import duckdb

from jlac import output_cache, owned, stops
from jlac.config import Settings, dbt_home_setting
from jlac.errors import ModelError, is_interrupt

log = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parent / "sql"
# What dbt reads to build; a change to any of these is a change of the warehouse's models.
PROJECT_FILES = ("dbt_project.yml", "models", "macros", "tests")
THREADS = 2  # independent models in parallel: the machines jlac runs on have few cores, DuckDB uses them all
SAMPLE_ROWS = 5

# dbt must not phone home or look for a newer release, whatever the user's environment says.
_OFFLINE = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_VERSION_CHECK": "false", "DO_NOT_TRACK": "1"}


def dbt_home(settings: Settings) -> Path:
    """Where dbt keeps its profile, target folder (manifest, partial-parse file, docs) and logs:
    ``<warehouse home>/.dbt``, or ``JLAC_DBT_HOME`` (the tests share one, so dbt parses the project once)."""
    return dbt_home_setting() or settings.home / ".dbt"


def _sql_quoted(path: Path) -> str:
    """The path as dbt-duckdb must be given it: it writes it between single quotes into ATTACH without escaping, so
    a folder named with an apostrophe ("it's") broke every build there."""
    return str(path).replace("'", "''")


def _jinja_literal(text: str) -> str:
    """``text`` as dbt's rendering of profiles.yml leaves it: dbt renders every value as Jinja, and a warehouse home
    whose path held '{{x}}' lost it ("Cannot open file .../ #1/.dbt/build.duckdb", found by a QA pass). A Jinja
    string expression, not a raw block: a folder named '{% endraw %}' ended the block and stopped every build with
    "Encountered unknown tag 'endraw'" (found by a QA pass)."""
    return "{{ " + json.dumps(text, ensure_ascii=False) + " }}" if any(m in text for m in ("{{", "{%", "{#")) else text


def _profile(home: Path) -> Path:
    """Write the profile: dbt-duckdb on ``home/build.duckdb``, a link to the build file of the run.

    The path dbt sees never changes (it is part of dbt's partial-parse state and names the database of every
    relation in the manifest), so partial parsing survives from one refresh to the next.
    """
    home.mkdir(parents=True, exist_ok=True)
    # ensure_ascii=False: YAML read a JSON "\ud83d\ude00" (an emoji in a folder name) as two lone surrogates, a
    # path no file has
    attached = json.dumps(_jinja_literal(_sql_quoted(home / "build.duckdb")), ensure_ascii=False)
    text = (
        "# Written by jlac.transform: dbt-duckdb against build.duckdb, a link to the build file of the run.\n"
        "jlac:\n  target: build\n  outputs:\n    build:\n      type: duckdb\n"
        # An in-memory database with the build file attached as catalog "build": the name (and the path) dbt sees
        # stay the same whichever run's file the link points at.
        f"      path: ':memory:'\n      database: build\n      schema: main\n      threads: {THREADS}\n"
        # the tests on the views over a partitioned source (MOF HS-9: one Parquet file per year and flow) each read
        # every file's footer to skip what their filter leaves out; partitions are content-addressed and written by
        # rename, so a footer read once stays right for the run (38 years: the append's 9 tests 0.47 -> 0.40 s)
        "      settings:\n        parquet_metadata_cache: true\n"
        # current_date in UTC, as jlac.plan.today (Figure 2's years): the local date disagreed with it west of UTC
        "        TimeZone: UTC\n"
        # no fsync at each model's commit: the build file is private until published, and the publish checkpoints
        # it, fsyncs it and its folder (jlac.warehouse.publish); a build a crash interrupted is thrown away. On a
        # disk (ext4), the small-mirror build's wall 1.64-1.99 s -> 1.49-1.77 s; nothing on tmpfs.
        "        fsync_mode: none\n"
        f"      attach:\n        - path: {attached}\n"
        "          alias: build\n"
    )
    path = home / "profiles.yml"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return home


_HOME_LOCKS: dict[Path, list] = {}  # dbt home -> [open lock file, depth] while this process holds it
HOME_LOCK = ".jlac-dbt.lock"


@contextlib.contextmanager
def _home_lock(home: Path):
    """Hold the dbt home for this process's dbt commands, across processes (flock on ``home/.jlac-dbt.lock``). The
    home's ``build.duckdb`` link names one run's build file: two warehouse homes sharing ``JLAC_DBT_HOME`` repointed
    it under each other, and one's dbt built in the other's file ("Could not set lock on file .../a/.build/...":
    found by a QA pass). Another process's command is waited for, and said so. Re-entrant in a process."""
    import fcntl

    with _INVOKE_LOCK:
        held = _HOME_LOCKS.get(home)
        if held is None:
            home.mkdir(parents=True, exist_ok=True)
            fh = open(home / HOME_LOCK, "a+")  # noqa: SIM115 - held across the yield, closed below
            try:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    log.info("waiting for another process's dbt command in %s (JLAC_DBT_HOME shared by two "
                             "warehouse homes)", home)
                    fcntl.flock(fh, fcntl.LOCK_EX)
            except BaseException:
                fh.close()
                raise
            held = _HOME_LOCKS[home] = [fh, 0]
        held[1] += 1
        try:
            yield
        finally:
            held[1] -= 1
            if held[1] == 0:
                del _HOME_LOCKS[home]
                held[0].close()  # releases the flock


def _link(home: Path, build_path: Path) -> Path:
    """Point ``home/build.duckdb`` at the build file (and drop a write-ahead log a killed run left at the link)."""
    link = home / "build.duckdb"
    for stale in (link, home / "build.duckdb.wal"):
        if stale.is_symlink() or stale.exists():
            stale.unlink()
    link.symlink_to(Path(build_path).resolve())
    return link


def _args(command: list[str], home: Path, console: list[str] | None = None) -> list[str]:
    # dbt.log at dbt's default (debug: every query and event) cost a quarter of a build's CPU (7.1 s -> 5.4 s for
    # 51 models and 68 tests, measured); at info it keeps each node's result. DBT_LOG_LEVEL_FILE=debug brings the
    # rest back when troubleshooting.
    log_file = [] if os.environ.get("DBT_LOG_LEVEL_FILE") else ["--log-level-file", "info"]
    # nothing on stdout: --quiet still printed a failed test's lines, and after a stop dbt's traceback and every node's
    # error (~90 lines under the CLI's one; found by a QA pass). Each result reaches jlac's log through _forward.
    return [*command, "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(home),
            "--target-path", str(home / "target"), "--log-path", str(home / "logs"),
            *(console or ["--log-level", "none"]), *log_file,
            "--no-use-colors", "--partial-parse", "--no-send-anonymous-usage-stats", "--no-version-check"]


def _forward(event) -> None:
    """dbt's per-node result lines (and its errors) to the jlac logger, so each model shows in the run's log."""
    name = event.info.name
    if name in ("MainStackTrace", "MainEncounteredError"):
        return  # the exception itself comes back to build(), which reports it (a Python traceback says nothing more)
    level = {"error": logging.ERROR, "warn": logging.WARNING}.get(event.info.level, logging.INFO)
    if level > logging.INFO and stops.stopping():
        return  # models failing because a stop (SIGTERM, Ctrl-C) interrupted them: the stop is the one line said
    if name in ("LogModelResult", "LogTestResult") or level > logging.INFO:
        msg = event.info.msg.strip()
        if msg:
            log.log(level, "dbt: %s", msg)


def _in_flow_run() -> bool:
    """Inside a Prefect flow run (Prefect already loaded) and JLAC_DBT_TASKS=1: dbt's nodes become the run's tasks."""
    import sys

    from jlac.config import dbt_tasks

    if "prefect" not in sys.modules or not dbt_tasks():
        return False
    from prefect.context import FlowRunContext

    return FlowRunContext.get() is not None


def _prefect_runner(home: Path, manifest):
    """prefect-dbt's runner: each model and test shows as a task of the flow run, its log lines in the run's log.
    Failures are not raised by it: build() names them (model, test, failing rows) the same way in and out of a flow.

    The runner maps dbt's events to nodes through a manifest; left to itself it reads ``target/manifest.json``,
    which a fresh dbt home does not have (jlac's builds write no JSON artifacts) and an older one may hold for an
    earlier version of the project: no node became a task then, silently. It is given the manifest of the
    project as it is now (``_manifest``)."""
    from prefect_dbt import PrefectDbtRunner, PrefectDbtSettings

    settings = PrefectDbtSettings(profiles_dir=home, project_dir=PROJECT_DIR, target_path=home / "target")
    return PrefectDbtRunner(settings=settings, manifest=manifest, raise_on_failure=False, disable_assets=True)


@contextlib.contextmanager
def _offline():
    """dbt's environment switches that keep it off the network, for the time of one command."""
    saved = {k: os.environ.get(k) for k in _OFFLINE}
    os.environ.update(_OFFLINE)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# The project as dbt parsed it, for every later command of this process: dbt reads, renders and validates the
# project's files again at each command otherwise (its saved partial parse: 0.3-0.8 s a command, two or three
# commands a refresh). Keyed by everything a parse reads; one entry (the project as it is now).
_PARSED: dict[tuple, object] = {}
_PARSE_LOCK = threading.Lock()
# dbt keeps global state per command (flags, events, adapters): one command at a time in a process.
_INVOKE_LOCK = threading.RLock()
_STARTED = threading.Event()  # a dbt command ran in this process (prepare's start is then done)
# dbt's parse as it was right after parsing, for the next processes (a refresh is a process): loading it is 0.01 s
# where dbt's own start from its partial-parse file is a command of its own (0.6-1.0 s of CPU, a fresh process).
SAVED_PARSE = "jlac-parsed-manifest.pickle"


def _parse_key(home: Path) -> tuple:
    """Everything dbt's parse of the project reads: the project's files, the profile, and the versions of dbt,
    dbt-duckdb (its macros are part of the manifest) and Python (the saved parse is a pickle)."""
    import sys
    from importlib.metadata import version

    return (str(PROJECT_DIR), project_fingerprint(), str(home), (home / "profiles.yml").read_text(encoding="utf-8"),
            version("dbt-core"), version("dbt-duckdb"), sys.version)


def _manifest_from_fields(fields: dict):
    from dbt.contracts.graph.manifest import Manifest

    return Manifest(**fields)


class _ManifestPickler(pickle.Pickler):
    """Pickles dbt's Manifest by its fields' names. Its own ``__reduce_ex__`` lists them by position and misses one
    (``fixtures``, dbt-core 1.10): every later field came back one place off, the lookups in the wrong slots, and
    every ``ref()`` failed to compile. The private fields (lookups, lock, caches) are left out: dbt builds them again
    when first used."""

    def reducer_override(self, obj):
        if dataclasses.is_dataclass(obj) and type(obj).__name__ == "Manifest" and \
                type(obj).__module__ == "dbt.contracts.graph.manifest":
            return _manifest_from_fields, ({f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)
                                            if f.init and not f.name.startswith("_")},)
        return NotImplemented


def _saved_parse(home: Path, key: tuple):
    """The manifest an earlier process saved for exactly this key, or None (none, another key, unreadable)."""
    try:
        with open(home / "target" / SAVED_PARSE, "rb") as f:
            saved_key, manifest = pickle.load(f)
    except Exception:  # noqa: BLE001  absent, torn or from an older dbt: dbt parses the project instead
        return None
    return manifest if saved_key == key else None


def _save_parse(home: Path, key: tuple, manifest) -> None:
    """Keep the fresh parse for the next process (written whole, then renamed: a reader never sees half of it)."""
    path = home / "target" / SAVED_PARSE
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        _ManifestPickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump((key, manifest))
        tmp.write_bytes(buf.getvalue())
        os.replace(tmp, path)
    except (OSError, pickle.PicklingError, TypeError, AttributeError) as exc:  # a cache: the next process parses
        tmp.unlink(missing_ok=True)
        log.debug("dbt's parse not saved for the next process: %s", exc)


def _manifest(home: Path):
    """dbt's manifest of the project as it is now: parsed once per dbt home and project (partially, from the state
    dbt saved in ``home``) and saved there for later processes, then reused by each command
    (``dbtRunner(manifest=...)``, dbt's documented way). Raises ModelError when the project does not parse."""
    from dbt.cli.main import dbtRunner

    key = _parse_key(home)
    with _PARSE_LOCK:
        if key in _PARSED:
            return _PARSED[key]
    # dbt's parse writes its partial-parse state in the home, and the marker of the project parsed: held as a
    # command is, so that homes sharing JLAC_DBT_HOME do not write them under each other (the home lock first,
    # always: a command holds it when it asks for the manifest)
    with _home_lock(home), _PARSE_LOCK:
        if key not in _PARSED:
            manifest = _saved_parse(home, key)
            if manifest is None:
                _forget_parse_of_another_project(home)
                with _offline():
                    # a model's yml whose name matches no model (a typo) is an error, not a warning in the log: its
                    # description and tests were dropped without a word (found by a QA pass)
                    res = dbtRunner(callbacks=[_forward]).invoke(_args(
                        ["parse", "--no-write-json", "--warn-error-options", '{"error": ["NoNodeForYamlKey"]}'], home))
                if not res.success:
                    raise ModelError(f"dbt could not parse the SQL models ({PROJECT_DIR}): {res.exception}")
                manifest = res.result
                _save_parse(home, key, manifest)  # before any command fills in its compiled SQL
            _PARSED.clear()
            _PARSED[key] = manifest
        return _PARSED[key]


def prepare(settings: Settings) -> threading.Thread:
    """Get dbt ready in a background thread while the refresh parses, loads and validates data (work DuckDB does,
    mostly outside Python's lock), so that the first dbt command of a process starts at once: the project's parse
    (``_manifest``), then a ``dbt build`` that selects nothing. It reads nothing again and opens no database, but
    does what a build does first once per process: dbt validates its project and profile against JSON schemas it
    builds from its classes and registers the adapter (0.4 s in a fresh process), imports its build task and
    generates the serializers of its nodes while it links the graph (another 0.3-0.5 s, which a warm-up by
    ``dbt parse`` left to the real build). A long parse (the whole mirror) hides it; an HS-9 month's short one does
    not, the two then share the cores. A failure is left for that command to raise."""
    from dbt.cli.main import dbtRunner

    home = _profile(dbt_home(settings))
    nothing = ["build", "--no-write-json", "--select", "fqn:jlac_selects_nothing",
               "--warn-error-options", '{"silence": ["NoNodesForSelectionCriteria", "NothingToDo"]}']

    def warm() -> None:
        with contextlib.suppress(Exception):
            manifest = _manifest(home)
            with _home_lock(home), _offline():
                if not _STARTED.is_set():  # else a command of this process ran: what it does once is done
                    dbtRunner(manifest=manifest).invoke(_args(nothing, home))
                    _STARTED.set()

    thread = threading.Thread(target=warm, name="jlac-dbt-prepare", daemon=True)
    thread.start()
    return thread


def _forget_parse_of_another_project(home: Path) -> None:
    """Drop dbt's partial-parse state when the project (its folder or any file's content) differs from the one it
    was parsed from. dbt's partial parsing was seen to keep a yml's old content when one dbt folder served two
    copies of the project; a full parse (about 3 s) is the price of certainty, paid only when the project changed."""
    marker = home / "parsed-project"
    current = f"{PROJECT_DIR}\n{project_fingerprint()}"
    if not marker.exists() or marker.read_text(encoding="utf-8") != current:
        (home / "target" / "partial_parse.msgpack").unlink(missing_ok=True)
        marker.write_text(current, encoding="utf-8")


def _close_dbt_duckdb(manager, stopped: bool = False) -> None:
    """Close the DuckDB database dbt-duckdb opened, whatever happened in the run: the build file must be free for
    the next stage (DuckDB allows one writer) and no WAL left beside the link.

    dbt-duckdb keeps one environment per process holding the connection; it closes it when its last handle is
    released, and ``close_all_connections`` only drops the reference. It is closed here directly (closing a DuckDB
    connection closes its cursors too), not by a ``gc.collect()`` that would reach it through the garbage: a full
    collection over the process's heap cost 0.3-0.9 s per dbt command (most in a fresh process)."""
    env = getattr(manager, "_ENV", None)
    manager.close_all_connections()
    if not stopped:
        if env is not None:
            env.close()
        return
    # After a stop, dbt's threads may still run a query on it: closing it fails with DuckDB's "connection is busy",
    # which must not take the stop's place (the run ends with the stop; a refresh's process with it)
    if env is not None and env.conn is not None:
        with contextlib.suppress(duckdb.Error):
            env.conn.interrupt()
        with contextlib.suppress(duckdb.Error):
            env.close()


@contextlib.contextmanager
def _quiet_logging_errors():
    """While dbt runs, a log line that cannot be written is dropped without Python's "--- Logging error ---" traceback
    on stderr: dbt's log file on a full disk printed 13,000 lines of them before the one line that says the disk is
    full (found by a QA pass). The build's own error names the full disk."""
    saved = logging.raiseExceptions
    logging.raiseExceptions = False
    try:
        yield
    finally:
        logging.raiseExceptions = saved


def _invoke(command: list[str], settings: Settings, build_path: Path):
    """Run one dbt command in-process against ``build_path``; return dbt's result object. A Ctrl-C or SIGTERM while
    it runs raises as itself (KeyboardInterrupt, TerminationSignal), whatever dbt made of it."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.cli.main import dbtRunner

    home = _profile(dbt_home(settings))
    manifest = _manifest(home)
    # dbt swallows a stop or turns it into model errors: noted, it ends the run as the stop it is (jlac.stops)
    with _home_lock(home), stops.noting() as noted, _quiet_logging_errors():
        link = _link(home, build_path)
        try:
            with _INVOKE_LOCK, _offline():
                if _in_flow_run():
                    # prefect-dbt maps dbt's log level to its own levels, which have no "none"
                    res = _prefect_runner(home, manifest).invoke(_args(command, home, console=["--quiet"]))
                else:
                    res = dbtRunner(manifest=manifest, callbacks=[_forward]).invoke(_args(command, home))
                _STARTED.set()
        except BaseException:
            if not noted:
                raise
        finally:
            _close_dbt_duckdb(DuckDBConnectionManager, stopped=bool(noted))
            link.unlink(missing_ok=True)
    stops.check(noted)  # whatever dbt returned or raised after a stop, the run was stopped
    return res


def _full_disk(said: str, build_path: Path, settings: Settings) -> str | None:
    """The first line for a build a full disk (or a file size limit) failed, naming the folder, or None. That is the
    cause to name first, not the model, whose SQL is fine (the reason was on the third line: found by a QA pass). The
    folder is the one the message names, else of the build folder and dbt's home (its log, its parse) the one with the
    least room: a full JLAC_DBT_HOME was blamed on a build folder with 77 GB free (found by a QA pass)."""
    full = next((why for why in ("No space left on device", "File too large") if why in said), None)
    if full is None:
        return None
    folders = [build_path.parent, dbt_home(settings)]
    named = sorted((f for f in folders if str(f) in said), key=lambda f: len(str(f)), reverse=True)  # the deepest
    if named:
        where = named[0]
    else:
        room = {}
        for folder in folders:
            with contextlib.suppress(OSError):
                room[folder] = shutil.disk_usage(folder).free
        where = min(room, key=room.get) if room else build_path.parent
    if full.startswith("No space"):
        return (f"the disk under {where} is full ({full}) while dbt built the models; nothing was published. Free "
                "space there and run the refresh again")
    return (f"a file size limit (ulimit -f: {full}) stopped dbt writing under {where}; nothing was published. Raise "
            "the limit and run the refresh again")


def _sample(build_path: Path, sql: str | None) -> str:
    """A few of a failed test's rows, by running its compiled query on the build file."""
    if not sql:
        return ""
    sql = sql.replace('"build".', "")  # the link's database name; the file opened here is the build itself
    try:
        with duckdb.connect(str(build_path), read_only=True) as con:
            cur = con.execute(f"SELECT * FROM ({sql}) LIMIT {SAMPLE_ROWS}")
            names = [d[0] for d in cur.description]
            return "; ".join(", ".join(f"{n}={v!r}" for n, v in zip(names, row, strict=True))
                             for row in cur.fetchall())
    except duckdb.Error as exc:
        return f"(sample not available: {exc})"


def _relation(node) -> str:
    return f"{node.schema}.{node.alias or node.name}"


def _test_label(node, relations: dict[str, str]) -> str:
    """``unique_combination(columns=[...]) on marts.fct_trade_annual`` (dbt's own test name in brackets)."""
    meta = node.test_metadata
    # a test on a source (a seed table) is attached to no node: it depends on the source alone
    target = node.attached_node or next(iter(node.depends_on.nodes), "")
    where = relations.get(target, target.rsplit(".", 1)[-1])
    if getattr(node, "column_name", None):
        where += f".{node.column_name}"
    if meta is None:  # a singular test (tests/*.sql)
        return f"{node.name} on {where}"
    args = ", ".join(f"{k}={v}" for k, v in meta.kwargs.items() if k not in ("model", "column_name"))
    return f"{meta.name}({args}) on {where} [{node.name}]"


def _failures(results, build_path: Path, settings: Settings) -> list[str]:
    problems = []
    # every model's relation, built in this run or not (an incremental build tests views it does not create again)
    manifest = _manifest(_profile(dbt_home(settings)))
    relations = {uid: _relation(node) for uid, node in manifest.nodes.items() if node.resource_type == "model"}
    relations.update({uid: f"{src.schema}.{src.identifier or src.name}" for uid, src in manifest.sources.items()})
    for r in results:
        status = str(r.status)
        node = r.node
        if status == "error":
            kind = node.resource_type
            what = f"SQL model {_relation(node)}" if kind == "model" else f"dbt {kind} {node.name}"
            # a model naming raw.<table> itself: the build file is attached under dbt's name for it, so the schema
            # "does not exist", which sent a contributor looking for a missing schema (found by a QA pass)
            hint = ("; a model reads a source's table as {{ source('<table>', '<table>') }} and another model as "
                    "{{ ref('<model>') }}, not by its schema-qualified name"
                    if re.search(r'schema "?(raw|staging|intermediate|marts|figures|seeds|meta)"? does not exist',
                                 r.message or "") else "")
            problems.append(f"{what} failed: {r.message}{hint}")
        elif status in ("fail", "warn"):
            # a test set to `severity: warn` still stops the publish: nothing a test flags is published, and a warning
            # in a log nobody reads would have let it through (found by a QA pass; the project sets no warn today)
            sample = _sample(build_path, getattr(node, "compiled_code", None))
            said = "failed" if status == "fail" else "warned (severity: warn; jlac publishes nothing a test flags)"
            problems.append(f"dbt test {_test_label(node, relations)} {said}: {r.failures} failing row(s)"
                            + (f"; e.g. {sample}" if sample else ""))
    return problems


def check_source_layout(manifest, sources: dict) -> None:
    """Raise ModelError naming every registered source whose dbt side does not follow the one-name rule: a dbt
    source named as its raw table, with that table, declared in ``models/staging/<table>/``, read directly only by
    that folder's ``stg_<table>__*`` models; and every dbt source of schema raw a registered source's table.

    An incremental build selects what is downstream of ``source:<table>``: a dbt source named otherwise selected
    nothing, and the refresh published the new raw rows under a staging table built from the old ones, its tests
    not run (found by a QA pass, as a contributor's new source)."""
    problems = []
    raw = [d for d in manifest.sources.values() if d.schema == "raw"]
    for name, src in sorted(sources.items()):
        t, folder = src.table, f"models/staging/{src.table}/"
        found = [d for d in raw if d.source_name == t and d.name == t]
        if not found:
            other = [d for d in raw if t in (d.name, d.identifier)]
            # the source declared under its name with other tables: the yml is there, its table misnamed (the
            # message sent a contributor looking for a file that existed: QA pass)
            tables = [d for d in raw if d.source_name == t]
            problems.append(
                f"source {name}: the dbt project declares no source {t!r} with a table {t!r} (schema raw); "
                + (f"{PROJECT_DIR / other[0].original_file_path} declares raw.{t} as source "
                   f"{other[0].source_name!r}: name that source {t!r}" if other else
                   f"{PROJECT_DIR / tables[0].original_file_path} declares source {t!r} with table(s) "
                   f"{', '.join(repr(d.name) for d in tables)}: name its table {t!r}" if tables else
                   f"expected in {PROJECT_DIR / folder / f'_{t}__sources.yml'}"))
            continue
        if not found[0].original_file_path.startswith(folder):
            problems.append(f"source {name}: its dbt source is declared in {PROJECT_DIR / found[0].original_file_path}"
                            f", expected in {PROJECT_DIR / folder}")
        readers = [n for n in manifest.nodes.values() if n.resource_type == "model" and any(
            dep in manifest.sources and manifest.sources[dep].schema == "raw" and manifest.sources[dep].source_name == t
            for dep in n.depends_on.nodes)]
        for n in readers:
            if not n.original_file_path.startswith(folder):
                problems.append(f"model {PROJECT_DIR / n.original_file_path} reads source {t!r} directly: only the "
                                f"source's staging models do, {PROJECT_DIR / folder / f'stg_{t}__<entity>.sql'}")
            elif not n.name.startswith(f"stg_{t}__"):  # the right folder, read as if it were the wrong one (QA pass)
                problems.append(f"model {PROJECT_DIR / n.original_file_path} reads source {t!r}: a staging model's "
                                f"name starts with 'stg_{t}__' (e.g. stg_{t}__<entity>.sql; rename its yml entry too)")
    tables = {src.table for src in sources.values()}
    problems += [f"{PROJECT_DIR / d.original_file_path}: dbt source {d.source_name!r} (schema raw) is no registered "
                 f"source's raw table (registered: {', '.join(sorted(tables))})"
                 for d in raw if d.source_name not in tables]
    if problems:
        raise ModelError("the dbt project does not match the registered sources; nothing was built:\n  "
                         + "\n  ".join(dict.fromkeys(problems)))


def build(build_path: Path, settings: Settings, *, select: list[str] | None = None,
          tests: str = "eager") -> dict[str, dict]:
    """Build the models (and run their tests) in ``build_path``: ``dbt build``, everything or ``select``.

    ``select`` takes dbt selectors (``source:fred_exjpus+``, ``+fig1_japan_lac_trade``; see ``downstream_of``).
    ``tests`` is dbt's indirect selection: ``eager`` (every test touching a selected model) suits a selection built
    into a copy of a complete warehouse; ``buildable`` leaves out tests that read a model neither selected nor read
    by the selection (a relationship to ``dim_country`` in a partial build into a fresh file).
    Returns per model ``schema.table``: status, rows (None for a view: counting would scan it) and seconds.
    Raises ModelError naming every failed model or test (with failing rows' count and a sample).
    """
    # No JSON artifacts (manifest, run results, graph pickle: 0.2-0.3 s a build): jlac reads the results in memory,
    # and the docs step that follows in the same process works from the manifest this build compiled (docs())
    # the tests on the HS-9 views read the partitions this build added (macros/new_partitions.sql); run by hand,
    # without the var, they read every row
    command = ["build", "--no-write-json", "--indirect-selection", tests,
               "--vars", '{"jlac_new_partitions_only": true}']
    if select:
        # jlac's selections join parts that may pick nothing by design (into_a_copy's "its tables", of a source whose
        # models are all views): dbt's warning for each would show in every incremental refresh's log
        command += ["--select", *select, "--warn-error-options", '{"silence": ["NoNodesForSelectionCriteria"]}']
    from jlac.sources import all_sources

    check_source_layout(_manifest(_profile(dbt_home(settings))), all_sources())
    start = time.perf_counter()
    res = _invoke(command, settings, build_path)
    if res.exception is not None:
        if is_interrupt(res.exception):  # Ctrl-C or SIGTERM while dbt ran: a stop, not a model that failed
            raise res.exception
        said = f"dbt build could not run the SQL models ({PROJECT_DIR}): {res.exception}"
        first = _full_disk(said, build_path, settings)
        raise ModelError(f"{first}:\n  {said}" if first else said)
    results = list(res.result or [])
    problems = _failures(results, build_path, settings)
    skipped = [_relation(r.node) for r in results if str(r.status) == "skipped" and r.node.resource_type == "model"]
    if problems or not res.success:
        # a build of part of the models reads the rest from the warehouse it copied: one missing there (dropped by
        # hand in the published file) is not built again by this run, only by a full one
        missing = select is not None and any("does not exist" in p for p in problems)
        first = _full_disk("\n".join(problems), build_path, settings) or "SQL models failed; nothing was published"
        raise ModelError(
            first + ":\n  " + "\n  ".join(problems or ["dbt build failed"])
            + (f"\n  skipped because of it: {', '.join(sorted(skipped))}" if skipped else "")
            + ("\n  a relation this partial build reads is missing from the published warehouse it started from: "
               "`jlac refresh --full` builds every model again" if missing else ""))
    out: dict[str, dict] = {}
    with duckdb.connect(str(build_path), read_only=True) as con:
        for r in results:
            node = r.node
            if node.resource_type != "model":
                continue
            name = _relation(node)
            view = node.config.materialized == "view"
            rows = None if view else con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
            out[name] = {"status": str(r.status), "rows": rows, "seconds": round(r.execution_time, 3)}
    tests = sum(1 for r in results if r.node.resource_type == "test")
    slowest = sorted(out.items(), key=lambda kv: -kv[1]["seconds"])[:3]
    log.info("dbt build: %d SQL models and %d tests in %.1f s%s", len(out), tests, time.perf_counter() - start,
             "; slowest: " + ", ".join(f"{n} {v['seconds']:.1f} s" for n, v in slowest) if slowest else "")
    return out


DOCS_DIR = "dbt-docs"  # the site's folder in the refresh outputs (JLAC_OUTPUT)
DOCS_FILES = ("index.html", "static_index.html", "manifest.json", "catalog.json")
DOCS_RECORD = "jlac-docs.json"  # beside the site: what it describes (docs_fingerprint and the database it names)


def check_docs_folder(folder: Path) -> None:
    """Raise JlacError unless ``folder`` (JLAC_OUTPUT/dbt-docs) is jlac's to replace (``jlac.owned``); one written
    before the mark has jlac's record of what it describes (DOCS_RECORD)."""
    owned.check_replaceable(folder, {*DOCS_FILES, DOCS_RECORD}, "dbt's docs site",
                            legacy=lambda f: (f / DOCS_RECORD).is_file())
# What jlac makes of dbt's site after generating it (_publishable); part of docs_fingerprint, so a site kept or cached
# by an older jlac (no column descriptions of the sources, database "build") is made again. 2: both added.
DOCS_SITE_VERSION = 2
_BUILD_DATABASE = "build"  # the build file's catalog name in dbt's profile (_profile): every relation dbt names


def docs_fingerprint(build_path: Path) -> str:
    """What dbt's site shows of a build: the project's files, dbt's and dbt-duckdb's versions, what jlac does to the
    site (DOCS_SITE_VERSION), and every relation's columns, types and comments (DuckDB's catalog). dbt-duckdb's
    catalog has no table statistics, so new rows alone change nothing."""
    from importlib.metadata import version

    h = hashlib.sha256(f"jlac docs site {DOCS_SITE_VERSION}\0{project_fingerprint()}\0"
                       f"dbt {version('dbt-core')} {version('dbt-duckdb')}\0".encode())
    with duckdb.connect(str(build_path), read_only=True) as con:
        rows = con.execute(
            "SELECT schema_name, table_name, column_index, column_name, data_type, comment FROM duckdb_columns() "
            "WHERE database_name = current_database() AND NOT internal "
            "UNION ALL SELECT schema_name, table_name, -1, 'table', 'table', comment FROM duckdb_tables() "
            "WHERE database_name = current_database() AND NOT internal "
            "UNION ALL SELECT schema_name, view_name, -1, 'view', 'view', comment FROM duckdb_views() "
            "WHERE database_name = current_database() AND NOT internal ORDER BY ALL").fetchall()
    h.update(repr(rows).encode())
    return h.hexdigest()


def _recorded(site: Path) -> dict | None:
    """What a site's DOCS_RECORD says it describes; None when there is none or it cannot be read (a new site then)."""
    try:
        record = json.loads((site / DOCS_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def published_database(warehouse: Path) -> str:
    """The name DuckDB gives the published warehouse's database when it is opened, which queries on it use
    (``jlac`` for ``jlac.duckdb``): the file's name up to its first dot, as DuckDB takes it (``a.b.duckdb`` is
    ``a``; ``main``, ``temp`` and ``system``, its reserved names, get ``_db``)."""
    name = next((part for part in Path(warehouse).name.split(".") if part), "memory")
    return f"{name}_db" if name.lower() in ("main", "temp", "system") else name


def _sql_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _describe_columns(manifest: dict, catalog: dict) -> int:
    """Give every column of the manifest's nodes and sources the description its COMMENT in the catalog holds when
    the manifest has none (a relation without a description, its table's COMMENT); return how many were filled.

    dbt's site shows a column's description from the manifest, which has only what a yml lists: the sources' columns
    (raw, seeds, meta, quarantine, the country-name map) are documented by jlac's load stage as COMMENTs, from each
    source's ``Source.columns`` and seeds.yml, and are written nowhere else (one place for that metadata)."""
    filled = 0
    for kind in ("nodes", "sources"):
        for uid, entry in catalog.get(kind, {}).items():
            node = manifest.get(kind, {}).get(uid)
            if node is None:
                continue
            comment = (entry.get("metadata") or {}).get("comment")
            if comment and not node.get("description"):
                node["description"] = comment
            columns = node.setdefault("columns", {})
            by_lower = {name.lower(): name for name in columns}  # dbt's site matches column names so (any case)
            for name, column in sorted(entry.get("columns", {}).items(), key=lambda kv: kv[1].get("index", 0)):
                if not column.get("comment"):
                    continue
                known = columns.get(by_lower.get(name.lower(), name))
                if known is None:
                    columns[name] = _column_info(name, column["comment"])
                elif not known.get("description"):
                    known["description"] = column["comment"]
                else:
                    continue
                filled += 1
    return filled


def _column_info(name: str, description: str) -> dict:
    from dbt.artifacts.resources import ColumnInfo

    # dbt's own shape for a documented column, so the manifest stays valid for its schema version
    return ColumnInfo(name=name, description=description).to_dict(omit_none=False)


def _name_database(manifest: dict, catalog: dict, database: str) -> None:
    """Name the published warehouse's database, not the build's (``build``: dbt ran against the build file), in
    every node's and source's ``database``, ``relation_name`` and compiled SQL, and in the catalog: the site's
    RELATION, Sample SQL and compiled code then run as shown on the published file."""
    build, quoted = _sql_identifier(_BUILD_DATABASE) + ".", _sql_identifier(database) + "."
    for kind in ("nodes", "sources"):
        for node in manifest.get(kind, {}).values():
            if node.get("database") == _BUILD_DATABASE:
                node["database"] = database
            for key in ("relation_name", "compiled_code"):
                if isinstance(node.get(key), str):
                    node[key] = node[key].replace(build, quoted)
        for entry in catalog.get(kind, {}).values():
            metadata = entry.get("metadata") or {}
            if metadata.get("database") == _BUILD_DATABASE:
                metadata["database"] = database


_INLINE = re.compile(r'"(MANIFEST|CATALOG)\.JSON INLINE DATA"')


def _publishable(docs_dir: Path, database: str) -> None:
    """Make the site dbt generated in docs_dir describe the published warehouse: column descriptions from the
    catalog's COMMENTs (_describe_columns), its database name (_name_database); ``manifest.json`` and
    ``catalog.json`` rewritten, and ``static_index.html`` made again from ``index.html`` as dbt makes it (the two
    files inlined into the page), so the three agree."""
    manifest = json.loads((docs_dir / "manifest.json").read_text(encoding="utf-8"))
    catalog = json.loads((docs_dir / "catalog.json").read_text(encoding="utf-8"))
    filled = _describe_columns(manifest, catalog)
    _name_database(manifest, catalog, database)
    texts = {"MANIFEST": json.dumps(manifest), "CATALOG": json.dumps(catalog)}
    template = (docs_dir / "index.html").read_text(encoding="utf-8")
    if sorted(m.group(1) for m in _INLINE.finditer(template)) != ["CATALOG", "MANIFEST"]:
        raise ModelError("dbt docs: index.html has not the one place for each of the manifest and the catalog that "
                         "static_index.html is made with; this dbt's site is not one jlac knows")
    # one pass, so a description holding the other placeholder's text is left alone; "</" escaped (still the same
    # JSON) so that a comment holding "</script>" cannot end the page's script
    page = _INLINE.sub(lambda m: texts[m.group(1)].replace("</", "<\\/"), template)
    (docs_dir / "manifest.json").write_text(texts["MANIFEST"], encoding="utf-8")
    (docs_dir / "catalog.json").write_text(texts["CATALOG"], encoding="utf-8")
    (docs_dir / "static_index.html").write_text(page, encoding="utf-8")
    log.debug("dbt docs: %d column descriptions from the catalog's comments; database named %r", filled, database)


def _write_compiled_manifest(home: Path) -> bool:
    """Write the manifest this process's build compiled (``_manifest``: dbt compiles its nodes in place) to
    ``target/manifest.json``, where ``dbt docs generate --no-compile`` reads it, as dbt's own compile step writes it.
    False, and nothing written, when a model in it has no compiled SQL (no build of every model in this process)."""
    from dbt.parser.manifest import write_manifest

    manifest = _manifest(_profile(home))
    if not all(getattr(n, "compiled_code", None) for n in manifest.nodes.values() if n.resource_type == "model"):
        return False
    (home / "target").mkdir(parents=True, exist_ok=True)
    write_manifest(manifest, str(home / "target"))
    return True


def docs(build_path: Path, settings: Settings, docs_dir: Path, compile: bool = True,
         previous: Path | None = None, cache: Path | None = None) -> Path | None:
    """``dbt docs generate --static`` on the built file: the site (``index.html`` with the catalog and lineage;
    ``static_index.html`` opens offline as a single file) into docs_dir, made to describe the published warehouse
    (``_publishable``: every column's description, the published file's database name).

    ``compile=False`` after a build of every model in this process: that build compiled each one already in the
    manifest dbt keeps in memory (``_manifest``), which is written for dbt's docs step only here, when a site is
    made (``_write_compiled_manifest``; compiled again if a model lacks its SQL); compiling all again is most of
    the command's time (1.2 s -> 0.35 s).

    ``previous``: the published site. When it describes the same project and the same relations, columns, types and
    comments (``docs_fingerprint``: an incremental refresh with new data only), it is left as it is and nothing is
    written (None returned): a new site would say the same (1.6 s of a one-source refresh).
    ``cache``: a folder of sites by fingerprint (``jlac.output_cache``); a site made before for the same fingerprint
    (another home sharing the cache, a rebuild of the same project) is copied from there instead of generated."""
    # the site names the published file's database (_publishable): a site made for another name is not this one
    record = {"fingerprint": docs_fingerprint(build_path), "database": published_database(settings.warehouse)}
    if previous is not None and all((previous / name).is_file() for name in DOCS_FILES) and \
            _recorded(previous) == record:
        log.info("dbt docs: the published site describes this build (same project, relations, columns and comments); "
                 "kept")
        return None
    docs_dir.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()
    if cache is not None and output_cache.restore(cache, "site", key, docs_dir) is not None:
        log.info("dbt docs: a site generated before for the same project, relations, columns and comments, copied "
                 "from %s", cache)
    else:
        # the compiled manifest written for dbt's docs step, the step, and the copy of what it wrote, as one hold of
        # the dbt home: another home sharing it wrote its own target/ files between them (read from the code)
        with _home_lock(_profile(dbt_home(settings))):
            if not compile:
                compile = not _write_compiled_manifest(dbt_home(settings))
            res = _invoke(["docs", "generate", "--static", *([] if compile else ["--no-compile"])], settings,
                          build_path)
            if not res.success:
                raise ModelError(f"dbt docs generate failed: {res.exception or res.result}")
            target = dbt_home(settings) / "target"
            for name in DOCS_FILES:
                shutil.copy2(target / name, docs_dir / name)
        _publishable(docs_dir, record["database"])
        if cache is not None:
            output_cache.keep(cache, "site", key, docs_dir, [docs_dir / name for name in DOCS_FILES])
    (docs_dir / DOCS_RECORD).write_text(json.dumps(record), encoding="utf-8")
    owned.mark(docs_dir)
    return docs_dir / "index.html"


def downstream_of(tables: list[str]) -> list[str]:
    """dbt selectors for every model downstream of the given raw tables (``fred_exjpus`` or ``raw.fred_exjpus``).

    ``country_name_map`` and ``seeds.<table>`` select what reads those; a source's new country names change
    ``staging.country_name_map``, so a caller whose map changed passes it too.
    """
    selectors = []
    for table in tables:
        schema, _, name = table.rpartition(".")
        if name == "country_name_map":
            selectors.append("source:staging.country_name_map+")
        elif schema == "seeds":
            selectors.append(f"source:seeds.{name}+")
        elif schema in ("", "raw"):
            selectors.append(f"source:{name}+")
        else:
            raise ValueError(f"downstream_of takes raw, seed or country-map tables, not {table!r}")
    return selectors


def into_a_copy(select: list[str], settings: Settings) -> list[str]:
    """What a build into a copy of the published warehouse runs of ``select``: its tests and its models that hold
    data, not its views.

    An incremental build starts from the published file, built by the same SQL (the plan is incremental only when
    the project is unchanged), so every view in it already has the definition dbt would give it and reads the new
    data through the tables under it: creating it again is dbt's per-node work (a third of an HS-9 month's append,
    whose models are all views) for nothing. Its tests still run, on the new data.
    """
    kinds = sorted({node.config.materialized for node in _manifest(_profile(dbt_home(settings))).nodes.values()
                    if node.resource_type == "model"} - {"view", "ephemeral"})  # ephemeral: compiled into others
    return [f"{s},{part}" for s in select for part in ["resource_type:test", *(f"config.materialized:{k}"
                                                                                for k in kinds)]]


def upstream_of(models: list[str]) -> list[str]:
    """dbt selectors for models and everything they read (``marts.fct_trade_annual`` or ``fct_trade_annual``)."""
    return [f"+{m.rpartition('.')[2]}" for m in models]


def project_fingerprint() -> str:
    """sha256 over every file of the dbt project that affects a build (models, yml, macros, tests, project)."""
    h = hashlib.sha256()
    for entry in PROJECT_FILES:
        root = PROJECT_DIR / entry
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in paths:
            h.update(str(path.relative_to(PROJECT_DIR)).encode() + b"\0")
            h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def list_models(settings: Settings, select: list[str]) -> list[str]:
    """The models (``schema.table``) that dbt selectors pick, without building anything (``dbt ls``)."""
    with contextlib.redirect_stdout(io.StringIO()):  # dbt ls prints its list, --quiet or not
        res = _invoke(["ls", "--resource-type", "model", "--output", "json", "--output-keys", "name schema",
                       "--select", *select], settings, settings.warehouse)
    if not res.success:
        raise ModelError(f"dbt ls {select} failed: {res.exception}")
    return sorted(f"{node['schema']}.{node['name']}" for node in map(json.loads, res.result))


def lineage(settings: Settings) -> dict[str, dict]:
    """Per model ``schema.table``: the raw tables and seeds it reads (transitively), its SQL file and code.

    Read from the dbt manifest of the published warehouse's docs site (``<output>/dbt-docs``: written from the build
    that was published, kept while it describes it), else dbt's last one in its home, else the project's as parsed
    now (``_manifest``).
    The SQL is the manifest's own: after an upgrade of jlac, and before the next refresh, it is still the code that
    built the published warehouse, and a model file the upgrade renamed is not looked for.
    """
    published = settings.output / DOCS_DIR / "manifest.json"
    manifest_path = published if published.is_file() else dbt_home(settings) / "target" / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        nodes = {k: v for k, v in manifest["nodes"].items() if v["resource_type"] == "model"}
        sources = manifest["sources"]
    else:
        # read from the parse in memory, not written out first: dbt's writer reads the global flags of a dbt command,
        # which a process that loaded the saved parse never ran (`jlac report` failed so; found by the suite)
        parsed = _manifest(_profile(dbt_home(settings)))
        nodes = {k: {"schema": n.schema, "alias": n.alias, "original_file_path": n.original_file_path,
                     "raw_code": n.raw_code, "depends_on": {"nodes": list(n.depends_on.nodes)}}
                 for k, n in parsed.nodes.items() if n.resource_type == "model"}
        sources = {k: {"schema": s.schema, "name": s.name} for k, s in parsed.sources.items()}
    out = {}
    for key, node in nodes.items():
        reads, todo, seen = set(), [key], set()
        while todo:
            k = todo.pop()
            if k in seen:
                continue
            seen.add(k)
            if k in sources:
                reads.add(f"{sources[k]['schema']}.{sources[k]['name']}")
            elif k in nodes:
                todo += nodes[k]["depends_on"]["nodes"]
        out[f"{node['schema']}.{node['alias']}"] = {
            "reads": sorted(reads), "path": f"flows/jlac/sql/{node['original_file_path']}",
            "sql": node["raw_code"]}
    return out

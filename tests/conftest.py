"""Shared fixtures. The mirror and recordings are read in place from ../shared (beside the repo)."""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import duckdb
import pytest
import yaml

# jlac's records logged from threads outside the flow run's context stay local (as the CLI sets), and the
# refresh flows tests run use a temporary API whose database is the session's own, not ~/.prefect.
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
if "PREFECT_HOME" not in os.environ:
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="jlac-test-prefect-")
    atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], ignore_errors=True)  # each test process makes one
# One parse cache for every warehouse home of the session (JLAC_CACHE; the xdist workers inherit it from the main
# process): a snapshot the last test parsed is not parsed again by the next test's fresh home, as a deployment's
# warehouses sharing a cache would not (~3 s of a 13 s small-mirror refresh). Entries are keyed by the files' content
# and every input of the parse; tests that count parses or damage cache files give their home its own cache. Its name
# holds a quote and a non-ASCII letter: every parse of the suite writes into it through SQL text (COPY ... TO '...'),
# where an unescaped quote in a folder name stopped every refresh (found by a QA pass).
if "JLAC_CACHE" not in os.environ:
    os.environ["JLAC_CACHE"] = tempfile.mkdtemp(prefix="jlac-test-cache-it's ü-")
    atexit.register(shutil.rmtree, os.environ["JLAC_CACHE"], ignore_errors=True)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
# An xdist worker starts with COLUMNS=80 in its environment; jlac.cli's rich Console would take that width for good
# at import, and the CLI tests that give COLUMNS for one invocation (wide tables) would still get 80 columns.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.pop("COLUMNS", None)

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("JLAC_TEST_SHARED", REPO.parent / "shared")).resolve()
MIRROR = SHARED / "snapshots"
IMF_DOTS = MIRROR / "imf-dots" / "2022-02-02"
JAPAN_WORKBOOK = IMF_DOTS / "DOTS_101.xlsx"  # reporter Japan
GOOD = {"DOTS_101.xlsx": JAPAN_WORKBOOK, "DOTS_88.xlsx": IMF_DOTS / "DOTS_88.xlsx"}  # Japan and Haiti


@pytest.fixture(scope="session")
def shared() -> Path:
    assert SHARED.is_dir(), f"tests need the shared data folder at {SHARED} (set JLAC_TEST_SHARED)"
    return SHARED


@pytest.fixture(scope="session")
def mirror(shared) -> Path:
    return shared / "snapshots"


@pytest.fixture
def jlac_env(tmp_path, monkeypatch, mirror):
    """A fresh warehouse home in tmp, reading the real mirror."""
    monkeypatch.setenv("JLAC_WAREHOUSE", str(tmp_path / "wh" / "jlac.duckdb"))
    monkeypatch.setenv("JLAC_MIRROR", str(mirror))
    monkeypatch.delenv("JLAC_SNAPSHOTS", raising=False)
    monkeypatch.delenv("JLAC_OUTPUT", raising=False)
    from jlac.config import get_settings

    return get_settings()


def write_manifest(vintage_dir: Path, source: str, extra: dict | None = None) -> None:
    """Write a SNAPSHOT.yml listing every file in the folder with its real sha256."""
    files = []
    for p in sorted(vintage_dir.rglob("*")):
        if p.is_file() and p.name != "SNAPSHOT.yml":
            files.append({"path": p.relative_to(vintage_dir).as_posix(), "bytes": p.stat().st_size,
                          "sha256": hashlib.sha256(p.read_bytes()).hexdigest()})
    manifest = {"source": source, "vintage": vintage_dir.name, "title": "test snapshot", **(extra or {}),
                "files": files}
    (vintage_dir / "SNAPSHOT.yml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")


def scratch_build(db: Path, source, snapshot, settings, before_checks=None) -> Path:
    """``snapshot`` parsed and loaded into a new build file ``db`` as the refresh loads it, for a test to run the
    source's checks on (``jlac.validation.validate_source``); ``before_checks(con)`` does what the refresh does in
    between (the country-name map, quarantine)."""
    from jlac import load, parse

    with duckdb.connect(str(db)) as con:
        con.execute("CREATE SCHEMA raw; CREATE SCHEMA staging")
        load.load_raw(con, source, snapshot, parse.parse_to_cache(settings, source, snapshot))
        if before_checks is not None:
            before_checks(con)
    return db


def failed_checks(db: Path, source, snapshot, settings=None) -> list:
    """The source's suites that fail on the build file ``db``."""
    from jlac import validation

    return [r for r in validation.validate_source(db, source, snapshot, settings) if not r.success]


# Optional sources that no small-mirror test reads and that cost seconds per refresh to load and check.
HEAVY_OPTIONAL = ("comtrade-classic-hs27-hs44", "mof-hs9-imports")


def small_mirror(root: Path, mirror: Path, workbooks: dict[str, Path], leave_out=HEAVY_OPTIONAL) -> Path:
    """A mirror whose imf-dots snapshot holds only the given workbooks; other sources link to the real mirror."""
    root.mkdir(parents=True, exist_ok=True)
    for src in mirror.iterdir():
        if src.is_dir() and src.name != "imf-dots" and src.name not in leave_out:
            (root / src.name).symlink_to(src, target_is_directory=True)
    vintage = root / "imf-dots" / "2022-02-02"
    vintage.mkdir(parents=True)
    for name, path in workbooks.items():
        (vintage / name).write_bytes(path.read_bytes())
    write_manifest(vintage, "imf-dots")
    return root


def task_runs(flow_run_id: str, done=bool, timeout: float = 30) -> list:
    """The task runs of a flow run as the Prefect API has them, read until ``done(runs)`` (task runs reach the API's
    database through its event stream, a moment after the run) or ``timeout`` seconds."""
    import time

    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                                         limit=200)
            if done(runs) or time.monotonic() > deadline:
                return runs
            time.sleep(0.2)


@pytest.fixture(scope="module")
def own_cache():
    """This module's warehouse homes keep their parse cache in ``<home>/cache`` (JLAC_CACHE unset): for tests that
    count what was parsed, look into the cache or damage what is in it (``pytestmark = usefixtures("own_cache")``)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("JLAC_CACHE", raising=False)
        yield


# --- One small-mirror warehouse shared by the tests that only read it ---------------------------------------------

@pytest.fixture(scope="session")
def small_home(tmp_path_factory, mirror):
    """(settings, record): a warehouse published once from a small mirror (Japan's DOTS workbook, every other source
    but HEAVY_OPTIONAL), for tests that only read it (the CLI, Figures 2 and 3, the report site). Tests that publish
    again or break a refresh build their own."""
    from jlac import pipeline
    from jlac.config import Settings

    home = tmp_path_factory.mktemp("small-home")
    root = small_mirror(home / "mirror", mirror, {"DOTS_101.xlsx": JAPAN_WORKBOOK})
    settings = Settings(warehouse=home / "wh" / "jlac.duckdb", snapshots=home / "wh" / "snapshots",
                        mirrors=(root,), output=home / "out")
    with pytest.MonkeyPatch.context() as mp:  # what the environment says is what the settings say
        for k, v in {"JLAC_WAREHOUSE": settings.warehouse, "JLAC_MIRROR": root, "JLAC_SNAPSHOTS": settings.snapshots,
                     "JLAC_OUTPUT": settings.output}.items():
            mp.setenv(k, str(v))
        record = pipeline.refresh(settings, trigger="test")
    assert record.status == "completed", record.error
    return settings, record


@pytest.fixture(scope="session")
def good_home(tmp_path_factory, mirror):
    """(home, settings, record): a warehouse published once from a small good mirror (Japan's and Haiti's DOTS
    workbooks + the other sources), shared by the tests that break a refresh against it and check it is left as it
    was (test_refresh_failures, test_mutations_refresh, test_transform) or publish again over it
    (test_publish_hooks). Each of them compares against the warehouse as it finds it, never against another
    test's."""
    from jlac import pipeline
    from jlac.config import Settings

    home = tmp_path_factory.mktemp("good-home")
    good = small_mirror(home / "good-mirror", mirror, GOOD)
    settings = Settings(warehouse=home / "wh" / "jlac.duckdb", snapshots=home / "wh" / "snapshots",
                        mirrors=(good,), output=home / "wh" / "output")
    record = pipeline.refresh(settings, trigger="test")
    assert record.status == "completed", record.error
    return home, settings, record


# --- The one whole-mirror warehouse of a session ------------------------------------------------------------------
# A whole-mirror refresh costs over a minute on 2 cores: it runs ONCE per session (full_build), and every test that
# reads a whole-mirror number (tests/test_warehouse.py, the PostgreSQL serving tests in tests/integration/) reads this
# warehouse instead of refreshing its own. Tests using it stay on one xdist worker (group "full-mirror", set below),
# and the one test that publishes into it again (marked publishes_full_home) runs after every reader.

@pytest.fixture(scope="session")
def full_build(mirror):
    """(settings, record): a warehouse folder (reachable by the cluster's system user) with the whole mirror
    published into it by one plain-pipeline refresh."""
    import shutil
    from types import SimpleNamespace

    import duckdb
    from integration.sqlendpoint import reachable_home, remove_home
    from jlac import pipeline
    from jlac.config import Settings

    os.environ.pop("JLAC_POSTGRES_URL", None)  # the publish hook must find this folder's cluster, no other
    home = reachable_home()
    settings = Settings(warehouse=home / "jlac.duckdb", snapshots=home / "snapshots", mirrors=(mirror,),
                        output=home / "output")
    reuse = os.environ.get("JLAC_TEST_PG_REUSE")  # development only: a published full warehouse to copy
    if reuse:
        shutil.copyfile(reuse, settings.warehouse)
        with duckdb.connect(str(settings.warehouse), read_only=True) as con:
            run_id = con.execute("SELECT max(run_id) FROM meta.runs WHERE status = 'completed'").fetchone()[0]
        record = SimpleNamespace(status="completed", run_id=run_id)
    else:
        record = pipeline.refresh(settings, trigger="test")
        assert record.status == "completed"
    yield settings, record
    remove_home(home)


@pytest.fixture(scope="session")
def full_home(full_build):
    """Settings of the shared whole-mirror warehouse (see full_build)."""
    return full_build[0]


@pytest.fixture(scope="session")
def served(full_home, mirror):
    """`jlac serve-sql` serving the full warehouse (stopped with SIGTERM at the end of the session)."""
    from integration.sqlendpoint import Endpoint, endpoint_env

    with Endpoint(endpoint_env(full_home.home, JLAC_MIRROR=str(mirror))) as ep:
        yield ep


# --- Grouping and order ------------------------------------------------------------------------------------------
# Under pytest-xdist (`make test`: `-n 2 --dist loadgroup`) a test goes to whichever worker is free, so a session or
# module fixture would be built once per worker. The scheduler below keeps together: the files of each shared
# warehouse (SHARED_GROUPS), every other test file as a whole (its module fixtures are built once), and spreads the
# mutation cases (one small scratch build each, no shared fixture) one by one to fill the gaps. xdist hands out the
# largest groups first, so `full-mirror` (whole refresh, PostgreSQL tests, second refresh) starts at once.
# (xdist's own xdist_group marks are not used: with pytest 9.2 its loadgroup scheduler silently ignores them,
# pytest-xdist issue 1386.)
SHARED_GROUPS = {  # group -> test files (relative to tests/) whose tests use that session fixture
    "full-mirror": ("test_warehouse.py", "integration/test_pg_clients.py", "integration/test_pg_security.py",
                    "integration/test_pg_concurrency.py"),
    "small_home": ("test_cli.py", "test_fig3_end_to_end.py", "test_site_browser.py"),
    "good_home": ("test_mutations_refresh.py", "test_publish_hooks.py", "test_refresh_failures.py",
                  "test_transform.py", "test_docs_site_catalog.py"),
}
FIXTURE_GROUPS = {"full_build": "full-mirror", "full_home": "full-mirror", "served": "full-mirror",
                  "small_home": "small_home", "good_home": "good_home"}
SPREAD = ("test_mutations.py",)
_GROUP_OF_FILE = {f"tests/{f}": group for group, files in SHARED_GROUPS.items() for f in files}


def xdist_scope(nodeid: str) -> str:
    """The unit a worker gets whole: a shared warehouse's group, a test file, or (SPREAD files) one test."""
    path = nodeid.split("::")[0]
    if path.removeprefix("tests/") in SPREAD:
        return nodeid
    return _GROUP_OF_FILE.get(path, path)


@pytest.hookimpl(optionalhook=True, tryfirst=True)  # a hook of pytest-xdist: ignored when it is not installed
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedWarehouseScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_scope(nodeid)

    return SharedWarehouseScheduling(config, log)


def pytest_collection_modifyitems(config, items):
    for item in items:
        for fixture in sorted(FIXTURE_GROUPS.keys() & set(getattr(item, "fixturenames", ()))):
            group = FIXTURE_GROUPS[fixture]
            if xdist_scope(item.nodeid) != group:  # else xdist would build that warehouse on a second worker
                raise pytest.UsageError(f"{item.nodeid} uses the session fixture {fixture}: add its file to "
                                        f"SHARED_GROUPS[{group!r}] in tests/conftest.py")
            if group == "full-mirror":
                item.add_marker(pytest.mark.e2e)  # `-m "not e2e"` leaves out everything waiting for that refresh
    # a test that publishes a new warehouse into the shared one runs after every test that reads the first one; the
    # mutation cases (SPREAD, each its own scope) after every file: xdist hands out scopes of equal size in this order,
    # and a file of one slow test (a subprocess refresh) drawn after them ran alone at the end of the session
    items.sort(key=lambda item: (xdist_scope(item.nodeid) == item.nodeid,
                                 item.get_closest_marker("publishes_full_home") is not None))


def pytest_sessionfinish(session, exitstatus):
    """Stop the temporary Prefect API the session's flows started, while pytest's output streams are still open
    (stopped at interpreter exit instead, it logs into a closed stream: a 'Logging error' traceback)."""
    import sys

    if "prefect.server.api.server" in sys.modules:
        from prefect.logging.handlers import APILogHandler
        from prefect.server.api.server import SubprocessASGIServer

        APILogHandler().flush()  # the run logs still queued, while their server is up
        for server in list(SubprocessASGIServer._instances.values()):
            server.stop()


@pytest.fixture(scope="session")
def prefect_api_url() -> str:
    """The session's temporary Prefect API, started here once. Tests that run `jlac` in a subprocess give it as
    PREFECT_API_URL (the documented way to use a running server) instead of each starting its own (10-20 s)."""
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start(timeout=120)  # a no-op when a flow of this process already started it
    return server.api_url


@pytest.fixture(scope="module")
def prefect_api(prefect_api_url):
    """This module's flows and clients (and the processes they start, e.g. Dask workers) use the session's Prefect
    API through PREFECT_API_URL. Replaces prefect_test_harness, which starts a server of its own (15-20 s); tests
    find their runs by flow-run id, so sharing the server's database loses nothing."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: prefect_api_url}):
        yield prefect_api_url


# --- dbt (jlac.transform) --------------------------------------------------------------------------------------
@pytest.fixture(scope="session", autouse=True)
def dbt_home(tmp_path_factory):
    """One dbt folder for the session: dbt parses the project once, every later build reuses its partial parse
    (a refresh outside the tests keeps it in <warehouse home>/.dbt, see jlac.transform.dbt_home)."""
    path = tmp_path_factory.mktemp("dbt")
    saved = os.environ.get("JLAC_DBT_HOME")
    os.environ["JLAC_DBT_HOME"] = str(path)
    yield path
    if saved is None:
        os.environ.pop("JLAC_DBT_HOME", None)
    else:
        os.environ["JLAC_DBT_HOME"] = saved


@pytest.fixture(scope="session", autouse=True)
def no_flow_heartbeats():
    """The flow runs of a test process send no heartbeats. Prefect 3.9 sends one every 180 s by default, from a thread
    that sleeps in one-second steps and is joined when the run ends: every flow run and subflow waited up to a
    second for it (tests/test_flow_e2e.py: 69-79 s -> 65-73 s, two runs each). No test checks heartbeats; a
    deployed run (integration/test_prefect_deployment.py, a subprocess) still sends them, as in production."""
    from prefect.settings import temporary_settings

    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        yield

"""Session fixtures for the PostgreSQL serving tests: ONE full-mirror warehouse, published once, and ONE
`jlac serve-sql` serving it (a full refresh costs about 75 s here; every client test reads the same copy)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sqlendpoint import Endpoint, endpoint_env, reachable_home, remove_home

ROOT = Path(__file__).resolve().parents[2]
MIRROR = Path(os.environ.get("JLAC_TEST_MIRROR", ROOT.parent / "shared" / "snapshots"))


@pytest.fixture(scope="session")
def full_home():
    """A warehouse folder with the whole mirror refreshed and published into it."""
    from jlac import pipeline
    from jlac.config import Settings

    os.environ.pop("JLAC_POSTGRES_URL", None)  # the publish hook must find this folder's cluster, no other
    home = reachable_home()
    settings = Settings(warehouse=home / "jlac.duckdb", snapshots=home / "snapshots", mirrors=(MIRROR,),
                        output=home / "output")
    reuse = os.environ.get("JLAC_TEST_PG_REUSE")  # development only: a published full warehouse to copy
    if reuse:
        shutil.copyfile(reuse, settings.warehouse)
    else:
        assert pipeline.refresh(settings, trigger="pg-tests").status == "completed"
    yield settings
    remove_home(home)


@pytest.fixture(scope="session")
def served(full_home):
    """`jlac serve-sql` serving the full warehouse (stopped with SIGTERM at the end of the session)."""
    env = endpoint_env(full_home.home, JLAC_MIRROR=str(MIRROR))
    with Endpoint(env) as ep:
        yield ep

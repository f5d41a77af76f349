"""The CLI's temporary Prefect API (jlac.prefect_api): started again, same port and database, when its process dies
during a run (killed by hand or by the OOM killer); left alone once Prefect stops it at the end."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

# Runs in its own process: the test session's flows use a temporary API of their own, which this must not touch.
SCRIPT = r"""
import json, os, signal, time
import httpx
from jlac import prefect_api
prefect_api.start_in_background().wait()
from prefect.server.api.server import SubprocessASGIServer
[server] = SubprocessASGIServer._instances.values()
url, first = server.api_url, server.server_process.pid
assert httpx.post(f"{url}/flows/", json={"name": "made-before-the-kill"}).status_code in (200, 201)
os.kill(first, signal.SIGKILL)
deadline, healthy = time.time() + 90, False
while time.time() < deadline and not healthy:
    time.sleep(0.2)
    proc = server.server_process
    try:
        healthy = proc is not None and proc.pid != first and httpx.get(f"{url}/health").status_code == 200
    except httpx.HTTPError:
        pass
flows = [f["name"] for f in httpx.post(f"{url}/flows/filter", json={}).json()] if healthy else []
second = server.server_process.pid
server.stop()  # as Prefect's exit handler does: not a death, nothing started again
time.sleep(1.5)
try:
    httpx.get(f"{url}/health", timeout=2)
    after_stop = "answers"
except httpx.HTTPError:
    after_stop = "down"
print(json.dumps({"healthy": healthy, "first": first, "second": second, "flows": flows, "after_stop": after_stop,
                  "process": None if server.server_process is None else server.server_process.pid}))
"""


def test_a_killed_api_is_started_again_with_its_database_and_not_after_it_is_stopped(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    session_db = Path(os.environ.get("PREFECT_HOME", "~/.prefect")).expanduser() / "prefect.db"
    if session_db.is_file():  # a consistent copy of the session's migrated database: no migration (~8 s) to wait for
        (tmp_path / "prefect").mkdir()
        with sqlite3.connect(session_db) as src, sqlite3.connect(tmp_path / "prefect" / "prefect.db") as dst:
            src.backup(dst)
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["healthy"] and out["second"] != out["first"], (out, done.stderr[-3000:])
    assert "made-before-the-kill" in out["flows"]  # the same database: the run's records so far are kept
    assert f"Prefect's temporary API (pid {out['first']}) ended during the run (signal 9); started again" \
        in done.stderr
    assert out["after_stop"] == "down" and out["process"] is None
    assert done.stderr.count("started again") == 1


def test_flow_runs_on_the_temporary_api_send_no_heartbeats_and_runs_on_a_server_do(prefect_api_url):
    """`jlac refresh` and `jlac backfill` on the temporary API: no heartbeat thread, which Prefect joins at each run's
    end (up to a second); with PREFECT_API_URL naming a server, heartbeats are sent (Prefect's default every 180 s),
    so that server can tell a crashed run from a slow one. Prefect's engine logs each heartbeat thread it starts."""
    import logging

    from jlac import prefect_api
    from prefect import flow
    from prefect.settings import PREFECT_API_URL, temporary_settings

    @flow
    def trivial() -> int:
        return 1

    class Lines(logging.Handler):
        def __init__(self):
            super().__init__(logging.DEBUG)
            self.lines = []

        def emit(self, record):
            self.lines.append(record.getMessage())

    def heartbeat_threads(api_url) -> int:
        lines = Lines()
        logger = logging.getLogger("prefect.flow_runs")
        level = logger.level
        logger.addHandler(lines)
        logger.setLevel(logging.DEBUG)
        try:  # the session turns heartbeats off (conftest.no_flow_heartbeats): Prefect's default again, here
            with temporary_settings(updates={PREFECT_API_URL: api_url, "flows.heartbeat_frequency": 180}), \
                    prefect_api.heartbeats_only_for_a_server():
                assert trivial() == 1
        finally:
            logger.removeHandler(lines)
            logger.setLevel(level)
        return sum("Started flow run heartbeat context" in line for line in lines.lines)

    assert heartbeat_threads(None) == 0  # the process's temporary API (the session's, already running)
    assert heartbeat_threads(prefect_api_url) == 1  # a server named by PREFECT_API_URL


def test_what_the_api_prints_while_serving_reaches_stderr_and_what_it_prints_once_stopped_does_not(tmp_path):
    """Stopping the temporary API cancels its in-flight database work, and SQLAlchemy logged each cancelled connection
    reset as an ERROR with a traceback after "jlac: interrupted" (a CI failure). Its output is relayed line by line
    while it serves, dropped once it is being stopped, and read to the end so the child never blocks on the pipe."""
    import threading

    from jlac.prefect_api import relay_until

    child = subprocess.Popen(
        [sys.executable, "-c", "import sys\nprint('while serving', file=sys.stderr, flush=True)\nsys.stdin.readline()\n"
         "sys.stderr.write('Traceback (most recent call last):\\n' * 20000)\n"],  # far more than a pipe holds
        stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    out = tmp_path / "stderr"
    stopping = threading.Event()
    with out.open("wb") as sink:
        thread = relay_until(child.stderr, stopping.is_set, sink.fileno())
        deadline = time.time() + 30
        while b"while serving" not in out.read_bytes() and time.time() < deadline:
            time.sleep(0.02)
        stopping.set()
        child.stdin.write(b"\n")
        child.stdin.close()
        assert child.wait(timeout=30) == 0  # it wrote ~700 KB into a 64 KB pipe: the relay kept reading
        thread.join(timeout=30)
    assert out.read_bytes() == b"while serving\n"

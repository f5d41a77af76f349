"""The real deployment path on loopback: Prefect server, process work pool, `prefect deploy` of
deploy/prefect.yaml, a worker, two triggered runs (one completes and publishes, one fails and alerts)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import JAPAN_WORKBOOK, MIRROR, small_mirror
from pytest_httpserver import HTTPServer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(args: list[str], env: dict, timeout: float = 120) -> str:
    proc = subprocess.run([PREFECT, "--no-prompt", *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"prefect {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=60)  # a loaded machine: jlac serve cancels its run first
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _api(method: str, url: str, attempts: int = 5) -> httpx.Response:
    """One request to the test's Prefect server, retried while it answers 429/502/503 as Prefect's own client does:
    its SQLite database, busy with a worker's flow run on a loaded machine, answers 503 now and then."""
    for attempt in range(attempts - 1):
        response = httpx.request(method, url, timeout=10)
        if response.status_code not in (429, 502, 503):
            return response
        time.sleep(1 + attempt)
    return httpx.request(method, url, timeout=10)


def _wait_for_run(api: str, run_id: str, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = _api("GET", f"{api}/flow_runs/{run_id}").json()
        if run["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return run
        time.sleep(1)
    raise AssertionError(f"flow run {run_id} did not finish in {timeout}s; last state {run['state']}")


def _run_log(api: str, run_id: str, complete, timeout: float = 60) -> list[str]:
    """The messages of a flow run's log, read until ``complete(messages)`` (the worker's process sends them in
    batches, the last ones as it ends)."""
    deadline = time.monotonic() + timeout
    while True:
        messages: list[str] = []
        while True:  # the API answers 200 at most per request
            found = httpx.post(f"{api}/logs/filter", timeout=10, json={
                "logs": {"flow_run_id": {"any_": [run_id]}}, "limit": 200, "offset": len(messages),
                "sort": "TIMESTAMP_ASC"})
            page = [entry["message"] for entry in found.json()] if found.status_code == 200 else []
            messages += page
            if len(page) < 200:
                break
        if complete(messages) or time.monotonic() > deadline:
            return messages
        time.sleep(1)


@pytest.fixture(scope="module")
def prefect_env(tmp_path_factory):
    # the deployed flow's run reads a small mirror (Japan's DOTS workbook, the other sources but the two heavy trade
    # details): what is checked here is the deployment path, which the whole mirror would only make a minute longer.
    # One server for the module's tests (a start costs 10-20 s); each test removes the deployment it looks for first.
    tmp_path = tmp_path_factory.mktemp("prefect-deployment")
    mirror = small_mirror(tmp_path / "mirror", MIRROR, {"DOTS_101.xlsx": JAPAN_WORKBOOK})
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "JLAC_PROJECT_DIR": str(ROOT),
        "JLAC_WAREHOUSE": str(tmp_path / "warehouse" / "jlac.duckdb"),
        "JLAC_MIRROR": str(mirror),
    }
    server, env = _start_server(env)
    try:
        yield env
    finally:
        _stop(server)


def _start_server(env: dict, tries: int = 3) -> tuple[subprocess.Popen, dict]:
    """A Prefect server of this module's own on a free port. The port is free when chosen, not when the server binds
    it: another test process may take it meanwhile (a Prefect temporary API of the other xdist worker), and then this
    server exits and the health check reaches the other one. So the server is known as this module's by its home
    (``/admin/settings``), and a lost port is tried again with another."""
    failures = []
    for _ in range(tries):
        port = _free_port()
        env = {**env, "PREFECT_API_URL": f"http://127.0.0.1:{port}/api", "PREFECT_SERVER_API_PORT": str(port)}
        server = subprocess.Popen([PREFECT, "server", "start", "--no-ui"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 90
        while server.poll() is None and time.monotonic() < deadline:
            try:
                found = httpx.get(f"{env['PREFECT_API_URL']}/admin/settings", timeout=2)
                if found.status_code == 200 and found.json()["home"] == env["PREFECT_HOME"]:
                    return server, env
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        _stop(server)
        failures.append(f"port {port}: {server.stderr.read()[-1500:]}")
    raise RuntimeError("prefect server did not start:\n" + "\n".join(failures))


SERVED = "jlac-refresh-served"  # deploy/schedule.yml's name, not deploy/prefect.yaml's


def _forget_deployment(api: str, name: str = "jlac-refresh") -> None:
    """Delete jlac-refresh/<name> if an earlier test of the module registered it, so a test sees its own."""
    found = _api("GET", f"{api}/deployments/name/jlac-refresh/{name}")
    if found.status_code == 200:
        _api("DELETE", f"{api}/deployments/{found.json()['id']}").raise_for_status()
    elif found.status_code != 404:
        found.raise_for_status()


def test_deploy_run_and_alert_through_a_worker(prefect_env, httpserver: HTTPServer, tmp_path):
    env = {**prefect_env, "JLAC_ALERT_WEBHOOK": httpserver.url_for("/alerts")}
    api = env["PREFECT_API_URL"]
    _forget_deployment(api)
    httpserver.expect_request("/alerts", method="POST").respond_with_data("ok")

    _run(["work-pool", "create", "jlac", "--type", "process", "--overwrite"], env)
    _run(["deploy", "--prefect-file", "deploy/prefect.yaml", "--all"], env)
    deployment = _api("GET", f"{api}/deployments/name/jlac-refresh/jlac-refresh").json()
    assert deployment["work_pool_name"] == "jlac"
    assert [s["schedule"]["cron"] for s in deployment["schedules"]] == ["30 5 * * 1"]
    assert deployment["parameters"] == {"fetch": True}

    worker = subprocess.Popen([PREFECT, "worker", "start", "--pool", "jlac"], env=env, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # 1. a run from the mirror only (fetch off: CI has no network) completes and publishes
        good = _run(["deployment", "run", "jlac-refresh/jlac-refresh", "--param", "fetch=false",
                     "--param", "offline=true"], env)
        good_id = next(line.split()[-1] for line in good.splitlines() if "UUID" in line)
        run = _wait_for_run(api, good_id)
        assert run["state"]["type"] == "COMPLETED", run["state"]["message"]
        assert Path(env["JLAC_WAREHOUSE"]).exists()
        ledger = [json.loads(x) for x in Path(env["JLAC_WAREHOUSE"]).with_name("runs.jsonl").read_text().splitlines()]
        assert ledger[-1]["flow_run_id"] == good_id and ledger[-1]["status"] == "completed"
        # the run's log has the flow's own lines (the worker loads pipeline.py by its path, as a module 'pipeline':
        # they were lost) and dbt's line per model and test (logged from dbt's threads: dropped), found by a QA pass
        # (read until the last of them: the worker's process sent "published" in a later batch than the first
        # dbt lines, and the test failed now and then)
        messages = _run_log(api, good_id, lambda ms: any(m.startswith("plan: ") for m in ms)
                            and sum(m.startswith("dbt: ") for m in ms) > 50
                            and any(m.startswith("published ") for m in ms))
        assert any(m.startswith("published ") for m in messages), messages[-20:]
        assert sum(m.startswith("dbt: ") for m in messages) > 50, messages[-20:]

        # 2. a run pinned to a vintage that does not exist fails, and the webhook hears about it
        bad = _run(["deployment", "run", "jlac-refresh/jlac-refresh", "--param", "fetch=false",
                    "--param", 'pins={"fred-exjpus": "1900-01-01"}'], env)
        bad_id = next(line.split()[-1] for line in bad.splitlines() if "UUID" in line)
        run = _wait_for_run(api, bad_id)
        assert run["state"]["type"] == "FAILED", run["state"]["message"]
        # refused by the pre-flight check inside the flow: in the ledger as every run (it was in none: QA pass)
        last = json.loads(Path(env["JLAC_WAREHOUSE"]).with_name("runs.jsonl").read_text().splitlines()[-1])
        assert last["flow_run_id"] == bad_id and last["status"] == "failed" and "1900-01-01" in last["error"], last
        # the hook runs once the Failed state is set: give it time before the worker stops
        deadline = time.monotonic() + 60
        while not httpserver.log and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        _stop(worker)

    alerts = [json.loads(req.get_data()) for req, _ in httpserver.log]
    assert len(alerts) == 1, alerts
    alert = alerts[0]
    assert alert["flow_run_id"] == bad_id
    assert alert["state"] == "Failed"
    assert "1900-01-01" in alert["error"] and "fred-exjpus" in alert["error"]
    assert bad_id in alert["text"]


def test_jlac_serve_registers_the_schedule(prefect_env, tmp_path):
    api = prefect_env["PREFECT_API_URL"]
    _forget_deployment(api, SERVED)
    serve = subprocess.Popen([str(Path(sys.executable).with_name("jlac")), "serve"], env=prefect_env, cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        deployment = None
        while time.monotonic() < deadline and serve.poll() is None:
            found = _api("GET", f"{api}/deployments/name/jlac-refresh/{SERVED}")
            if found.status_code == 200:
                deployment = found.json()
                break
            time.sleep(1)
        assert deployment, f"jlac serve registered nothing: {serve.stdout.read() if serve.poll() is not None else ''}"
        assert [s["schedule"]["cron"] for s in deployment["schedules"]] == ["30 5 * * 1"]
        assert deployment["parameters"] == {"fetch": True}
        # its own cron in the description, and one run at a time, as deploy/prefect.yaml's (found by a QA pass: a
        # run due while another worked failed on the refresh lock and alerted)
        assert "'30 5 * * 1'" in deployment["description"] and "fetch=True" in deployment["description"]
        assert (deployment.get("global_concurrency_limit") or {}).get("limit") == 1, deployment
        assert serve.poll() is None  # still serving
        # the home it refreshes is in the description; another home's `jlac serve` of the same name is refused, not
        # merged into it (runs went to either home, and stopping one paused the other's schedule: a QA pass)
        mine = os.path.abspath(prefect_env["JLAC_WAREHOUSE"])
        assert deployment["description"].endswith(f"; warehouse: {mine}")
        other = {**prefect_env, "JLAC_WAREHOUSE": str(tmp_path / "other" / "jlac.duckdb")}
        refused = subprocess.run([str(Path(sys.executable).with_name("jlac")), "serve"], env=other, cwd=ROOT,
                                 capture_output=True, text=True, timeout=120)
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert (f"the Prefect server's deployment jlac-refresh/{SERVED} is served for the warehouse {mine}, not "
                f"{tmp_path / 'other' / 'jlac.duckdb'}") in " ".join(refused.stderr.split()), refused.stderr
        again = _api("GET", f"{api}/deployments/name/jlac-refresh/{SERVED}").json()
        assert again["description"] == deployment["description"] and not again.get("paused")
        # a second `jlac serve` of the same home is refused while the first serves (its runner polls): stopping it
        # paused the first one's schedule (found by a QA pass)
        deadline = time.monotonic() + 60
        while not _api("GET", f"{api}/deployments/name/jlac-refresh/{SERVED}").json().get("last_polled"):
            assert time.monotonic() < deadline, "the served deployment was never polled"
            time.sleep(1)
        twice = subprocess.run([str(Path(sys.executable).with_name("jlac")), "serve"], env=prefect_env, cwd=ROOT,
                               capture_output=True, text=True, timeout=120)
        assert twice.returncode == 1, twice.stdout + twice.stderr
        assert f"the deployment jlac-refresh/{SERVED} is being served already" in " ".join(twice.stderr.split())
        assert not _api("GET", f"{api}/deployments/name/jlac-refresh/{SERVED}").json().get("paused")
        # a run of the served deployment runs (found by a QA pass: every one failed validating its parameters, the
        # flow sent to its process by value without the class its annotation names)
        started = _run(["deployment", "run", f"jlac-refresh/{SERVED}", "--param", "fetch=false",
                        "--param", "offline=true"], prefect_env)
        run_id = next(line.split()[-1] for line in started.splitlines() if "UUID" in line)
        run = _wait_for_run(api, run_id)
        assert run["state"]["type"] == "COMPLETED", run["state"]["message"]
        ledger = [json.loads(x) for x in Path(prefect_env["JLAC_WAREHOUSE"]).with_name("runs.jsonl").read_text()
                  .splitlines()]
        assert ledger[-1]["flow_run_id"] == run_id and ledger[-1]["status"] in ("completed", "unchanged")

        # a run cancelled in Prefect ends Cancelled there and is recorded as cancelled: it ended Crashed, "crashed:
        # stopped" in the ledger and the alert (jlac.stops' handler stood in front of Prefect's; found by a QA pass)
        started = _run(["deployment", "run", f"jlac-refresh/{SERVED}", "--param", "fetch=false",
                        "--param", "offline=true", "--param", "full=true"], prefect_env)
        run_id = next(line.split()[-1] for line in started.splitlines() if "UUID" in line)
        _run_log(api, run_id, lambda ms: any(m.startswith("plan: ") for m in ms), timeout=120)
        _run(["flow-run", "cancel", run_id], prefect_env)
        run = _wait_for_run(api, run_id)
        last = json.loads(Path(prefect_env["JLAC_WAREHOUSE"]).with_name("runs.jsonl").read_text().splitlines()[-1])
        assert run["state"]["type"] == "CANCELLED", run["state"]
        assert last["flow_run_id"] == run_id and last["status"] == "cancelled", last
        assert last["error"].startswith("cancelled in Prefect (Cancelling"), last

        # `jlac serve` stopped (systemd's SIGTERM) during a run: its runner cancels the run, and so it is recorded
        started = _run(["deployment", "run", f"jlac-refresh/{SERVED}", "--param", "fetch=false",
                        "--param", "offline=true", "--param", "full=true"], prefect_env)
        run_id = next(line.split()[-1] for line in started.splitlines() if "UUID" in line)
        _run_log(api, run_id, lambda ms: any(m.startswith("plan: ") for m in ms), timeout=120)
        _stop(serve)
        assert serve.returncode == 0, serve.stdout.read()[-3000:]
        run = _wait_for_run(api, run_id, timeout=30)
        assert run["state"]["type"] == "CANCELLED", run["state"]
        last = json.loads(Path(prefect_env["JLAC_WAREHOUSE"]).with_name("runs.jsonl").read_text().splitlines()[-1])
        assert last["flow_run_id"] == run_id and last["status"] == "cancelled", last
    finally:
        _stop(serve)

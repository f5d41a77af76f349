"""Failure alerts: payload from the ledger, delivery to a local HTTP receiver, and failures to deliver."""

from __future__ import annotations

import json
import logging
import socket
from types import SimpleNamespace

import pytest
from jlac.config import get_settings
from jlac.ops import alerts
from pytest_httpserver import HTTPServer

FLOW_RUN_ID = "0f6d2c4e-1111-4222-8333-944455556666"


@pytest.fixture
def ledger(tmp_path, monkeypatch):
    monkeypatch.setenv("JLAC_WAREHOUSE", str(tmp_path / "jlac.duckdb"))
    path = get_settings().run_ledger
    path.write_text(json.dumps({
        "run_id": "20261128T0530-1", "flow_run_id": FLOW_RUN_ID, "status": "failed",
        "error": "oecd-dac2a: 3 of 12 expectations failed", "failed_source": "oecd-dac2a",
        "failed_suite": "oecd_dac2a", "report_path": "/srv/jlac/warehouse/reports/20261128T0530-1.md"}) + "\n")
    return path


def _state(name="Failed", message="Flow run encountered an exception"):
    return SimpleNamespace(name=name, type=name.upper(), message=message)


def test_hook_posts_the_flow_run_the_failing_suite_and_the_report(ledger, httpserver: HTTPServer, monkeypatch):
    monkeypatch.setenv(alerts.WEBHOOK_ENV, httpserver.url_for("/hook"))
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("ok")
    alerts.on_flow_failure(None, SimpleNamespace(id=FLOW_RUN_ID, name="gentle-otter"), _state())
    httpserver.check_assertions()
    (request, _), = httpserver.log
    body = json.loads(request.get_data())
    assert body["flow_run_id"] == FLOW_RUN_ID and body["run_id"] == "20261128T0530-1"
    assert (body["failed_source"], body["failed_suite"]) == ("oecd-dac2a", "oecd_dac2a")
    assert body["report_path"] == "/srv/jlac/warehouse/reports/20261128T0530-1.md"
    assert body["text"].splitlines() == [
        f"jlac refresh gentle-otter ({FLOW_RUN_ID}) failed: suite oecd_dac2a",
        "oecd-dac2a: 3 of 12 expectations failed",
        "validation report: /srv/jlac/warehouse/reports/20261128T0530-1.md",
    ] + ([body["ui_url"]] if body["ui_url"] else []) + [f"warehouse: {get_settings().warehouse}"]
    # the home it is about, for a receiver of two homes' alerts (prod, staging: found by a QA pass)
    assert body["warehouse"] == str(get_settings().warehouse)


def test_the_warehouse_line_ends_every_alert_even_one_naming_the_file(httpserver: HTTPServer, tmp_path):
    """An alert whose text named the warehouse's file (a damaged file, its .lock) was sent without the last line a
    receiver parses (found by a QA pass)."""
    path = tmp_path / "jlac.duckdb"
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    for text in (f'IO Error: The file "{path}" exists, but it is not a valid DuckDB database file!',
                 f"cannot open {path}.lock\nhttp://ui/runs/1", f"done\nwarehouse: {path}"):
        assert alerts.send({"text": text, "state": "serving_failed"}, httpserver.url_for("/hook"), warehouse=path)
    texts = [json.loads(request.get_data())["text"] for request, _ in httpserver.log]
    assert [t.splitlines()[-1] for t in texts] == [f"warehouse: {path}"] * 3
    assert texts[2] == f"done\nwarehouse: {path}"  # not twice


def test_a_crash_before_the_ledger_was_written_still_alerts_with_the_state_message(
        ledger, httpserver: HTTPServer, monkeypatch):
    monkeypatch.setenv(alerts.WEBHOOK_ENV, httpserver.url_for("/hook"))
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("ok")
    alerts.on_flow_failure(None, SimpleNamespace(id="another-run", name="lost-run"),
                           _state("Crashed", "Flow run infrastructure exited with non-zero status code -9"))
    (request, _), = httpserver.log
    body = json.loads(request.get_data())
    assert body["state"] == "Crashed" and body["failed_source"] is None and body["run_id"] is None
    assert "non-zero status code -9" in body["error"]
    assert body["text"].startswith("jlac refresh lost-run (another-run) crashed: the run")


def test_a_receiver_error_is_logged_not_raised(httpserver: HTTPServer, caplog):
    httpserver.expect_request("/hook").respond_with_data("no such channel", status=404)
    payload = alerts.build_payload(flow_run_id="x", flow_run_name="y", state="Failed", message="m", run=None)
    with caplog.at_level(logging.ERROR):
        assert alerts.send(payload, httpserver.url_for("/hook")) is False
    assert "answered 404 no such channel" in caplog.text


def test_an_unreachable_receiver_is_logged_not_raised(caplog):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    payload = alerts.build_payload(flow_run_id="x", flow_run_name="y", state="Failed", message="m", run=None)
    with caplog.at_level(logging.ERROR):
        assert alerts.send(payload, f"http://127.0.0.1:{port}/hook", timeout=2) is False
    assert f"alert webhook http://127.0.0.1:{port}/… unreachable" in caplog.text


def test_without_a_webhook_the_alert_is_only_logged(monkeypatch, caplog):
    monkeypatch.delenv(alerts.WEBHOOK_ENV, raising=False)
    payload = alerts.build_payload(flow_run_id="x", flow_run_name="y", state="Failed", message="m", run=None)
    with caplog.at_level(logging.WARNING):
        assert alerts.send(payload) is False
    assert "no JLAC_ALERT_WEBHOOK set" in caplog.text


def test_a_receiver_that_trickles_its_answer_is_given_up_on_and_a_malformed_url_is_logged(caplog):
    """Found by a QA pass: a webhook sending its answer a byte every few seconds held a failed refresh (its lock, its
    stop) as long as it trickled, httpx's timeout bounding each wait for bytes only; and a URL httpx cannot take
    (``httpx.InvalidURL`` is no ``HTTPError``) raised from the flow's hooks. ``timeout`` is now the whole exchange's."""
    import time

    from werkzeug import Request, Response

    def trickle(request: Request) -> Response:
        def body():
            for _ in range(8):
                time.sleep(0.5)
                yield b"o"
        return Response(body(), status=200)

    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        server.expect_request("/hook", method="POST").respond_with_handler(trickle)
        payload = {"text": "jlac refresh x failed"}
        started = time.monotonic()
        with caplog.at_level(logging.ERROR, logger="jlac.ops.alerts"):
            assert alerts.send(payload, server.url_for("/hook"), timeout=1.0) is False
        assert time.monotonic() - started < 2.5  # not the 4 s it trickles
        assert "did not answer within 1 s; alert was: jlac refresh x failed" in caplog.text
    finally:
        server.clear()
        server.stop()
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="jlac.ops.alerts"):
        assert alerts.send(payload, "http://hooks.example.com:80a/x") is False
    assert "alert webhook http://hooks.example.com:80a/… unreachable (InvalidURL" in caplog.text


@pytest.mark.parametrize("path", ["/services/T0B1/B2C3/SECRETTOKEN42", "/hook?token=SECRETTOKEN42",
                                  "/hook#SECRETTOKEN42", "/services/a/../SECRETTOKEN42"])
def test_the_webhooks_url_is_its_credential_and_never_logged(httpserver: HTTPServer, caplog, path):
    """A chat webhook's URL is its credential: every failure logged it whole, into Prefect's UI and the worker's
    journal (found by a QA pass). Logs show its scheme, host and port; httpx's own request line hides it too."""
    port = httpserver.port
    sent = path.split("?")[0].split("#")[0].replace("a/../", "")  # as httpx sends it
    httpserver.expect_request(sent).respond_with_data("no such channel", status=500)
    payload = {"text": "jlac refresh x failed"}
    # httpx's logger at INFO whatever an earlier test set (the CLI sets it to WARNING)
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.INFO, logger="httpx"):
        assert alerts.send(payload, httpserver.url_for(path)) is False
        assert alerts.send(payload, f"http://user:SECRETPASS99@127.0.0.1:{port}{path}") is False
    assert f"alert webhook http://127.0.0.1:{port}/… answered 500 no such channel" in caplog.text
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug"))  # not the server's
    assert "SECRETTOKEN42" not in ours and "SECRETPASS99" not in ours, ours
    assert "HTTP Request: POST" in ours  # httpx's line was there, scrubbed


def test_a_run_stopped_during_a_query_is_said_to_be_interrupted_not_query_interrupted():
    """Found by a QA pass: a SIGTERM during a DuckDB query alerted 'crashed: stopped' and 'Query interrupted', which
    reads like a failed query; the alert says the run was interrupted."""
    payload = alerts.build_payload(flow_run_id="x", flow_run_name="y", state="Crashed", message="m",
                                   run={"status": "crashed", "error": "Query interrupted", "run_id": "r1"})
    assert payload["text"].splitlines()[:2] == ["jlac refresh y (x) crashed: stopped",
                                                "interrupted (Ctrl-C, or a stop signal such as SIGTERM)"]
    assert "Query interrupted" not in payload["text"]


def test_prefects_runner_calls_the_crash_hook_by_keyword():
    """A run's process killed (the OOM killer): Prefect's runner calls the flow's on_crashed hooks as
    ``hook(flow=..., flow_run=..., state=...)``; the hook's first parameter was ``flow_``, a TypeError in the runner's
    log, and no alert (found by a QA pass)."""
    import inspect

    from jlac import pipeline

    seen = []
    original = alerts.on_flow_failure
    alerts.on_flow_failure = lambda *args: seen.append(args)
    try:
        pipeline._notify(flow="the flow", flow_run="the run", state="the state")
        pipeline._notify("the flow", "the run", "the state")  # the flow engine's own call, by position
    finally:
        alerts.on_flow_failure = original
    assert seen == [("the flow", "the run", "the state")] * 2
    assert list(inspect.signature(pipeline._notify).parameters) == ["flow", "flow_run", "state"]
    # a run Prefect cancels (`jlac serve` stopped by systemd: "Runner is shutting down") alerts too (QA pass)
    assert all(pipeline._notify in hooks for hooks in (pipeline.refresh.on_failure_hooks,
                                                       pipeline.refresh.on_crashed_hooks,
                                                       pipeline.refresh.on_cancellation_hooks))
    payload = alerts.build_payload(flow_run_id="f", flow_run_name="n", state="Cancelled",
                                   message="Runner is shutting down.", run=None)
    assert payload["text"].splitlines()[:2] == ["jlac refresh n (f) cancelled: stopped", "Runner is shutting down."]
    # its process recorded a stop (no server answer when it asked): the alert still says cancelled, and Prefect's why
    stopped = alerts.build_payload(flow_run_id="f", flow_run_name="n", state="Cancelled",
                                   message="Runner is shutting down.",
                                   run={"run_id": "r", "status": "crashed", "error": "TerminationSignal",
                                        "failed_source": "imf-dots"})
    assert stopped["state"] == "cancelled" and stopped["failed_source"] is None
    assert stopped["text"].splitlines()[:2] == ["jlac refresh n (f) cancelled: stopped while working on imf-dots",
                                                "Runner is shutting down."]
    # recorded as cancelled by its process (it asked the server): so alerted, whatever state the hook was given
    recorded = alerts.build_payload(flow_run_id="f", flow_run_name="n", state="Crashed", message="",
                                    run={"run_id": "r", "status": "cancelled",
                                         "error": "cancelled in Prefect (Cancelling: by ops)"})
    assert recorded["state"] == "cancelled"
    assert recorded["text"].splitlines()[1] == "cancelled in Prefect (Cancelling: by ops)"


def test_a_crash_by_sigterm_is_said_to_be_interrupted_and_names_no_report():
    payload = alerts.build_payload(flow_run_id="f", flow_run_name="n", state="Crashed", message="",
                                   run={"run_id": "r", "status": "crashed", "error": "TerminationSignal",
                                        "report_path": "/w/reports/r/validation.md"})
    assert payload["error"] == "interrupted (Ctrl-C, or a stop signal such as SIGTERM)"
    assert "validation report" not in payload["text"]
    failed = alerts.build_payload(flow_run_id="f", flow_run_name="n", state="Failed", message="", run={
        "run_id": "r", "status": "failed", "error": "validation failed", "failed_suites": ["imf-dots: all rows"],
        "report_path": "/w/reports/r/validation.md"})
    assert "validation report: /w/reports/r/validation.md" in failed["text"]

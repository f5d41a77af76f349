"""Failure alerts: a JSON POST to a webhook when a refresh fails or crashes.

The webhook URL comes from ``JLAC_ALERT_WEBHOOK`` (unset: alerts are only logged). The payload names the
flow run, the failing sources or validation suites (all of them), and the validation report, taken from the run's
ledger line when the pipeline got as far as writing one, and from the Prefect state otherwise (a crash).

The payload is plain JSON with a ``text`` field, which Slack, Mattermost and Teams incoming webhooks show
as the message; other receivers can read the structured fields.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from jlac import ledger
from jlac.config import get_settings
from jlac.deadline import TimedOut, within
from jlac.http import keep_out_of_logs, without_credentials
from jlac.ops.status import read_ledger

log = logging.getLogger(__name__)

WEBHOOK_ENV = "JLAC_ALERT_WEBHOOK"


def ledger_entry(flow_run_id: str) -> dict | None:
    """The ledger line written by the given Prefect flow run, if the pipeline wrote one."""
    for run in reversed(read_ledger(get_settings().run_ledger)):
        if str(run.get("flow_run_id")) == str(flow_run_id):
            return run
    return None


def build_payload(*, flow_run_id: str, flow_run_name: str, state: str, message: str,
                  run: dict | None, ui_url: str | None = None) -> dict[str, Any]:
    """The alert body; every field is present (None when unknown) so receivers can rely on the shape."""
    run = run or {}
    failed_source = run.get("failed_source")
    failed_suite = run.get("failed_suite")
    # every source and suite that failed (a line of an older run names one of each: failed_source, failed_suite)
    failed_sources = ledger.failed_sources(run)
    failed_suites = list(run.get("failed_suites") or [])
    if failed_suite and failed_suite not in failed_suites:
        failed_suites.append(failed_suite)
    report = run.get("report_path")
    error = run.get("error") or message
    cancelled = run.get("status") == "cancelled" or state.lower() == "cancelled"
    if run.get("status") == "crashed" or cancelled:  # stopped (Ctrl-C, SIGTERM, Cancel): no source or file to blame
        # a run cancelled in Prefect (its UI, `prefect flow-run cancel`, `jlac serve` stopped) says so: it was
        # alerted as "crashed", the same words as a killed process (found by a QA pass)
        state = "cancelled" if cancelled else "crashed"
        # DuckDB's, Python's and jlac's words for the stop (a SIGTERM said "TerminationSignal": found by a QA pass)
        if error in ("Query interrupted", "KeyboardInterrupt", "TerminationSignal", "") or \
                error.startswith("TerminationSignal"):
            # cancelled while its process wrote "crashed" (the server did not answer it, or a runner stopping):
            # Prefect's own message ("Runner is shutting down.")
            error = (message if cancelled and run.get("status") != "cancelled" and message
                     else "interrupted (Ctrl-C, or a stop signal such as SIGTERM)")
        where = "stopped" + (f" while working on {failed_source}" if failed_source else "")
        failed_source, failed_sources = None, []
    elif len(failed_suites) > 1 or len(failed_sources) > 1:  # all of them, not the first only (found by a QA pass)
        sources = f"source{'s' * (len(failed_sources) > 1)} {', '.join(failed_sources)}" if failed_sources else ""
        suites = f"suite{'s' * (len(failed_suites) > 1)} {'; '.join(failed_suites)}" if failed_suites else ""
        where = f"{suites} ({sources})" if suites and sources else suites or sources
    elif failed_suite:
        where = f"suite {failed_suite}"
    else:
        where = f"source {failed_source}" if failed_source else "the run"
    lines = [f"jlac refresh {flow_run_name} ({flow_run_id}) {state.lower()}: {where}", str(error)]
    if report and failed_suites:  # a crash or a dbt error pointed to a report saying every suite passed (QA pass)
        lines.append(f"validation report: {report}")
    fetch_failed = run.get("fetch_failed") or {}
    if fetch_failed:  # the run was to build from what it fetched: those sources were not fetched
        lines.append("fetch failed: " + "; ".join(f"{name}: {msg}" for name, msg in sorted(fetch_failed.items())))
    if ui_url:
        lines.append(ui_url)
    return {
        "text": "\n".join(lines),
        "flow_run_id": str(flow_run_id),
        "flow_run_name": flow_run_name,
        "state": state,
        "run_id": run.get("run_id"),
        "failed_source": failed_source,
        "failed_suite": failed_suite,
        "failed_sources": failed_sources,
        "failed_suites": failed_suites,
        "report_path": report,
        "error": str(error),
        "ui_url": ui_url,
        "fetch_failed": fetch_failed,
    }


def _warehouse_of(given: Path | str | None) -> str | None:
    """The warehouse an alert is about: given, or the environment's (``JLAC_WAREHOUSE``), absolute."""
    if given is None:
        try:
            given = get_settings().warehouse
        except Exception:  # noqa: BLE001 - a bad setting must not stop the alert that may be about it
            return None
    return os.path.abspath(given)


def send(payload: dict[str, Any], url: str | None = None, timeout: float = 10.0, *,
         warehouse: Path | str | None = None) -> bool:
    """POST the payload; True when the receiver answered 2xx.

    Every alert names the warehouse it is about (``warehouse``, else ``JLAC_WAREHOUSE``'s): in its ``warehouse``
    field and a last line of its text. Two homes (prod and staging) alerting one team webhook sent alerts no receiver
    could tell apart (found by a QA pass).

    Never raises: an unreachable webhook must not turn a failed run's report into a different error,
    so the problem is logged (with the URL and the answer) and the caller carries on. ``timeout`` is the whole
    exchange's: a receiver trickling its answer held a failed refresh, its lock and its stop without end, and a
    malformed URL (``httpx.InvalidURL`` is no ``HTTPError``) raised from the flow's hooks (both found by a QA pass).
    """
    about = payload.get("warehouse") or _warehouse_of(warehouse)
    if about:
        text = str(payload.get("text", ""))
        last = f"warehouse: {about}"  # always the last line, even when the text names the file (a receiver parses it)
        payload = {**payload, "warehouse": about,
                   "text": text if text.rstrip("\n").endswith(f"\n{last}") or text == last else f"{text}\n{last}"}
    url = url or os.environ.get(WEBHOOK_ENV)
    if not url:
        log.warning("no %s set; alert not sent: %s", WEBHOOK_ENV, payload["text"])
        return False
    shown, hidden = shown_url(url)
    for secret in hidden:
        keep_out_of_logs(secret)  # httpx's own "HTTP Request: POST <url>" line

    def clean(text: object) -> str:
        text = str(text)
        for secret in sorted(hidden, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    try:
        response = within(timeout, lambda: httpx.post(url, json=payload, timeout=timeout), name="jlac-alert")
    except TimedOut:
        log.error("alert webhook %s did not answer within %g s; alert was: %s", shown, timeout, payload["text"])
        return False
    except Exception as exc:  # noqa: BLE001 - unreachable, refused, or a URL httpx cannot take
        log.error("alert webhook %s unreachable (%s: %s); alert was: %s", shown, type(exc).__name__, clean(exc),
                  payload["text"])
        return False
    if response.is_success:
        return True
    log.error("alert webhook %s answered %d %s; alert was: %s",
              shown, response.status_code, clean(response.text[:200]), payload["text"])
    return False


def shown_url(url: str) -> tuple[str, list[str]]:
    """The webhook URL as logs may show it, and the parts they must not: a chat webhook's URL is its credential
    (Slack's /services/T../B../<token>, Teams' and Mattermost's keys, a ?token=), so only its scheme, host and port
    are shown (``https://hooks.slack.com/…``); a password in it is hidden too. The logs of a failed run (Prefect's
    UI, the worker's journal) carried the whole URL (found by a QA pass)."""
    parts = urlsplit(url)
    userinfo, _, host = parts.netloc.rpartition("@")
    hidden = [p for p in (parts.path.strip("/"), parts.query, parts.fragment, userinfo) if p]
    try:  # as httpx sends and logs it: "a/../TOKEN" normalized to "TOKEN" (found by a QA pass)
        hidden.append(httpx.URL(url).path.strip("/"))
    except Exception:  # noqa: BLE001 - a URL httpx cannot take is hidden whole below
        pass
    if not parts.scheme or not host:
        hidden.append(url)
    # as written and as httpx writes it; shorter than 4 characters, replacing it would garble ordinary words
    hidden = sorted({form for p in hidden for form in (p, quote(p, safe="/")) if len(form) >= 4})
    if not parts.scheme or not host:
        return "(a URL jlac cannot read)", hidden
    rest = "/…" if parts.path.strip("/") or parts.query or parts.fragment else ""
    return f"{parts.scheme}://{host}{rest}", hidden


def ui_url(flow_run_id: str) -> str | None:
    """The flow run's page in Prefect's UI, None when no UI URL is set."""
    try:
        from prefect.settings import PREFECT_UI_URL
        base = PREFECT_UI_URL.value()
    except Exception:  # noqa: BLE001 - a missing UI URL must never stop an alert
        return None
    # Prefect derives it from PREFECT_API_URL, credentials included (http://user:password@host/api, ?token=)
    return f"{without_credentials(base).rstrip('/')}/runs/flow-run/{flow_run_id}" if base else None


def on_flow_failure(flow, flow_run, state) -> None:
    """Prefect state hook of the refresh flow (``on_failure``, ``on_crashed``, ``on_cancellation``): alert for this
    run."""
    payload = build_payload(
        flow_run_id=str(flow_run.id), flow_run_name=flow_run.name, state=state.name or str(state.type),
        message=state.message or "", run=ledger_entry(str(flow_run.id)), ui_url=ui_url(str(flow_run.id)),
    )
    send(payload)

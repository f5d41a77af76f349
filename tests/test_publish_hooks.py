"""The one hook point around the publish: a failing 'before' hook publishes nothing, a failing 'after'
hook never undoes a publish, and both see the right files."""

from __future__ import annotations

import hashlib
import json

import duckdb
import pytest
from jlac import pipeline, publish_hooks
from jlac.publish_hooks import PublishHook


@pytest.fixture(scope="module")
def settings(good_home):
    """Settings of the session's warehouse published from the good small mirror (conftest.good_home)."""
    return good_home[1]


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_before_hook_sees_build_and_previous_and_its_failure_publishes_nothing(settings, monkeypatch):
    seen = {}

    def before(ctx):
        seen["previous"] = ctx.previous
        with duckdb.connect(str(ctx.build), read_only=True) as con:
            seen["rows"] = con.execute("SELECT count(*) FROM marts.fct_trade_annual").fetchone()[0]
        raise RuntimeError("revision check refused the build")

    monkeypatch.setattr(publish_hooks, "all_hooks", lambda: [PublishHook("probe", before=before)])
    published = _digest(settings.warehouse)
    with pytest.raises(RuntimeError, match="revision check refused"):
        pipeline.refresh(settings, trigger="test", full=True)  # same inputs: only a full rebuild publishes
    assert seen["previous"] == settings.warehouse
    assert seen["rows"] > 1000
    assert _digest(settings.warehouse) == published
    last = json.loads(settings.run_ledger.read_text().splitlines()[-1])
    assert last["status"] == "failed" and "revision check refused" in last["error"]


def test_after_hook_failure_keeps_the_publish_and_is_recorded_and_alerted(settings, monkeypatch):
    alerts = []
    monkeypatch.setattr(pipeline, "_alert_hook_failure", lambda hook, message: alerts.append((hook, message)))

    def after_ok(ctx):
        assert ctx.published == settings.warehouse and ctx.published.exists()
        return {"tables": 3}

    def after_bad(ctx):
        raise ConnectionError("serving database down")

    monkeypatch.setattr(publish_hooks, "all_hooks", lambda: [
        PublishHook("a-ok", after=after_ok, order=1), PublishHook("b-down", after=after_bad, order=2)])
    before = _digest(settings.warehouse)
    record = pipeline.refresh(settings, trigger="test", full=True)
    assert record.status == "completed"
    assert _digest(settings.warehouse) != before  # a new warehouse was published
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("SELECT max(run_id) FROM meta.runs WHERE status = 'completed'").fetchone()[0] \
            == record.run_id
    assert [(h["hook"], h["status"]) for h in record.hooks] == [("a-ok", "ok"), ("b-down", "failed")]
    assert record.hooks[0]["details"] == {"tables": 3}
    assert "serving database down" in record.hooks[1]["message"]
    assert alerts == [("b-down", "ConnectionError: serving database down")]
    last = json.loads(settings.run_ledger.read_text().splitlines()[-1])
    assert last["run_id"] == record.run_id and last["hooks"][1]["status"] == "failed"

"""jlac.stops: a stop (Ctrl-C, SIGTERM) stays a stop when the code it interrupted swallows it."""

from __future__ import annotations

import os
import signal
import threading
import time

import duckdb
import pytest
from jlac import stops
from prefect.exceptions import TerminationSignal


class Stop(BaseException):
    """What a handler in place raises (Prefect's TerminationSignal, Python's KeyboardInterrupt)."""


def _raise_stop(signum, frame):
    raise Stop()


@pytest.fixture
def sigterm_raises():
    """SIGTERM raises Stop in this process for the test (as Prefect's handler raises TerminationSignal)."""
    previous = signal.signal(signal.SIGTERM, _raise_stop)
    yield
    signal.signal(signal.SIGTERM, previous)


def test_duckdb_turns_a_stop_into_an_ordinary_error(sigterm_raises):
    """Why the stops must be noted: a stop arriving during a query comes out of DuckDB as RuntimeError('Query
    interrupted'), an Exception, and the stop the handler raised is gone (not even its context)."""
    # one thread: the query's own (main) thread runs every task, and DuckDB looks at the signals between tasks; with
    # worker threads the main one can wait for the query's end without looking (70 s once in a loaded suite)
    con = duckdb.connect(config={"threads": 1})
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        with pytest.raises(Exception) as caught:
            con.execute("SELECT count(*) FROM range(20000000000) t(x) WHERE x % 7 = 3").fetchone()
    finally:
        timer.cancel()
    assert type(caught.value) is RuntimeError and "interrupted" in str(caught.value)
    assert caught.value.__context__ is None and caught.value.__cause__ is None
    assert con.execute("SELECT 42").fetchone() == (42,)  # the connection goes on as if nothing had happened


def test_a_swallowed_stop_is_noted_and_checked(sigterm_raises):
    with stops.noting() as noted:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
        except Stop:
            pass  # the code the stop interrupted carries on
    assert noted == [signal.SIGTERM]
    with pytest.raises(TerminationSignal):
        stops.check(noted)
    stops.check([])  # nothing noted: nothing raised


def test_an_inner_block_passes_its_stops_out_past_a_handler_of_its_own(sigterm_raises):
    """A Prefect subflow puts its own SIGTERM handler in front of the refresh's ``note``: a stop it swallows was
    never seen by the refresh. Its body notes for itself, and the refresh's block gets what it noted."""
    with stops.noting() as outer:
        previous = signal.signal(signal.SIGTERM, _raise_stop)  # the subflow's handler, not calling the outer note
        try:
            with stops.noting() as inner:
                try:
                    os.kill(os.getpid(), signal.SIGTERM)
                except Stop:
                    pass
                assert outer == []
        finally:
            signal.signal(signal.SIGTERM, previous)
        assert inner == [signal.SIGTERM] and outer == [signal.SIGTERM]
    assert stops._OPEN == []


def test_a_block_outside_the_main_thread_notes_nothing_and_is_not_kept():
    seen = []

    def run():
        with stops.noting() as noted:
            seen.append(list(stops._OPEN))
        seen.append(noted)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [[], []]


def test_a_task_is_not_retried_after_a_stop(prefect_api, sigterm_raises):
    """Prefect retries a failed task when it may (verify, fetch, publish, the HS-9 parse): after a stop, the failure
    may be the stop in disguise (DuckDB's "Query interrupted"), and trying again would carry on past it."""
    from prefect import flow, task

    attempts = []

    @task(retries=2, retry_delay_seconds=0, retry_condition_fn=stops.no_stop_noted)
    def flaky():
        attempts.append(1)
        raise RuntimeError("Query interrupted")

    @flow
    def run(stop: bool):
        with stops.noting() as noted:
            if stop:
                try:
                    os.kill(os.getpid(), signal.SIGTERM)
                except BaseException:  # Prefect's TerminationSignal, swallowed
                    pass
            state = flaky(return_state=True)
        return state.is_failed(), noted

    assert run(False) == (True, []) and len(attempts) == 3  # no stop: tried three times, as before
    attempts.clear()
    assert run(True) == (True, [signal.SIGTERM]) and len(attempts) == 1


def test_file_stages_are_tried_again_after_an_error_that_may_pass_not_after_jlacs_verdict(prefect_api):
    """verify, the HS-9 parse and publish retry with ``pipeline.may_pass``: an I/O error may pass, a JlacError (a
    checksum mismatch, a refused file, a refusing before-publish hook) is what the same files give again."""
    import errno

    from jlac import pipeline
    from jlac.errors import JlacError, SnapshotError
    from prefect import flow, task

    attempts = []

    @task(retries=2, retry_delay_seconds=0, retry_condition_fn=pipeline.may_pass)
    def stage(error: BaseException):
        attempts.append(type(error).__name__)
        raise error

    @flow
    def run(error: BaseException) -> bool:
        return stage(error, return_state=True).is_failed()

    assert run(OSError(errno.EIO, "Input/output error")) and attempts == ["OSError"] * 3
    attempts.clear()
    assert run(SnapshotError("checksum mismatch for DOTS_88.xlsx")) and attempts == ["SnapshotError"]
    attempts.clear()
    assert run(JlacError("a before-publish hook refused the build")) and attempts == ["JlacError"]


def test_a_block_in_a_flow_run_leaves_prefects_cancel_working(prefect_api):
    """A runner or worker cancels a flow run by telling its process over a control channel, which accepts only
    while Prefect's SIGTERM bridge is in place, then sending SIGTERM. ``note`` in place of the bridge made every
    Cancel a crash in Prefect (found by a QA pass): the block stands in for the bridge and gives it back."""
    from prefect import flow
    from prefect.utilities import engine

    bridge = engine._prefect_sigterm_handler

    @flow
    def run():
        seen = {"bridge before": engine.can_ack_control_intent()}
        with stops.noting() as noted:
            seen["in the block"] = engine.can_ack_control_intent()
            with stops.noting():  # nested (the refresh's and a stage's): still so
                seen["nested"] = engine.can_ack_control_intent()
            try:
                os.kill(os.getpid(), signal.SIGTERM)
            except TerminationSignal:  # a SIGTERM is still Prefect's TerminationSignal, and noted
                seen["raised"] = True
        seen["noted"] = noted
        seen["after"] = engine.can_ack_control_intent() and signal.getsignal(signal.SIGTERM) is bridge
        return seen

    assert run() == {"bridge before": True, "in the block": True, "nested": True, "raised": True,
                     "noted": [signal.SIGTERM], "after": True}
    assert engine._prefect_sigterm_handler is bridge
    assert not engine.can_ack_control_intent()  # outside a flow run: Prefect's bridge is not in place


def test_held_ignores_stops_while_a_stopped_command_says_so_then_puts_the_handlers_back(sigterm_raises):
    """``held`` covers the "interrupted" line: a Ctrl-C or SIGTERM landing in it is dropped, not raised into the
    write (which ended the command with no line at all); the handlers in place before are back after the block."""
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    with stops.held():
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)  # a handler would run here, between bytecodes
    assert {s: signal.getsignal(s) for s in before} == before
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)

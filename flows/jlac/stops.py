"""Stops (Ctrl-C, SIGTERM) seen for what they are, whatever the code they interrupt makes of them.

A handler in place (Python's KeyboardInterrupt, Prefect's TerminationSignal) raises into whatever runs when the
signal arrives. Some code swallows that or raises something else in its place: dbt turns it into failed models or
DuckDB's "connection is busy"; Prefect, stopped while it creates a task run, raises
``ValueError('Task run is not set')`` from its cleanup. Read as errors, such stops were recorded as failed runs,
alerted, and printed as tracebacks. ``noting`` records each stop signal before the handler acts, so the code around
can tell a stop from a failure.

Some code swallows a stop outright: DuckDB turns the exception a handler raises during a query into
``RuntimeError('Query interrupted')``, and code that handles that error carries on (a retried task, a fallback).
A refresh then ran to the end and published after a SIGTERM. ``check`` raises a noted stop at the points where
carrying on would be wrong (a stage's end, before publishing), and ``no_stop_noted`` keeps Prefect from retrying a
task after one.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time

_OPEN: list[list[int]] = []  # the noted lists of the noting() blocks open in the main thread, outermost first
# the stops noted since the outermost noting() block last opened (a refresh's): kept after the blocks close, as the
# threads a stop interrupted (dbt's) go on failing while the command unwinds
_SINCE_START: list[int] = []


@contextlib.contextmanager
def noting():
    """Note each Ctrl-C or SIGTERM that arrives inside the block, then let the handler in place act as before.
    Yields the list of signals noted. Signals can only be handled in the main thread: elsewhere nothing is noted.

    Blocks nest: what an inner block noted is added to the outer ones when it ends. (A Prefect subflow puts its own
    handler in place of an outer block's ``note``: the subflow's body notes for itself, and the stops it noted reach
    the refresh around it.)"""
    noted: list[int] = []
    previous = {}
    engine = sys.modules.get("prefect.utilities.engine")
    bridge = getattr(engine, "_prefect_sigterm_handler", None)
    stood_in = False

    def note(signum, frame):
        noted.append(signum)
        _SINCE_START.append(signum)
        previous[signum](signum, frame)

    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            handler = signal.getsignal(sig)
            if callable(handler):  # Python's KeyboardInterrupt, Prefect's TerminationSignal (not SIG_DFL, SIG_IGN)
                signal.signal(sig, note)  # raises outside the main thread: nothing to give back then
                previous[sig] = handler
                if sig == signal.SIGTERM and bridge is not None and handler is bridge:
                    stood_in = _stand_in_for_prefects_bridge(engine, note)
    except ValueError:  # not the main thread
        pass
    if previous:
        if not _OPEN:
            _SINCE_START.clear()
        _OPEN.append(noted)
    try:
        yield noted
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if stood_in:
            _stand_in_for_prefects_bridge(engine, bridge)
        if previous:
            del _OPEN[next(i for i, block in enumerate(_OPEN) if block is noted)]
            for outer in _OPEN:
                outer.extend(sig for sig in noted if sig not in outer)


def ignore() -> dict:
    """Ignore Ctrl-C and SIGTERM from now on (in the main thread; elsewhere it changes nothing); return the handlers
    they had."""
    previous = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, signal.SIG_IGN)
    except ValueError:  # not the main thread: its handlers are the main thread's to set
        pass
    return previous


@contextlib.contextmanager
def held():
    """Ctrl-C and SIGTERM are ignored inside the block (``ignore``), then their handlers are put back. For the last
    words of a command already stopping: a second Ctrl-C landing while the "interrupted" line was being written
    raised inside the write, and the command ended with no line at all (1 run in 3 of Ctrl-C pressed three times on
    a loaded machine; found by a flaky test)."""
    previous = ignore()
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stand_in_for_prefects_bridge(engine, handler) -> bool:
    """Make ``handler`` the one Prefect takes for its SIGTERM bridge (``prefect.utilities.engine``).

    A runner or worker cancelling a flow run first tells the run's process over its control channel, which accepts
    only while Prefect's own handler is SIGTERM's; the SIGTERM that follows is then a cancellation. ``note`` in its
    place (it calls Prefect's handler, so a SIGTERM still raises TerminationSignal) made every Cancel a crash: the
    run ended Crashed in Prefect, "Execution was aborted by a termination signal" (found by a QA pass)."""
    with getattr(engine, "_prefect_sigterm_bridge_lock", contextlib.nullcontext()):
        engine._prefect_sigterm_handler = handler
    return True


def check(noted: list[int]) -> None:
    """Raise the stop noted in ``noted``, if any: the code it interrupted may have swallowed it and gone on."""
    if noted:
        raise exception_for(noted[0])


def no_stop_noted(task, task_run, state) -> bool:
    """Prefect's ``retry_condition_fn``: a task that failed after a stop arrived is not tried again (the stop may
    have reached it as an ordinary error, e.g. DuckDB's "Query interrupted"); the failure goes up to the flow."""
    return not any(_OPEN)


def stopping() -> bool:
    """A stop was noted since the outermost ``noting()`` block last opened: what fails from now on fails because of
    it."""
    return bool(_SINCE_START)  # every stop an open block notes is noted here too


def quiet_threads_after_a_stop() -> None:
    """A worker thread that dies of an exception after a stop prints nothing (Python prints its traceback): dbt's
    threads, stopped mid-model, raised "Tried to commit transaction" into a SIGTERM's one line (found by a QA pass).
    Before any stop, a thread's exception is printed as Python does."""
    if getattr(threading.excepthook, "_jlac", False):
        return
    original = threading.excepthook

    def hook(args) -> None:
        if not stopping():
            original(args)

    hook._jlac = True
    threading.excepthook = hook


def exception_for(signum: int) -> BaseException:
    """The exception a stop by ``signum`` is: KeyboardInterrupt, or Prefect's TerminationSignal for SIGTERM."""
    if signum == signal.SIGINT:
        return KeyboardInterrupt()
    from prefect.exceptions import TerminationSignal

    return TerminationSignal(signal=signum)


def made_over(exc: BaseException, noted: list[int]) -> bool:
    """Whether ``exc`` is what the interrupted code made of the first stop in ``noted`` (DuckDB's "Query
    interrupted", dbt's model errors, Prefect's ValueError) rather than that stop as its handler raises it. A SIGTERM
    landing in a query came out as DuckDB's interruption, and the CLI called it a Ctrl-C (exit 130, not 143)."""
    return bool(noted) and type(exc) is not type(exception_for(noted[0]))


def interruptible(con, work):
    """``work()`` (queries on the DuckDB connection ``con``) in a thread of its own, the main thread waiting: a stop
    then reaches the query at once. Python runs a signal's handler in the main thread only, between bytecodes; with
    the query in the main thread, a Ctrl-C waited for DuckDB's own look at Python's signals (27 s for a count over a
    large range, found while timing the tests). The stop the handler raises interrupts the connection and is raised
    again once the query has given up; what ``work`` returns or raises is returned or raised."""
    done: list = []
    finished = threading.Event()  # not Thread.join: once a signal interrupted it, is_alive() says False (Python 3.11)

    def run() -> None:
        try:
            done.append((True, work()))
        except BaseException as exc:  # noqa: BLE001  raised again in the main thread
            done.append((False, exc))
        finally:
            finished.set()

    threading.Thread(target=run, name="jlac-query", daemon=True).start()
    try:
        while not finished.wait(0.25):  # a signal ends the wait: its handler raises here
            pass
    except BaseException as stop:
        # again until the query gives up: an interrupt landing between two of its statements is lost (not for ever:
        # a thread blocked writing to a pipe nobody reads ends with the process). A second stop (Ctrl-C pressed
        # twice, or `timeout` signalling the command and then its process group) must not cut this short: the
        # connection was then closed under the running query, "connection is busy", and the process aborted.
        deadline = time.monotonic() + 5
        while not finished.is_set() and time.monotonic() < deadline:
            try:
                con.interrupt()
                finished.wait(0.05)
            except BaseException:  # noqa: BLE001 - the first stop is the one raised
                continue
        raise stop
    ok, value = done[0]
    if not ok:
        raise value
    return value

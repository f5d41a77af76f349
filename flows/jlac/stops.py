"""Stops (Ctrl-C, SIGTERM) seen for what they are, whatever the code they interrupt makes of them.

A handler in place (Python's KeyboardInterrupt, Prefect's TerminationSignal) raises into whatever runs when the
signal arrives. Some code swallows that or raises something else in its place: dbt turns it into failed models or
DuckDB's "connection is busy"; Prefect, stopped while it creates a task run, raises
``ValueError('Task run is not set')`` from its cleanup. Read as errors, such stops were recorded as failed runs,
alerted, and printed as tracebacks. ``noting`` records each stop signal before the handler acts, so the code around
can tell a stop from a failure.
"""

from __future__ import annotations

import contextlib
import signal


@contextlib.contextmanager
def noting():
    """Note each Ctrl-C or SIGTERM that arrives inside the block, then let the handler in place act as before.
    Yields the list of signals noted. Signals can only be handled in the main thread: elsewhere nothing is noted."""
    noted: list[int] = []
    previous = {}

    def note(signum, frame):
        noted.append(signum)
        previous[signum](signum, frame)

    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            handler = signal.getsignal(sig)
            if callable(handler):  # Python's KeyboardInterrupt, Prefect's TerminationSignal (not SIG_DFL, SIG_IGN)
                previous[sig] = handler
                signal.signal(sig, note)
    except ValueError:  # not the main thread
        pass
    try:
        yield noted
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def exception_for(signum: int) -> BaseException:
    """The exception a stop by ``signum`` is: KeyboardInterrupt, or Prefect's TerminationSignal for SIGTERM."""
    if signum == signal.SIGINT:
        return KeyboardInterrupt()
    from prefect.exceptions import TerminationSignal

    return TerminationSignal(signal=signum)

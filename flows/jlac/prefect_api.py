"""Prefect's temporary local API for a CLI refresh, out of reach of the terminal's signals.

Prefect starts its temporary API (``SubprocessASGIServer``: uvicorn in a child process) in the CLI's process group.
Ctrl-C in a terminal signals the whole foreground group, so the API died together with the run it should record:
the flow then spent minutes retrying to report its crash to a dead server and ended in an httpx traceback instead of
"jlac: interrupted". Here the API runs in a session of its own, so it records the run as crashed and is stopped by
Prefect's own exit handler; if jlac dies without stopping it (kill -9, a closed terminal), the child gets SIGTERM
from the kernel (parent-death signal), as the thread that started it lives as long as the process.

If the API's process ends on its own during the run (killed by hand or by the kernel's OOM killer), that thread
starts it again on the same port with the same database: Prefect's client retries its calls, and the run goes on
where it was. Left dead, every call of the run's tasks retried for minutes before the run failed.

What the API prints while it serves the run reaches the terminal as before; what it prints once it is being stopped
does not (``relay_until``): stopping it cancels its in-flight database work, and SQLAlchemy logged each cancelled
connection reset as an ERROR with a traceback, after the run's last line ("jlac: interrupted").
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import IO, Any

log = logging.getLogger(__name__)


def _die_with_parent() -> None:
    """In the child: SIGTERM when the thread that started it ends (the CLI process exiting or killed)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def relay_until(stream: IO[bytes], stopped: Callable[[], bool], fd: int = 2) -> threading.Thread:
    """Copy a child's output pipe to ``fd`` line by line while ``stopped()`` is false; after that, read the rest and
    drop it (the child must never block on a full pipe). Returns the (daemon) thread doing it."""

    def relay() -> None:
        writable = True
        with stream:
            for line in stream:
                if not writable or stopped():
                    continue
                try:
                    while line:
                        line = line[os.write(fd, line):]
                except OSError:  # our stderr is gone (a closed terminal): keep draining
                    writable = False

    thread = threading.Thread(target=relay, name="prefect-api-output", daemon=True)
    thread.start()
    return thread


def _server_class():
    import prefect
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import get_current_settings

    class ShieldedAPIServer(SubprocessASGIServer):
        """Prefect's temporary API server, its uvicorn child in a session of its own."""

        def _run_uvicorn_command(self) -> subprocess.Popen[Any]:
            # Prefect's own command and environment (SubprocessASGIServer._run_uvicorn_command), in a new session
            env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
                   "PREFECT__SERVER_FINAL": "1", **get_current_settings().to_environment_variables(exclude_unset=True)}
            proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--app-dir", str(prefect.__module_path__.parent), "--factory",
                 "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(self.port),
                 "--log-level", "error", "--lifespan", "on"],
                env=env, start_new_session=True, preexec_fn=_die_with_parent, stderr=subprocess.PIPE)
            relay_until(proc.stderr, lambda: getattr(self, "stopping", False))
            return proc

        def stop(self) -> None:
            self.stopping = True  # the watchdog (keep_running) must not take this end for a death
            super().stop()

        def keep_running(self, restarts: int = RESTARTS) -> None:
            """Start the API's process again each time it ends while not stopped (at most ``restarts`` times).
            Runs in the thread that started it: the parent-death signal of a child follows that thread."""
            while (proc := self.server_process) is not None:
                code = proc.wait()
                if getattr(self, "stopping", False) or self.server_process is not proc:
                    return
                how = f"signal {-code}" if code < 0 else f"exit status {code}"
                if restarts <= 0:
                    log.error("Prefect's temporary API (pid %d) ended (%s) again; not started any more: the run "
                              "cannot record its progress and will fail", proc.pid, how)
                    return
                restarts -= 1
                log.error("Prefect's temporary API (pid %d) ended during the run (%s); started again on %s with the "
                          "same database, and the run goes on", proc.pid, how, self.api_url)
                self.server_process = self._run_uvicorn_command()

    return ShieldedAPIServer


RESTARTS = 3  # a server that keeps dying (its database damaged, its port taken) is not started forever


def start_in_background() -> threading.Event | None:
    """Start the temporary API in a background thread (when no PREFECT_API_URL names a server).

    Starting it takes 5-20 s (importing Prefect's server, then a uvicorn process coming up); importing the pipeline
    (Great Expectations, DuckDB, Prefect) takes several seconds too, and the two overlap this way. The flow then
    finds the API running (Prefect keeps one temporary server per process: this one, registered first); if starting
    failed here, the flow starts it again and reports what went wrong. The thread then stays (idle) for the life of
    the process: the server's parent-death signal follows the thread that started it. Returns the event set once the
    start is over (started or failed).
    """
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return None
    started = threading.Event()

    def start() -> None:
        server = None
        try:
            server = _server_class()()
            server.start()
        except Exception as exc:  # noqa: BLE001 - the flow's own start reports it
            log.debug("background start of Prefect's API failed: %s", exc)
            server = None
        finally:
            started.set()
        # Prefect keeps one temporary server per process: one a flow of this process started before is Prefect's own
        # (no keep_running), and is left as Prefect runs it
        if server is not None and hasattr(server, "keep_running"):
            server.keep_running()
        threading.Event().wait()  # never set: see the docstring

    threading.Thread(target=start, name="prefect-api", daemon=True).start()
    return started


@contextlib.contextmanager
def heartbeats_only_for_a_server():
    """Flow runs started inside send heartbeats only when PREFECT_API_URL names a server that outlives them.

    A heartbeat tells a server watching for crashed runs that a run is alive. The temporary API lives and dies with
    this process, so nothing can act on one; meanwhile Prefect joins the heartbeat thread, which sleeps in
    one-second steps, at the end of every flow run: up to a second each (0.6 s of an unchanged refresh's 1.1 s)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if PREFECT_API_URL.value():
        yield
        return
    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        yield


CANCEL_CHECK_SECONDS = 3.0  # a stop must not wait on a server that does not answer: then it is recorded as crashed


def cancelled_in_prefect(flow_run_id: str | None) -> str | None:
    """Why Prefect cancelled the flow run, when it did, else None.

    A cancellation (the UI's Cancel, ``prefect flow-run cancel``, a ``jlac serve`` or worker shutting down) reaches
    the run's process as the same SIGTERM as any stop. Two things tell them apart: the intent the runner sent ahead
    over its control channel (Prefect's own test for a cancellation, ``control_listener.get_intent``), and the
    run's state on the server PREFECT_API_URL names (Cancelling). The temporary API of a CLI run has no one to
    cancel from, and dies with a Ctrl-C: it is not asked. A failure to ask is no cancellation."""
    from prefect.settings import PREFECT_API_URL

    listener = sys.modules.get("prefect._internal.control_listener")
    by_runner = getattr(listener, "get_intent", lambda: None)() == "cancel"
    state = _server_state(flow_run_id) if flow_run_id and PREFECT_API_URL.value() else None
    if state is not None and state.type.value in ("CANCELLING", "CANCELLED"):
        return f"cancelled in Prefect ({state.name}{': ' + state.message if state.message else ''})"
    return "cancelled by its Prefect runner or worker (shutting down?)" if by_runner else None


def _server_state(flow_run_id: str):
    """The flow run's state on the server, None when it does not answer in CANCEL_CHECK_SECONDS."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    try:
        with temporary_settings(updates={PREFECT_CLIENT_MAX_RETRIES: 0}), \
                get_client(httpx_settings={"timeout": CANCEL_CHECK_SECONDS}, sync_client=True) as client:
            return client.read_flow_run(flow_run_id).state
    except Exception as exc:  # noqa: BLE001 - the stop is recorded either way
        log.debug("could not ask Prefect for the state of flow run %s: %s", flow_run_id, exc)
        return None

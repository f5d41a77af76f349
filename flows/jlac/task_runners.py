"""Where the parse fan-out of a partitioned source runs: JLAC_TASK_RUNNER names a Dask cluster, or nothing.

* unset or empty: the refresh's own process (Prefect's default task runner);
* ``local:N``: a local Dask cluster of N worker processes (N >= 1), started and stopped by the run;
* ``dask://host[:port]``: an existing Dask scheduler (port 8786, Dask's default, when none is given); Dask's own
  ``tcp://`` and ``tls://`` addresses are taken too.

A scheduler is checked when a refresh starts (``check_setting``, from the pre-flight check), whether or not it has
anything to parse, and again before a parse is sent to it: one that does not answer, or a server there that is not a
Dask scheduler, is named with the setting, at once, instead of Dask's timeout (30 s) and a traceback from inside the
task runner, or a wait without end.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from jlac.errors import JlacError, SettingError

log = logging.getLogger(__name__)

ENV = "JLAC_TASK_RUNNER"
DASK_PORT = 8786  # Dask's default scheduler port
CONNECT_TIMEOUT_S = 10
# The check at a refresh's start (preflight): a few seconds for the connection and as many for the scheduler's
# answer; the parse's own check, when data arrives, waits CONNECT_TIMEOUT_S
PREFLIGHT_TIMEOUT_S = 4
# How long a parse waits while the scheduler has no worker (none started yet, or every one lost) before it fails:
# an adaptive cluster may start its first worker only when tasks arrive, so not at once (a QA pass saw the refresh
# wait for good, saying nothing, on a scheduler without workers)
NO_WORKER_ENV = "JLAC_DASK_NO_WORKER_TIMEOUT"
NO_WORKER_S = 120.0
POLL_S = 5.0  # how often a parse waiting for its files asks the scheduler how many workers it has
EXPECTED = ("expected dask://host[:port] (tcp:// or tls:// for Dask's own addresses) "
            "or local:N (N >= 1 worker processes)")


def dask_address(spec: str) -> str | None:
    """The scheduler address a remote spec names (``tcp://host:port`` or ``tls://host:port``), None for a local one.

    Raises SettingError naming the setting when the spec is not one of the forms above."""
    scheme, sep, rest = spec.strip().partition("://")
    scheme = scheme.lower()
    if not sep:
        kind, _, n = spec.strip().partition(":")
        if kind.lower() == "local" and n.isascii() and n.isdigit() and int(n) >= 1:  # not "²"
            return None
        raise SettingError(f"{ENV}={spec!r}: {EXPECTED}")
    if scheme not in ("dask", "tcp", "tls"):
        raise SettingError(f"{ENV}={spec!r}: unknown scheme {scheme!r}; {EXPECTED}")
    bad = SettingError(f"{ENV}={spec!r}: no host and port (1-65535) in it; {EXPECTED}")
    try:
        parts = urlsplit(f"{scheme}://{rest}")
        host, port = parts.hostname, parts.port  # .port raises ValueError: not a number, or out of range
    except ValueError:
        raise bad from None
    if not host or parts.path.strip("/") or port == 0 or parts.netloc.endswith(":"):
        raise bad
    port = port or DASK_PORT
    host = f"[{host}]" if ":" in host else host  # an IPv6 address keeps its brackets
    return f"{'tls' if scheme == 'tls' else 'tcp'}://{host}:{port}"


def _local_workers(spec: str) -> int:
    return int(spec.strip().partition(":")[2])


def check_reachable(address: str, spec: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Raise JlacError naming the setting when nothing accepts a connection at the scheduler's host and port, or
    what does is not a Dask scheduler (a tcp:// address is asked for its identity, as Dask's own clients do)."""
    host, _, port = address.split("://", 1)[1].rpartition(":")
    start = f"Start one there (`dask scheduler`, workers with `dask worker {address}`), correct the address in " \
            f"{ENV}, or unset {ENV} to parse in this process."
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise JlacError(f"{ENV}={spec!r}: no Dask scheduler answers at {address} ({exc.strerror or exc}). "
                        + start) from exc
    if not address.startswith("tcp://"):  # tls:// needs the cluster's certificates, which Dask's config gives it
        return
    # Something else listening there (a web server) accepted the connection and the refresh then waited for good
    # on the first task, past Dask's own timeouts (found by a QA pass)
    try:  # in a thread of its own: asyncio.run cannot start inside a running event loop (an async flow or task)
        with ThreadPoolExecutor(1) as pool:
            kind = pool.submit(asyncio.run, _identity(address, timeout)).result().get("type")
    except Exception as exc:  # noqa: BLE001  a timeout, a closed connection, an answer Dask cannot read
        kind = f"no Dask answer within {timeout:g} s ({type(exc).__name__})"
    if kind != "Scheduler":
        raise JlacError(f"{ENV}={spec!r}: what listens at {address} is not a Dask scheduler ({kind}). " + start)


def check_setting(timeout: float = PREFLIGHT_TIMEOUT_S) -> None:
    """Check JLAC_TASK_RUNNER at a refresh's start: its form (SettingError), and for a remote scheduler that one
    answers there now (JlacError naming the address, what failed and what to do). Without this, a scheduler that is
    down (or an address mistyped) passed every refresh with nothing to parse, as nothing is sent to it, and was found
    only on the day data arrived."""
    spec = os.environ.get(ENV, "").strip()
    if not spec:
        return
    address = dask_address(spec)
    if address is not None:
        no_worker_timeout()  # its form too: read only by a parse on a remote scheduler
        check_reachable(address, spec, timeout)


def no_worker_timeout() -> float:
    """Seconds a parse waits while the scheduler has no worker (JLAC_DASK_NO_WORKER_TIMEOUT, default 120)."""
    raw = os.environ.get(NO_WORKER_ENV, "").strip()
    if not raw:
        return NO_WORKER_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise SettingError(f"{NO_WORKER_ENV}={raw!r}: expected a number of seconds above 0")
    return value


def workers_at(address: str, timeout: float = CONNECT_TIMEOUT_S) -> int | None:
    """How many workers the scheduler at ``address`` has; None when it cannot be asked (tls://, no answer)."""
    if not address.startswith("tcp://"):
        return None
    try:
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(asyncio.run, _identity(address, timeout)).result()
    except Exception:  # noqa: BLE001  no answer now: the run's own calls to the scheduler will say why
        return None
    n = answer.get("n_workers")
    return n if isinstance(n, int) else None


def await_result(future, address: str | None, spec: str, what: str):
    """``future.result()`` of a task sent to a remote Dask scheduler, failing with a JlacError when the scheduler has
    had no worker for ``no_worker_timeout()`` seconds (a warning says so once it has had none for a while), instead
    of waiting for good. A local cluster (``local:N``) restarts its own workers: waited for as Prefect does."""
    if address is None:
        return future.result()
    limit, since, warned = no_worker_timeout(), None, False
    while True:
        try:
            return future.result(timeout=POLL_S)
        except TimeoutError:
            pass
        n = workers_at(address)
        if n != 0:
            since, warned = None, False
            continue
        since = since if since is not None else time.monotonic()
        waited = time.monotonic() - since
        if waited >= limit:
            raise JlacError(f"{ENV}={spec!r}: the Dask scheduler at {address} has had no worker for {waited:.0f} s "
                            f"({NO_WORKER_ENV}={limit:g}), so {what} cannot run; start workers with `dask worker "
                            f"{address}` (they must see the snapshot and cache paths), or unset {ENV} to parse in "
                            "this process")
        if not warned:
            log.warning("%s: the Dask scheduler at %s has no worker; %s waits up to %g s for one (start workers with "
                        "`dask worker %s`)", ENV, address, what, limit, address)
            warned = True


async def _identity(address: str, timeout: float) -> dict:
    """The ``identity`` a Dask server at ``address`` gives of itself (``type``: Scheduler, Worker, ...)."""
    from distributed.comm import connect

    async def ask() -> dict:
        comm = await connect(address, timeout=timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            answer = await comm.read()
        finally:
            comm.abort()
        return answer if isinstance(answer, dict) else {"type": repr(answer)[:60]}

    return await asyncio.wait_for(ask(), timeout)


def from_env(check: bool = True, api_url: str | None = None):
    """prefect-dask's DaskTaskRunner for JLAC_TASK_RUNNER, None when unset. ``check``: a remote scheduler must accept
    a connection now (JlacError naming the setting otherwise). ``api_url``: the Prefect API the run reports to, given
    to the workers of a local cluster: without it each worker process started a temporary API of its own at its first
    task (about 20 s each, and one left running when a worker was killed: found by a QA pass)."""
    spec = os.environ.get(ENV, "").strip()
    if not spec:
        return None
    address = dask_address(spec)
    from prefect_dask import DaskTaskRunner

    if address is not None:  # an existing scheduler: its workers must see the snapshot and cache paths
        if check:
            check_reachable(address, spec)
            no_worker_timeout()  # its form, before anything is sent
        return DaskTaskRunner(address=address)
    # processes, one thread each: DuckDB inside each task uses the cores; the dashboard would need a port
    env = {"PREFECT_API_URL": api_url} if api_url else {}
    return DaskTaskRunner(cluster_kwargs={"n_workers": _local_workers(spec), "threads_per_worker": 1,
                                          "processes": True, "dashboard_address": None, "env": env})

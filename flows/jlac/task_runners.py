"""Where the parse fan-out of a partitioned source runs: JLAC_TASK_RUNNER names a Dask cluster, or nothing.

* unset or empty: the refresh's own process (Prefect's default task runner);
* ``local:N``: a local Dask cluster of N worker processes (N >= 1), started and stopped by the run;
* ``dask://host[:port]``: an existing Dask scheduler (port 8786, Dask's default, when none is given); Dask's own
  ``tcp://`` and ``tls://`` addresses are taken too.

A scheduler is checked before the run starts: one that does not answer is named with the setting, at once, instead
of Dask's timeout (30 s) and a traceback from inside the task runner.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

from jlac.errors import JlacError, SettingError

ENV = "JLAC_TASK_RUNNER"
DASK_PORT = 8786  # Dask's default scheduler port
CONNECT_TIMEOUT_S = 10
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
    """Raise JlacError naming the setting when nothing accepts a connection at the scheduler's host and port."""
    host, _, port = address.split("://", 1)[1].rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise JlacError(
            f"{ENV}={spec!r}: no Dask scheduler answers at {address} ({exc.strerror or exc}). Start one there "
            f"(`dask scheduler`, workers with `dask worker {address}`) or unset {ENV} to parse in this process."
        ) from exc


def from_env(check: bool = True):
    """prefect-dask's DaskTaskRunner for JLAC_TASK_RUNNER, None when unset. ``check``: a remote scheduler must accept
    a connection now (JlacError naming the setting otherwise)."""
    spec = os.environ.get(ENV, "").strip()
    if not spec:
        return None
    address = dask_address(spec)
    from prefect_dask import DaskTaskRunner

    if address is not None:  # an existing scheduler: its workers must see the snapshot and cache paths
        if check:
            check_reachable(address, spec)
        return DaskTaskRunner(address=address)
    # processes, one thread each: DuckDB inside each task uses the cores; the dashboard would need a port
    return DaskTaskRunner(cluster_kwargs={"n_workers": _local_workers(spec), "threads_per_worker": 1,
                                          "processes": True, "dashboard_address": None})

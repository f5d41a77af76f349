"""``jlac serve-sql``: run the local cluster, keep its copy at the published warehouse, stop cleanly.

The loop watches the published file's identity (device, inode, mtime, size): a refresh publishes with
``os.replace``, so a new warehouse is a new inode. On a change, and every ``retry_s`` in any case (a failed load is
retried; a copy someone emptied or changed in PostgreSQL is found by its run id and loaded again), it calls
``catch_up`` - the same function the publish hook calls, so whichever comes first
loads and the other finds the copy current. SIGTERM and SIGINT stop the cluster with a fast shutdown.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

from jlac.errors import SettingError
from jlac.serving import cluster as pgcluster
from jlac.serving.load import catch_up, check_left_out, serving_version
from jlac.serving.target import ReaderPolicy, reader_drift, release_notify_queue, setup_reader

log = logging.getLogger(__name__)


def file_identity(path: Path) -> tuple | None:
    """What changes when a new warehouse is published onto ``path`` (None: nothing published yet)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


class Stop(BaseException):
    """SIGTERM or SIGINT arrived.

    A BaseException, like KeyboardInterrupt: the signal can arrive while a load is running, inside the handlers that
    keep the old copy served when a load fails (``except Exception``). As an Exception it was taken for a failed
    load there, and serve-sql went on serving until it was killed."""


def _raise_stop(signum, frame):
    raise Stop(signal.Signals(signum).name)


class ReaderGuard:
    """Calls ``check`` every ``every`` seconds in a thread of its own, from ``start`` to ``stop``.

    The reader role was checked between two polls of the serving loop only, and a load can hold that loop for
    minutes (waiting for the loaders' lock a refresh's publish hook holds, which itself waits up to 180 s for the
    readers of the old tables): a reader who lifted the role's limits kept them that long (found by a QA pass)."""

    def __init__(self, check: Callable[[], None], every: float):
        self.check, self.every = check, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jlac-reader-guard", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.check()
            except Exception:  # noqa: BLE001 - the next round checks again; the loop must not die of it
                log.exception("the reader role check failed")

    def start(self) -> ReaderGuard:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)


def serve(warehouse: Path, config: pgcluster.ServerConfig, reader: ReaderPolicy,
          ready: Callable[[str], None], poll_s: float = 1.0, retry_s: float = 30.0,
          alert: Callable[[str], None] | None = None, guard_s: float = 10.0) -> int:
    """Start the cluster, load, follow publishes until a signal; return the postmaster's exit code.

    Every ``guard_s`` it also checks the reader role: PostgreSQL lets any session change its own role's password
    and defaults, which would lock the other analysts out or lift the limits; a change is put back and alerted.
    """
    if not reader.password:
        raise SettingError("JLAC_SQL_PASSWORD is not set: no SQL endpoint without a password")
    check_left_out(warehouse)  # a JLAC_SQL_SKIP naming nothing served: refused now, not alerted every retry
    cluster = pgcluster.LocalCluster(warehouse.parent)
    if config.port == 0:
        config.port = pgcluster.free_port(config.host)
    previous = {s: signal.signal(s, _raise_stop) for s in (signal.SIGTERM, signal.SIGINT)}
    proc = guard = None
    try:
        proc = cluster.start(config, reader)
        target = cluster.target(config.port, reader)
        with target.connect(autocommit=True) as con:
            setup_reader(con, reader)  # the password of this start, before anyone can connect with it
            if note := pgcluster.ctype_note(con, cluster.root):
                log.warning("%s", note)
        # checked from now on, in its own thread: loads included (they can hold this loop for minutes)
        guard = ReaderGuard(lambda: _guard_reader(target, reader, alert), guard_s).start()
        seen, version, checked_at, failing = file_identity(warehouse), None, time.monotonic(), False
        try:
            version = catch_up(warehouse, target).version
        except Exception as exc:  # noqa: BLE001 - serve what is there; retried below
            _failed(exc, alert)
            failing = True
            with target.connect(autocommit=True) as con:
                version = serving_version(con)  # what the copy still holds from before
        if config.tls_cert is None and not pgcluster.is_loopback(config.host):
            log.warning("listening on %s without TLS: passwords are safe (SCRAM), but queries and results cross the "
                        "network unencrypted; set JLAC_SQL_TLS_CERT and JLAC_SQL_TLS_KEY", config.host)
        ready(f"jlac SQL endpoint (PostgreSQL, cluster {cluster.data}) on {config.host}:{config.port}, "
              f"database {pgcluster.DATABASE}, user {reader.user}, serving run {version or '(none yet)'}")
        while True:
            time.sleep(poll_s)
            if proc.poll() is not None:
                # killed by a signal: -9 became exit 247 (a byte of -9); 128 + signal as a shell says it, in the log,
                # the alert and serve-sql's own exit status alike (QA passes)
                code = 128 - proc.returncode if proc.returncode < 0 else proc.returncode or 1
                log.error("PostgreSQL exited (code %s); see %s", code, cluster.log)
                _alert_down(config, code, cluster.log, warehouse)
                return code
            now = file_identity(warehouse)
            # also when the file did not change: the copy's run id is compared with the published one (a no-op
            # while they agree), so a failed load is retried and a copy changed in PostgreSQL is loaded again
            due = time.monotonic() - checked_at >= retry_s
            if now == seen and due and not failing and _holds(target, version):
                checked_at = time.monotonic()  # the copy holds what was loaded: the published file is not read
                continue  # (while a BI tool holds it open for writing, reading it means copying it whole)
            if now != seen or due:
                seen, checked_at = now, time.monotonic()
                try:
                    result = catch_up(warehouse, target)
                    version, failing = result.version, False
                    if result.status == "loaded":
                        log.info("serving run %s (loaded in %.1f s)", result.version, result.seconds)
                except Exception as exc:  # noqa: BLE001 - the old copy stays served
                    _failed(exc, alert)
                    failing = True
    except Stop as why:
        log.info("%s: stopping PostgreSQL", why)
        return 0
    finally:
        for s in previous:
            signal.signal(s, signal.SIG_IGN)  # a second signal must not interrupt the shutdown
        if guard is not None:
            guard.stop()
        if proc is not None:
            pgcluster.stop(proc)
        for s, handler in previous.items():
            signal.signal(s, handler)


def _guard_reader(target, reader: ReaderPolicy, alert: Callable[[str], None] | None) -> None:
    """Put the reader role back as serve-sql set it when a session changed it (see serve), and disconnect the
    reader sessions that keep PostgreSQL's NOTIFY queue from emptying once it fills (``release_notify_queue``)."""
    try:
        with target.connect(autocommit=True) as con:
            changed = reader_drift(con, reader)
            if changed:
                setup_reader(con, reader)
            usage, ended = release_notify_queue(con, reader)
    except Exception as exc:  # noqa: BLE001 - a check that cannot run now runs again at the next guard
        log.warning("could not check the reader role %s: %s", reader.user, exc)
        return
    if ended:
        sessions = "; ".join(f"pid {pid} ({app or 'no application'}, {state} for {secs:.0f} s)"
                             for pid, app, state, secs in ended)
        message = (f"PostgreSQL's NOTIFY queue was {usage:.1%} full: disconnected the reader sessions idle in a "
                   f"transaction, which hold it ({sessions}); a LISTEN left unread lets NOTIFY fill the disk")
        log.warning("%s", message)
        if alert is not None:
            alert(message)
    if changed:
        message = (f"a session changed the shared reader role {reader.user}: {', '.join(changed)}; put back as "
                   "serve-sql set it (PostgreSQL lets every role change its own password and defaults)")
        log.warning("%s", message)
        if alert is not None:
            alert(message)


def _holds(target, version: str | None) -> bool:
    """Whether the serving copy still holds run ``version`` (None when it cannot be asked: then it is loaded)."""
    if version is None:
        return False
    try:
        with target.connect(autocommit=True) as con:
            return serving_version(con) == version
    except Exception:  # noqa: BLE001 - catch_up then says what is wrong, as for any failed load
        return False


REALERT_S = 3600.0  # a failure that lasts is alerted again hourly, not at every retry
_LAST_ALERT: dict = {}  # the last failure alerted: message and time


def _failed(exc: Exception, alert: Callable[[str], None] | None) -> None:
    """Log a failed load of the serving copy and alert it, once per distinct message (again after REALERT_S): a
    lasting fault (a full temp disk) sent the same alert at every 30 s retry (found by a QA pass)."""
    message = f"serving copy not updated, it stays at its previous version: {type(exc).__name__}: {exc}"
    log.error("%s", message)
    now = time.monotonic()
    last = _LAST_ALERT
    if alert is not None and (last.get("message") != message or now - last.get("at", 0.0) >= REALERT_S):
        last.update(message=message, at=now)
        alert(message)


def _alert_down(config, code, server_log, warehouse: Path) -> None:
    """BI tools lost the endpoint: say so to JLAC_ALERT_WEBHOOK, as a failed refresh is (only the log said it, and
    `jlac status` a line below its table: found by a QA pass). systemd's Restart= brings serve-sql back; the alert
    says so, or that it ends here when run by hand."""
    from jlac.ops import alerts

    text = (f"jlac serve-sql: PostgreSQL on {config.host}:{config.port} exited (code {code}); BI tools cannot connect "
            f"until serve-sql starts again (its service restarts it; by hand, run `jlac serve-sql`). See {server_log}")
    alerts.send({"text": text, "state": "serving down", "run_id": None, "exit_code": code, "log": str(server_log)},
                warehouse=warehouse)

"""The local PostgreSQL cluster that ``jlac serve-sql`` runs, under the warehouse folder.

Layout (``<warehouse folder>/postgres/``): ``data/`` (the cluster, created by ``initdb`` on first start),
``owner.secret`` (the owner role's generated password, mode 0600, for the publish hook and serve-sql),
``server.log``. The publish hook finds a running cluster through ``data/postmaster.pid``, which PostgreSQL
writes with its port: serve-sql and the hook agree on where the cluster is by this folder alone.

Binaries: the machine's PostgreSQL (``JLAC_PG_BIN``, else ``pg_config --bindir``, else the newest
``/usr/lib/postgresql/*/bin``, else ``PATH``). PostgreSQL refuses to run as root: started as root, jlac runs
``initdb`` and ``postgres`` as the unprivileged system user ``JLAC_PG_OS_USER`` (default ``postgres``) and
gives it the data folder.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import ipaddress
import logging
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from jlac.errors import JlacError, SettingError, why_denied
from jlac.serving.target import ReaderPolicy, Target, reader_name

OWNER = "jlac_owner"
DATABASE = "jlac"
LOG_ROTATE_BYTES = 64 * 1024 * 1024  # server.log past this at a start is kept as server.log.1 (Cluster._rotate_log)
# Sorting stays byte order (collation C, as DuckDB's default); character classes are UTF-8's, so upper(), lower()
# and ILIKE change accented letters as DuckDB does (with ctype C, upper('Curaçao') was 'CURAçAO'). glibc has
# C.UTF-8 built in (2.35+; Debian's before); initdb refuses a locale the machine lacks, naming it.
CTYPE = "C.UTF-8"


class ClusterError(JlacError):
    """The local cluster cannot be created or started; the message says what to change."""


def pg_bindir() -> Path:
    """Folder of initdb/postgres: JLAC_PG_BIN, pg_config --bindir, /usr/lib/postgresql/<newest>/bin, PATH."""
    candidates = []
    if env := os.environ.get("JLAC_PG_BIN"):
        candidates.append(Path(env))
    if pg_config := shutil.which("pg_config"):
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10).stdout
            candidates.append(Path(out.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
                      if Path(p).parent.name.isdigit() else 0, reverse=True)
    candidates += [Path(p) for p in versions]
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).parent)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "postgres").exists():
            return folder
    raise ClusterError("no PostgreSQL server binaries (initdb, postgres) found: install the server "
                       "(Debian: apt-get install postgresql) or set JLAC_PG_BIN to their folder")


@dataclass(frozen=True)
class OsUser:
    """Who runs the cluster: the current user, or an unprivileged system user when jlac runs as root."""

    name: str
    uid: int
    gid: int

    @classmethod
    def for_cluster(cls) -> OsUser:
        if os.geteuid() != 0:
            me = pwd.getpwuid(os.geteuid())
            return cls(me.pw_name, me.pw_uid, me.pw_gid)
        name = os.environ.get("JLAC_PG_OS_USER", "postgres")
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise ClusterError(f"jlac runs as root and PostgreSQL refuses root: it runs the cluster as system user "
                               f"{name!r}, which does not exist. Create it (useradd --system {name}) or set "
                               "JLAC_PG_OS_USER to an unprivileged user") from None
        if entry.pw_uid == 0:
            raise ClusterError(f"JLAC_PG_OS_USER={name!r} is root; PostgreSQL needs an unprivileged user")
        return cls(name, entry.pw_uid, entry.pw_gid)

    @property
    def is_me(self) -> bool:
        return self.uid == os.geteuid()

    def popen_args(self) -> dict:
        """subprocess arguments that run a child as this user (nothing when it is the current user).

        The child gets the environment a server needs (PATH, locale, time zone, TMPDIR), not root's: root's carried
        JLAC_SQL_PASSWORD, the owner's URL, API keys and the alert webhook into /proc/<pid>/environ of a process
        any other program of that user can read (found by a QA pass)."""
        if self.is_me:
            return {}
        env = {k: v for k, v in os.environ.items() if k in SERVER_ENV or k.startswith("LC_")}
        home = pwd.getpwuid(self.uid).pw_dir
        return {"user": self.uid, "group": self.gid, "extra_groups": [],
                "env": {**env, "HOME": home, "USER": self.name, "LOGNAME": self.name}}


# What of root's environment PostgreSQL's programs get when they run as another system user (LC_* too)
SERVER_ENV = frozenset({"PATH", "LANG", "LANGUAGE", "TZ", "TMPDIR"})


def check_reachable(path: Path, user: OsUser) -> None:
    """Every folder above ``path`` must let ``user`` through (x), or PostgreSQL cannot open its data folder."""
    if user.is_me:
        return
    groups = {user.gid} | {g.gr_gid for g in _groups_of(user.name)}
    for parent in [*reversed(path.parents)]:
        st = parent.stat()
        if st.st_uid == user.uid:
            ok = st.st_mode & stat.S_IXUSR
        elif st.st_gid in groups:
            ok = st.st_mode & stat.S_IXGRP
        else:
            ok = st.st_mode & stat.S_IXOTH
        if not ok:
            raise ClusterError(
                f"PostgreSQL runs as system user {user.name!r} (jlac was started as root), which cannot enter "
                f"{parent} (mode {stat.filemode(st.st_mode)}): run `chmod o+x {parent}` or set JLAC_WAREHOUSE "
                "to a folder it can reach")


def _groups_of(name: str):
    import grp

    return [g for g in grp.getgrall() if name in g.gr_mem]


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on now (for --port 0)."""
    wildcard = {"*": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1", "localhost": "127.0.0.1"}
    address = wildcard.get(host, host)
    with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET) as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class ServerConfig:
    """How serve-sql runs the cluster (each field has an environment variable or an option)."""

    host: str = "127.0.0.1"  # --host / JLAC_SQL_HOST: loopback unless configured
    port: int = 5433  # --port / JLAC_SQL_PORT
    tls_cert: Path | None = None  # JLAC_SQL_TLS_CERT
    tls_key: Path | None = None  # JLAC_SQL_TLS_KEY

    @classmethod
    def from_env(cls, host: str, port: int) -> ServerConfig:
        cert, key = os.environ.get("JLAC_SQL_TLS_CERT"), os.environ.get("JLAC_SQL_TLS_KEY")
        if bool(cert) != bool(key):
            raise SettingError("TLS needs both JLAC_SQL_TLS_CERT and JLAC_SQL_TLS_KEY")
        for var, value in (("JLAC_SQL_TLS_CERT", cert), ("JLAC_SQL_TLS_KEY", key)):
            if value and not Path(value).is_file():
                raise FileNotFoundError(f"{var}={value}: no such file")
        return cls(host, port, Path(cert) if cert else None, Path(key) if key else None)

    @property
    def listen_addresses(self) -> str:
        # The owner (loader) always connects to 127.0.0.1, so it is added to any address that does not cover it:
        # PostgreSQL's IPv6 sockets are IPv6-only ("::" and "::1" do not answer on 127.0.0.1), and 127.0.0.2 is
        # loopback but another address.
        hosts = [h.strip() for h in self.host.split(",")]
        if any(h in ("*", "0.0.0.0", "127.0.0.1", "localhost") for h in hosts):
            return self.host
        return f"127.0.0.1,{self.host}"


class LocalCluster:
    """The cluster folder under the warehouse folder; the same object for serve-sql and the publish hook."""

    def __init__(self, home: Path):
        self.root = home / "postgres"
        self.data = self.root / "data"
        self.secret = self.root / "owner.secret"
        self.log = self.root / "server.log"

    @property
    def initialized(self) -> bool:
        """Whether initdb made the cluster; ClusterError when this user may not look (another user's cluster: its
        data folder is 0700, and `jlac status` of any other user ended in a PermissionError; found by a QA pass)."""
        try:
            return (self.data / "PG_VERSION").exists() and self.secret.exists()
        except PermissionError as exc:
            raise ClusterError(f"the local cluster {self.root} is another user's ({why_denied(exc.filename)}); "
                               "only its owner can run `jlac serve-sql` or see its state there") from None

    def running_port(self) -> int | None:
        """Port of the running postmaster (from postmaster.pid), None when it is not running."""
        try:
            lines = (self.data / "postmaster.pid").read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (OSError, ValueError, IndexError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # alive, another user's process
        return port

    def target(self, port: int, reader: ReaderPolicy | None = None, dbname: str = DATABASE) -> Target:
        """Owner connection to the cluster's ``jlac`` database over loopback.

        ``reader`` is serve-sql's reader policy; without it (the publish hook, jlac status) the reader role is
        left as serve-sql set it up."""
        try:
            password = self.secret.read_text().strip()
        except OSError as exc:
            raise ClusterError(f"{self.secret}: cannot read the local cluster's owner password ({exc.strerror}); "
                               "run jlac as the user that started `jlac serve-sql`") from exc
        conninfo = f"host=127.0.0.1 port={port} dbname={dbname} user={OWNER} password={password}"
        return Target(conninfo, f"local cluster {self.data} (127.0.0.1:{port})",
                      reader or ReaderPolicy.from_env(), manage_reader=reader is not None)

    # --- creating and running (serve-sql) ----------------------------------------------------------

    def init(self, user: OsUser, bindir: Path) -> None:
        """initdb on first start: owner role with a generated password, scram-sha-256, UTF-8, byte-order collation
        (C) with UTF-8 character classes (``CTYPE``)."""
        self.root.mkdir(parents=True, exist_ok=True)
        check_reachable(self.root, user)
        if self.initialized:
            self._own(user)
            return
        if self.data.exists():
            shutil.rmtree(self.data)  # a first start that died half-way: nothing of value there yet
        password = secrets.token_urlsafe(32)
        pwfile = self.root / ".initdb-pw"
        pwfile.unlink(missing_ok=True)  # left by a start killed here; created anew, 0600 from its first byte
        with os.fdopen(os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as fh:
            fh.write(password + "\n")
        os.chown(pwfile, user.uid, user.gid)
        self.data.mkdir(mode=0o700)
        os.chown(self.data, user.uid, user.gid)
        try:
            proc = subprocess.run(
                [str(bindir / "initdb"), "-D", str(self.data), "-U", OWNER, f"--pwfile={pwfile}",
                 "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", f"--lc-ctype={CTYPE}",
                 "--no-instructions"],
                capture_output=True, text=True, timeout=300, cwd=self.root, **user.popen_args())
        finally:
            pwfile.unlink(missing_ok=True)
        if proc.returncode != 0:
            raise ClusterError(f"initdb of {self.data} failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
        fd = os.open(self.secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(password + "\n")

    def write_hba(self, user: OsUser, reader: str, tls: bool) -> None:
        """pg_hba.conf: the owner from loopback only; the reader from anywhere the server listens (TLS
        required off loopback when a certificate is configured); everyone else refused; scram-sha-256 always."""
        reader = reader_name(reader)  # a quote would end its quoted name here (QA pass)
        reader_line = "hostssl" if tls else "host"
        lines = [
            "# written by jlac serve-sql at each start; edits are overwritten",
            f"host    {DATABASE}  {OWNER}  127.0.0.1/32  scram-sha-256",
            f"host    {DATABASE}  {OWNER}  ::1/128       scram-sha-256",
            f"host    postgres  {OWNER}  127.0.0.1/32  scram-sha-256",  # to create the database
            f"host    {DATABASE}  \"{reader}\"  127.0.0.0/8   scram-sha-256",
            f"host    {DATABASE}  \"{reader}\"  ::1/128       scram-sha-256",
            f"{reader_line} {DATABASE}  \"{reader}\"  0.0.0.0/0     scram-sha-256",
            f"{reader_line} {DATABASE}  \"{reader}\"  ::/0          scram-sha-256",
        ]
        hba = self.data / "pg_hba.conf"
        hba.write_text("\n".join(lines) + "\n")
        os.chown(hba, user.uid, user.gid)

    def install_tls(self, user: OsUser, config: ServerConfig) -> None:
        """Copy the certificate and key into the data folder, owned by the server user (PostgreSQL checks it)."""
        for src, name in ((config.tls_cert, "server.crt"), (config.tls_key, "server.key")):
            dest = self.data / name
            shutil.copyfile(src, dest)
            os.chmod(dest, 0o600)
            os.chown(dest, user.uid, user.gid)

    def _own(self, user: OsUser) -> None:
        """Give the data folder to the server's user when someone else owns it: a cluster copied or restored as
        root (``cp -r``) is root's, and PostgreSQL, run as ``postgres``, then cannot read its own files."""
        if os.geteuid() != 0 or self.data.stat().st_uid == user.uid:
            return
        logging.getLogger(__name__).warning("%s belongs to uid %s: giving it to %s, the user PostgreSQL runs as",
                                         self.data, self.data.stat().st_uid, user.name)
        for path in [self.data, *self.data.rglob("*")]:
            os.lchown(path, user.uid, user.gid)

    def _rotate_log(self) -> None:
        """Keep the log bounded across starts: past ``LOG_ROTATE_BYTES`` it becomes ``server.log.1`` (the one before
        is dropped) and this start writes a new one."""
        try:
            if self.log.stat().st_size > LOG_ROTATE_BYTES:
                os.replace(self.log, self.log.with_name(self.log.name + ".1"))
        except FileNotFoundError:
            pass

    def server_args(self, bindir: Path, config: ServerConfig, reader: ReaderPolicy) -> list[str]:
        settings = {
            "listen_addresses": config.listen_addresses,
            "port": str(config.port),
            "unix_socket_directories": "",  # TCP only: the owner uses loopback, and socket paths have a length limit
            # the reader's limit, plus room for the loaders and for connections still authenticating (counted
            # before the role's limit is checked, so a burst would otherwise hit the reserved-slots refusal)
            "max_connections": str(reader.connection_limit + 50),
            "password_encryption": "scram-sha-256",
            "authentication_timeout": "10s",  # an unauthenticated connection is dropped soon
            "ssl": "on" if config.tls_cert else "off",
            "wal_level": "minimal",  # a copy rebuilt from DuckDB: COPY into fresh tables skips the WAL
            "max_wal_senders": "0",
            "temp_file_limit": "2GB",  # a runaway sort cannot fill the disk
            # a client gone mid-query (a closed BI tab) stops its query within seconds, not at the statement timeout
            "client_connection_check_interval": "5s",
            "log_line_prefix": "%m [%p] %u@%d ",
            # a reader's failed statement is the reader's to see, not the log's: PostgreSQL wrote its whole SQL after
            # the error (a reader sending 1 MB statements that fail grew the log 1 MB each, with nothing to rotate
            # it: found by a QA pass), and the error's DETAIL/CONTEXT lines too
            "log_min_error_statement": "panic",
            "log_error_verbosity": "terse",
            "log_connections": "off",
            "timezone": "UTC",
        }
        args = [str(bindir / "postgres"), "-D", str(self.data)]
        for key, value in settings.items():
            args += ["-c", f"{key}={value}"]
        return args

    def start(self, config: ServerConfig, reader: ReaderPolicy, timeout: float = 60) -> subprocess.Popen:
        """Create (first time) and start the cluster as a child process; return once it accepts connections."""
        reader_name(reader.user)  # JLAC_SQL_USER, before anything is made
        if not config.host.strip() or not all(h.strip() for h in config.host.split(",")):
            raise SettingError(f"--host / JLAC_SQL_HOST {config.host!r}: no address to listen on; e.g. 127.0.0.1, "
                               "0.0.0.0 (every IPv4 address) or a list: 127.0.0.1,192.168.1.5")
        bindir = pg_bindir()
        user = OsUser.for_cluster()
        self.init(user, bindir)
        if (port := self.running_port()) is not None:
            pid = (self.data / "postmaster.pid").read_text().split()[0]
            raise ClusterError(f"a PostgreSQL server already runs on {self.data} (port {port}, process {pid} in "
                               "postmaster.pid); is another `jlac serve-sql` running for this warehouse? If that "
                               "process is not PostgreSQL, remove postmaster.pid")
        self.write_hba(user, reader.user, tls=config.tls_cert is not None)
        if config.tls_cert:
            self.install_tls(user, config)
        # the log names readers' errors (what they asked for, in the error's words): the cluster's user's only, as
        # its data folder is (it was world-readable: a QA pass)
        self._rotate_log()
        fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with contextlib.suppress(OSError):  # one written before (another owner's: left as it is)
            os.chmod(self.log, 0o600)
        log = open(fd, "ab")  # noqa: SIM115 - handed to the child for its whole life
        log_start = log.tell()  # this start's lines: an older one's "Address already in use" is not this one's
        proc = subprocess.Popen(self.server_args(bindir, config, reader), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=self.root, preexec_fn=_die_with_parent,
                                **user.popen_args())
        log.close()
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    tail = self._log_tail(log_start)
                    if "Address already in use" in tail:
                        raise ClusterError(f"port {config.port} is in use (by another server): PostgreSQL for "
                                           f"{self.data} could not listen on {config.listen_addresses}. Stop that "
                                           "server or choose another port (--port or JLAC_SQL_PORT); its log "
                                           f"{self.log} ends: {tail}")
                    raise ClusterError(f"PostgreSQL did not start (exit {proc.returncode}); its log {self.log} "
                                       f"ends: {tail}")
                # Whatever answers on the port before our postmaster says it is ready is another server (it may
                # even take the owner password of a copied warehouse folder): connect only to our own.
                if not self._ready(proc.pid):
                    time.sleep(0.2)
                    continue
                self._check_listening(config, log_start)
                try:
                    with self.target(config.port, reader, dbname="postgres").connect(autocommit=True) as con:
                        self._check_own(con, config.port)
                        if not con.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
                            con.execute(f"CREATE DATABASE {DATABASE}")
                        return proc
                except ConnectionError as exc:
                    if "password authentication failed" in str(exc):  # up, but not for jlac: waiting cannot help
                        raise ClusterError(f"PostgreSQL at {self.data} refused the owner role {OWNER} with the "
                                           f"password in {self.secret} (changed by someone?): {exc}") from None
                    time.sleep(0.2)
            raise ClusterError(f"PostgreSQL did not accept connections within {timeout:.0f} s; "
                               f"log: {self._log_tail(log_start)}")
        except BaseException:
            stop(proc)  # a signal or a failed start: no postmaster left behind
            raise

    def _ready(self, pid: int) -> bool:
        """Whether postmaster.pid names ``pid`` (the postmaster just started) and says it accepts connections
        (line 8, "ready", written once it listens)."""
        try:
            lines = (self.data / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[0].strip() == str(pid) and lines[7].strip() == "ready"

    def _check_listening(self, config: ServerConfig, log_start: int) -> None:
        """PostgreSQL starts when one of its listen_addresses binds: an address the machine does not have (yet, at
        boot) or one another socket covers was announced as served while readers found nothing there (QA pass)."""
        failed = re.findall(r'could not create listen socket for "([^"]*)"', self._log_tail(log_start, None))
        if failed:
            raise ClusterError(
                f"PostgreSQL could not listen on {', '.join(dict.fromkeys(failed))} (of --host / JLAC_SQL_HOST "
                f"{config.host!r}, port {config.port}); serve-sql does not serve on fewer addresses than asked. Is "
                "that address this machine's (`ip addr`) and up (at boot: start serve-sql after "
                "network-online.target)? A list holding 0.0.0.0 or * needs no other IPv4 address. Its log "
                f"{self.log} ends: {self._log_tail(log_start)}")

    def _check_own(self, con, port: int) -> None:
        """The server that answered must run on this data folder, not another cluster that took the port."""
        served = con.execute("SHOW data_directory").fetchone()[0]
        if os.path.realpath(served) != os.path.realpath(self.data):
            raise ClusterError(f"port {port} is in use (by another server): the PostgreSQL answering on "
                               f"127.0.0.1:{port} runs on {served}, not on {self.data}; stop it or choose another "
                               "port (--port or JLAC_SQL_PORT)")

    def _log_tail(self, start: int = 0, chars: int | None = 1500) -> str:
        try:
            with open(self.log, "rb") as fh:
                fh.seek(start)
                text = fh.read().decode(errors="replace")
                return (text[-chars:] if chars else text).strip()
        except OSError:
            return "(no log)"


def ctype_note(con, root: Path) -> str | None:
    """What to do when the database on ``con`` has ASCII-only character classes (ctype C or POSIX: a cluster made
    by a jlac before ``CTYPE``, which keeps it), None otherwise. initdb's locale is the cluster's for good; the
    cluster under ``root`` is a copy of the published warehouse, so making it again is the way to the new one."""
    ctype = con.execute("SELECT datctype FROM pg_database WHERE datname = current_database()").fetchone()[0]
    if ctype.upper() not in ("C", "POSIX"):
        return None
    return (f"the serving copy's database has character type (LC_CTYPE) {ctype} (a cluster made by an older jlac): "
            "PostgreSQL's upper(), lower() and ILIKE leave accented letters as they are (ILIKE '%CURAÇAO%' does not "
            f"find 'Curaçao'; DuckDB does). To change that, stop serve-sql, remove {root} (a copy, loaded again from "
            f"the published warehouse) and start serve-sql again: the new cluster gets {CTYPE}")


def _die_with_parent() -> None:
    """In the child: if serve-sql dies without stopping it (kill -9), the postmaster gets SIGINT (fast shutdown)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGINT)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def stop(proc: subprocess.Popen, timeout: float = 30) -> int | None:
    """Fast shutdown (SIGINT: clients disconnected, a clean checkpoint), SIGQUIT if it does not stop in time."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGQUIT)
            proc.wait(timeout=10)
    return proc.returncode

"""Where the serving copy lives, and the reader role's privileges there.

Two kinds of target, one code path:

* a team's own PostgreSQL: ``JLAC_POSTGRES_URL`` is an owner connection (a role that may create schemas in
  that database and create or alter the reader role); no local cluster is started;
* the local cluster under the warehouse folder (``jlac.serving.cluster``), when ``jlac serve-sql`` runs it.

Security is the database's: the reader role (``JLAC_SQL_USER``, default ``jlac``) gets CONNECT on the
database, USAGE on the served schemas and SELECT on their tables, nothing else: no CREATE anywhere, no
temporary tables, no file access (that needs superuser or pg_write_server_files), transactions read-only
by default, a statement timeout, an idle-in-transaction timeout and a connection limit.
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from jlac.config import env_number
from jlac.errors import SettingError

SCHEMAS = ("marts", "figures", "meta")  # served, with the same names as in DuckDB
SEARCH_PATH = ", ".join(SCHEMAS)  # the reader role's, as PostgreSQL stores it
URL_ENV = "JLAC_POSTGRES_URL"
# Large-object functions that create or write one (see setup_reader).
LO_WRITERS = ("lo_creat(integer)", "lo_create(oid)", "lo_from_bytea(oid, bytea)", "lo_import(text)",
              "lo_import(text, oid)", "lo_put(oid, bigint, bytea)", "lowrite(integer, bytea)",
              "lo_truncate(integer, integer)", "lo_truncate64(integer, bigint)")
_UNIT_MS = {"ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000}
# Share of PostgreSQL's notification queue (8 GB on disk, pg_notify/) above which release_notify_queue acts: nothing
# of jlac's notifies, and a listener that reads keeps it near empty; 1 % is 80 MB held by a listener that does not.
NOTIFY_QUEUE_SHARE = 0.01
NOTIFY_IDLE_S = 5.0  # idle in its transaction this long: not a client between two statements of a transaction

log = logging.getLogger(__name__)


def _duration(var: str, default: str) -> str:
    """A duration for PostgreSQL, always with its unit: a bare number is seconds (as the defaults, 120s and 60s,
    read), where PostgreSQL would take it as milliseconds while jlac's own checks read seconds."""
    value = os.environ.get(var, default).strip()
    m = re.fullmatch(r"(\d+)\s*(ms|s|min|h)?", value)
    if not m:
        raise SettingError(f"{var}={value!r}: expected a duration such as 120s, 500ms or 5min (a number without a "
                           "unit is seconds; 0 turns the limit off)")
    number, unit = int(m.group(1)), m.group(2) or "s"
    if number * _UNIT_MS[unit] > 2**31 - 1:  # PostgreSQL's limit for these settings (about 24.8 days)
        raise SettingError(f"{var}={value!r}: longer than PostgreSQL's limit of 2147483647 ms (24 days)")
    return f"{number}{unit}"


@dataclass(frozen=True)
class ReaderPolicy:
    """The reader role and its limits (each field has an environment variable)."""

    user: str = "jlac"  # JLAC_SQL_USER
    password: str | None = None  # JLAC_SQL_PASSWORD: set on the role when given
    statement_timeout: str = "120s"  # JLAC_SQL_STATEMENT_TIMEOUT
    idle_in_transaction_timeout: str = "60s"  # JLAC_SQL_IDLE_IN_TRANSACTION_TIMEOUT
    connection_limit: int = 50  # JLAC_SQL_MAX_CONNECTIONS
    # how long the copy may lag the published warehouse before a swap disconnects the readers blocking it, within
    # their limits or not (readers taking turns on the tables held a publish off for good: a QA pass); 0: never
    max_stale: str = "15min"  # JLAC_SQL_MAX_STALE

    @classmethod
    def from_env(cls) -> ReaderPolicy:
        return cls(
            user=os.environ.get("JLAC_SQL_USER", "jlac").strip(),  # checked where serve-sql uses it (reader_name)
            password=os.environ.get("JLAC_SQL_PASSWORD") or None,
            statement_timeout=_duration("JLAC_SQL_STATEMENT_TIMEOUT", "120s"),
            idle_in_transaction_timeout=_duration("JLAC_SQL_IDLE_IN_TRANSACTION_TIMEOUT", "60s"),
            connection_limit=env_number("JLAC_SQL_MAX_CONNECTIONS", 50, minimum=1),
            max_stale=_duration("JLAC_SQL_MAX_STALE", "15min"),
        )


_ROLE = re.compile(r"[A-Za-z_][A-Za-z0-9_$.-]{0,62}")


def reader_name(name: str) -> str:
    """JLAC_SQL_USER as a role name pg_hba.conf and every client take as it is: letters, digits, _ $ . -, at most 63
    characters, not a name PostgreSQL or jlac keeps. A double quote ended its quoted name in pg_hba.conf (the server
    did not start: "could not load pg_hba.conf"; a crafted name could add a line of its own; found by a QA pass)."""
    name = name.strip()
    if not _ROLE.fullmatch(name):
        raise SettingError(f"JLAC_SQL_USER={name!r}: a reader role name takes letters, digits and _ $ . - (starting "
                           "with a letter or _), at most 63 characters; e.g. jlac or bi_reader")
    if name.lower().startswith("pg_") or name.lower() in ("postgres", "public", "jlac_owner"):
        raise SettingError(f"JLAC_SQL_USER={name!r}: PostgreSQL or jlac keeps that name for a role of its own; "
                           "choose another, e.g. jlac or bi_reader")
    return name


@dataclass(frozen=True)
class Target:
    """An owner connection to the database that holds the serving copy."""

    conninfo: str  # libpq connection string or URL of the owner
    description: str  # for messages: never contains the password
    reader: ReaderPolicy = field(default_factory=ReaderPolicy)
    # Whether a load (re)applies the reader role's settings. The local cluster's are serve-sql's to set: a
    # refresh running with another environment must not change its password, limits or timeouts.
    manage_reader: bool = True

    def connect(self, **kwargs) -> psycopg.Connection:
        """An owner connection; a refusal names the target (never the password)."""
        try:
            return psycopg.connect(self.conninfo, **{"connect_timeout": 10, **kwargs})
        except psycopg.OperationalError as exc:
            raise ServingUnavailable(f"PostgreSQL serving copy at {self.description} is unreachable: "
                                     f"{without_password(str(exc).strip(), self.conninfo)}") from exc
        except psycopg.ProgrammingError as exc:  # libpq cannot read the string: its message quotes the password
            raise SettingError(f"{URL_ENV} cannot be read as a connection string "
                               f"({without_password(str(exc).strip(), self.conninfo)}); expected a libpq URL, "
                               "postgresql://user:password@host:port/dbname, with any / @ : # ? or % in the password "
                               "percent-encoded, or a key=value string") from exc


class ServingUnavailable(ConnectionError):
    """The serving database cannot be reached (down, refusing, wrong owner password)."""


class ReaderRoleBusy(RuntimeError):
    """Another session kept the reader role locked (a write to it in an open transaction) past every attempt."""


def describe_url(url: str) -> str:
    """host:port/dbname as user, from a libpq URL or key=value string, without the password."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "JLAC_POSTGRES_URL (unparseable)"
    # a '/' in a URL's password (base64) makes libpq read the password as the port and the database: hidden too
    return without_password(f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '?')} "
                            f"as {info.get('user', '?')}", url)


# where a URL or key=value string may end a password that libpq misread (an unencoded delimiter inside it)
_DELIMITERS = re.compile(r"[/@:?#&='\\\s]+")
_KEYWORD_PASSWORD = re.compile(r"(?:^|\s)password\s*=\s*(.*?)(?=\s+\w+\s*=|\s*$)", re.S)


def _passwords(conninfo: str) -> list[str]:
    """What of ``conninfo`` is or may be the password, as a message could quote it, longest first: the password
    libpq reads, and read by hand, since libpq quotes a string it cannot read in its error and reads a malformed one
    otherwise (a '/' in a URL's password moved it into the port and the database): a key=value string's password up
    to the next ``key=``, else the string as a URL of any scheme or none (``postgresql+psycopg2://``, a typo
    ``postgresql:/``, ``user:pw@host``; ``jlac.http.credentials_in``); each whole, percent-decoded, and in the pieces
    a delimiter inside it splits it into. Pieces shorter than 3 characters are left out (replacing them would garble
    the message), a whole password of 2 characters is not."""
    from urllib.parse import unquote

    from jlac.http import credentials_in

    wholes: set[str] = set()
    try:
        wholes.add(psycopg.conninfo.conninfo_to_dict(conninfo).get("password") or "")
    except psycopg.ProgrammingError:
        pass
    if re.match(r"\s*\w+\s*=", conninfo):  # key=value
        for m in _KEYWORD_PASSWORD.finditer(conninfo):  # quoted or not, up to the next key=
            wholes.update((m.group(1), m.group(1).strip("'"), m.group(1).replace("\\", "")))
    else:
        wholes.update(credentials_in(conninfo))
    wholes |= {unquote(p) for p in wholes}
    pieces = {piece for p in wholes for piece in _DELIMITERS.split(p)}
    return sorted({p for p in wholes if len(p) >= 2} | {p for p in pieces if len(p) >= 3}, key=len, reverse=True)


def without_password(text: str, conninfo: str) -> str:
    """``text`` (a message about ``conninfo``) with anything that is or may be its password as ``***``."""
    for secret in _passwords(conninfo):
        text = text.replace(secret, "***")
    return text


def team_target() -> Target | None:
    """The team's server from JLAC_POSTGRES_URL, or None when it is not set."""
    url = os.environ.get(URL_ENV, "").strip()
    if not url:
        return None
    return Target(url, describe_url(url), ReaderPolicy.from_env())


def setup_reader(con: psycopg.Connection, reader: ReaderPolicy, lock_timeout: str = "2s", attempts: int = 5) -> None:
    """Create or update the reader role and its database-wide privileges (idempotent; owner connection).

    Schema and table grants come with each load (``jlac.serving.load``), since every load makes new tables.

    A reader session may write to its own role (``ALTER ROLE jlac PASSWORD ...`` in a transaction it keeps open):
    the role's row stays locked until that transaction ends, and every statement here would wait for it, holding the
    load (and the refresh's publish hook behind the loaders' lock) for as long as the session lives. So each
    statement waits at most ``lock_timeout``; then the reader sessions with a write in flight are disconnected and
    the whole setup tried again, ``attempts`` times in all, before ReaderRoleBusy.
    """
    for attempt in range(1, attempts + 1):
        try:
            with con.transaction():
                con.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(lock_timeout)))
                _setup_reader(con, reader)
            return
        except psycopg.errors.LockNotAvailable as exc:
            writers = _role_writers(con, reader.user)
            ended = [pid for pid, *_ in writers if _terminate(con, pid)]
            held = "; ".join(f"pid {pid} ({app or 'no application'}, {state} for {secs:.0f} s)"
                             for pid, app, state, secs in writers) or "none of the reader's sessions"
            log.warning("the reader role %s was locked by another session (%s): %s", reader.user, held,
                        f"disconnected {len(ended)}" if ended else "could not disconnect it")
            if attempt == attempts:
                raise ReaderRoleBusy(
                    f"the reader role {reader.user} stayed locked by another session's open transaction through "
                    f"{attempts} attempts of {lock_timeout} (sessions of {reader.user} with a write in flight: "
                    f"{held}); its settings were not applied") from exc
            if not ended:
                time.sleep(1)


def _role_writers(con: psycopg.Connection, user: str) -> list[tuple]:
    """The reader's sessions with a transaction id: sessions that wrote (the reader may write only to its own
    role), which is what can hold the role's row locked. pid, application, state, seconds in that state."""
    con.execute("SELECT pg_stat_clear_snapshot()")
    return con.execute(
        "SELECT pid, application_name, state, extract(epoch FROM clock_timestamp() - state_change) "
        "FROM pg_stat_activity WHERE usename = %s AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()",
        [user]).fetchall()


def _terminate(con: psycopg.Connection, pid: int) -> bool:
    """Disconnect a session; False when this role may not (a team server's owner without pg_signal_backend)."""
    try:
        with con.transaction():
            return bool(con.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0])
    except psycopg.errors.InsufficientPrivilege:
        return False


def _setup_reader(con: psycopg.Connection, reader: ReaderPolicy) -> None:
    role = sql.Identifier(reader.user)
    dbname = con.info.dbname
    me, superuser = con.execute("SELECT rolname, rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    exists = con.execute("SELECT rolsuper OR rolcreaterole OR rolreplication OR rolbypassrls FROM pg_roles "
                         "WHERE rolname = %s", [reader.user]).fetchone()
    if reader.user == me or (exists and exists[0]):
        # the settings below would turn an owner or administrator into the reader: a password every analyst
        # knows, read-only sessions, and (as the local cluster's owner) a cluster jlac can no longer enter
        what = "the owner role jlac loads with" if reader.user == me else "a role with administrative rights"
        raise SettingError(f"JLAC_SQL_USER={reader.user!r} is {what}; the reader must be a role of its own "
                           "(default jlac)")
    if not exists:
        con.execute(sql.SQL("CREATE ROLE {} LOGIN").format(role))
    # Only a superuser may name SUPERUSER, REPLICATION or BYPASSRLS at all, even to say NO; a team server's owner
    # with CREATEROLE cannot, and needs not: the role it created has none, and one that had any was refused above.
    attributes = ("LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT" if superuser
                  else "LOGIN NOCREATEDB NOCREATEROLE NOINHERIT")
    con.execute(sql.SQL("ALTER ROLE {} {} CONNECTION LIMIT {}").format(role, sql.SQL(attributes),
                                                                       sql.Literal(reader.connection_limit)))
    if reader.password:
        # the SCRAM verifier is computed here, so the password itself never reaches the server's logs
        verifier = con.pgconn.encrypt_password(reader.password.encode(), reader.user.encode(),
                                               b"scram-sha-256").decode()
        con.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(role, sql.Literal(verifier)))
    # Any role may change its own defaults (ALTER ROLE ... SET, also IN DATABASE, which wins, for any database):
    # jlac's are the only ones, put back at every call in every database (serve-sql checks them while it runs:
    # reader_drift, which reports a setting in any database).
    con.execute(sql.SQL("ALTER ROLE {} RESET ALL").format(role))
    databases = {dbname} | {d for (d,) in con.execute(
        "SELECT d.datname FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
        "JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname = %s", [reader.user]).fetchall()}
    for database in sorted(databases):
        con.execute(sql.SQL("ALTER ROLE {} IN DATABASE {} RESET ALL").format(role, sql.Identifier(database)))
    for name, value in (("default_transaction_read_only", "on"),
                        ("statement_timeout", reader.statement_timeout),
                        ("idle_in_transaction_session_timeout", reader.idle_in_transaction_timeout)):
        con.execute(sql.SQL("ALTER ROLE {} SET {} = {}").format(role, sql.Identifier(name), sql.Literal(value)))
    # Unqualified names find the served tables (a BI tool's table picker lists those on the search path: an
    # empty list with PostgreSQL's default "$user", public); a list of identifiers, not one quoted string.
    con.execute(sql.SQL("ALTER ROLE {} SET search_path = {}").format(
        role, sql.SQL(", ").join(sql.Identifier(s) for s in SCHEMAS)))
    # The database is jlac's: nobody else gets in, nobody creates temporary tables or schemas.
    db = sql.Identifier(dbname)
    con.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db))
    con.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, role))
    con.execute(sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
    # Large objects are the one write a read-only session can switch itself out of (SET
    # default_transaction_read_only = off, then lo_from_bytea: rows in pg_largeobject that outlive the session
    # and can fill the disk). In jlac's database nobody creates or writes them. Only the functions' owner (the
    # bootstrap superuser) can revoke: anyone else's REVOKE is a warning that changes nothing, so it is checked.
    for function in _lo_writers_open(con, reader.user):
        con.execute(sql.SQL("REVOKE EXECUTE ON FUNCTION pg_catalog.{} FROM PUBLIC").format(sql.SQL(function)))
    if still := _lo_writers_open(con, reader.user):
        listed = ", ".join(f"pg_catalog.{f}" for f in still)
        raise SettingError(
            f"the reader role {reader.user} could create large objects in database {dbname} (EXECUTE on {listed}): "
            f"only a superuser may revoke that here, and {me} is not one. As a superuser, connected to database "
            f"{dbname}, run once: REVOKE EXECUTE ON FUNCTION {listed} FROM PUBLIC; then load again")
    # Roles the reader might have been given elsewhere that read or write server files.
    for powerful in ("pg_read_server_files", "pg_write_server_files", "pg_execute_server_program"):
        member = con.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", [reader.user, powerful]).fetchone()[0]
        if member:
            con.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(powerful), role))


def release_notify_queue(con: psycopg.Connection, reader: ReaderPolicy, share: float | None = None,
                         idle_s: float | None = None) -> tuple[float, list[tuple]]:
    """Disconnect the reader's sessions that keep PostgreSQL's NOTIFY queue from emptying, once it is more than
    ``share`` (default ``NOTIFY_QUEUE_SHARE``) full; return the queue's usage and the sessions disconnected (pid,
    application, state, seconds in it). Owner connection, allowed to end the reader's sessions.

    Any session may LISTEN and NOTIFY (pg_notify too), read-only or not, and no privilege takes that away. The queue
    keeps each notification until every listening session has read it, and a session reads them only between
    transactions: a listener left idle in a transaction (its idle limit lifted, as any session may) let another
    session grow the queue towards its 8 GB on disk with pg_notify in a loop. Which sessions listen is not shown;
    one idle in a transaction for ``idle_s`` (default ``NOTIFY_IDLE_S``) is what can hold the queue that long, so
    above the share those of the reader are disconnected."""
    share = NOTIFY_QUEUE_SHARE if share is None else share
    idle_s = NOTIFY_IDLE_S if idle_s is None else idle_s
    usage = float(con.execute("SELECT pg_notification_queue_usage()").fetchone()[0])
    if usage <= share:
        return usage, []
    con.execute("SELECT pg_stat_clear_snapshot()")
    idle = con.execute(
        "SELECT pid, application_name, state, extract(epoch FROM clock_timestamp() - state_change) "
        "FROM pg_stat_activity WHERE usename = %s AND state LIKE 'idle in transaction%%' "
        "AND clock_timestamp() - state_change >= make_interval(secs => %s) AND pid <> pg_backend_pid()",
        [reader.user, idle_s]).fetchall()
    return usage, [(pid, app, state, float(secs)) for pid, app, state, secs in idle if _terminate(con, pid)]


def _lo_writers_open(con: psycopg.Connection, user: str) -> list[str]:
    """The large-object writing functions ``user`` may still execute (through PUBLIC or a grant of its own)."""
    return [f for f in LO_WRITERS
            if con.execute("SELECT has_function_privilege(%s, %s, 'EXECUTE')", [user, f"pg_catalog.{f}"]).fetchone()[0]]


def reader_drift(con: psycopg.Connection, reader: ReaderPolicy) -> list[str]:
    """What a session changed in the reader role since ``setup_reader`` (owner connection, superuser to see the
    password): PostgreSQL lets every role change its own password and session defaults, so a reader can lock the
    others out (a new password) or lift its limits for later sessions. Empty when nothing changed."""
    expected = {"default_transaction_read_only": "on", "statement_timeout": reader.statement_timeout,
                "idle_in_transaction_session_timeout": reader.idle_in_transaction_timeout,
                "search_path": SEARCH_PATH}
    rows = con.execute(
        "SELECT coalesce(d.datname, '(every database)'), s.setconfig FROM pg_db_role_setting s "
        "JOIN pg_roles r ON r.oid = s.setrole LEFT JOIN pg_database d ON d.oid = s.setdatabase "
        "WHERE r.rolname = %s", [reader.user]).fetchall()
    found = {}
    changes = []
    for where, config in rows:
        for item in config or []:
            name, _, value = item.partition("=")
            if where == "(every database)":
                found[name] = value
            else:
                changes.append(f"{name}={value} for database {where}")
    changes += [f"{name}={found.get(name, '(unset)')}" for name, value in expected.items()
                if found.get(name) != value]
    changes += [f"{name}={value}" for name, value in found.items() if name not in expected]
    if reader.password:
        try:
            stored = con.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", [reader.user]).fetchone()
        except psycopg.errors.InsufficientPrivilege:
            stored = None  # a team server's owner may not read pg_authid: the settings are still checked
        if stored is not None and not _verifies(stored[0], reader.password):
            changes.append("its password")
    return changes


def _verifies(verifier: str | None, password: str) -> bool:
    """Whether a stored SCRAM-SHA-256 verifier is the one of ``password`` (RFC 5802/7677)."""
    import base64
    import hashlib
    import hmac

    m = re.fullmatch(r"SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)", verifier or "")
    if not m:
        return False
    iterations, salt, stored_key = int(m.group(1)), base64.b64decode(m.group(2)), base64.b64decode(m.group(3))
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return hmac.compare_digest(hashlib.sha256(client_key).digest(), stored_key)

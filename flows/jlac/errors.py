"""Errors meant for people: each names the source, file, row or field and what was expected."""

import logging
from pathlib import Path


class JlacError(Exception):
    """Base class of every error jlac reports to its users.

    ``may_pass``: whether the same step tried again later may succeed (a server that stayed down through the HTTP
    retries). jlac's own verdicts (a checksum mismatch, a refused file, an HTTP 404) do not pass: retrying them
    only delays the message.

    Its message is text any UTF-8 writer takes (``unicode_clean``): a folder name that is not UTF-8 in a message
    made Prefect's client fail to send the run's final state (left Running, no alert) and the CLI blame the locale
    (found by a QA pass).
    """

    may_pass = False
    exit_code = 1  # the command's exit status when it ends on this error

    def __init__(self, *args) -> None:
        super().__init__(*(unicode_clean(a) if isinstance(a, str) else a for a in args))


def why_denied(path: str | Path) -> str:
    """What stops this user at ``path`` (a PermissionError's file): the first folder above it they cannot enter, or the
    file itself, with its mode and owner and what to do. A folder of another user's warehouse only said "Permission
    denied: <a file inside it>", naming neither the folder that stops them nor why (found by a QA pass)."""
    import os
    import stat

    path = Path(path)
    blocking, need = path, "read or write"
    for folder in reversed(path.parents):
        if folder.is_dir() and not os.access(folder, os.X_OK):
            blocking, need = folder, "enter"
            break
    try:
        st = blocking.stat()
        how = f"mode {stat.filemode(st.st_mode)}, owner uid {st.st_uid}, group gid {st.st_gid}"
    except OSError:
        how = "its mode unknown"
    return (f"this user (uid {os.geteuid()}) may not {need} {blocking} ({how}): ask its owner for access, or point "
            "the JLAC_* setting that names it at a folder of your own")


def unicode_clean(text: str) -> str:
    """``text`` as any UTF-8 writer (a file, DuckDB, a terminal) takes it: the bytes of a file name that is not
    UTF-8 (Python's surrogate escapes, U+DC80-U+DCFF) written as ``\\xff``, any other lone surrogate as ``\\udNNN``.
    Such a name in a refused run's message, kept in the run ledger, failed every later publish (found by a QA
    pass)."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate outside the escapes' range
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def unicode_clean_all(value):
    """``unicode_clean`` applied to every str in a JSON-like value (dict keys, lists, nested)."""
    if isinstance(value, str):
        return unicode_clean(value)
    if isinstance(value, dict):
        return {unicode_clean_all(k): unicode_clean_all(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [unicode_clean_all(v) for v in value]
    return value


class SnapshotError(JlacError):
    """A snapshot is missing, incomplete, or does not match its manifest."""


class ParseError(JlacError):
    """A raw file does not have the layout its parser expects."""


class ValidationFailed(JlacError):
    """A Great Expectations suite failed; nothing from that run is published."""

    def __init__(self, message: str, report_path=None):
        super().__init__(message)
        self.report_path = report_path


class SettingError(JlacError, ValueError):
    """An environment variable holds a value jlac cannot use; the message names the variable and what it takes."""


class ModelError(JlacError):
    """A SQL model failed to build."""


class RefreshBusy(JlacError):
    """Another refresh holds the warehouse's refresh lock: nothing was tried. Exit status 75 (sysexits' EX_TEMPFAIL,
    "try again later"), so a cron wrapper tells a skipped run from a failed one (both were 1: found by a QA pass)."""

    exit_code = 75


# Marks a ParseError that no parser check caught: the mutation tests treat it as a defect to fix.
UNEXPECTED = "parser failed unexpectedly"


def is_interrupt(exc: BaseException) -> bool:
    """Ctrl-C or a stop signal (SIGTERM from systemd or Prefect): ``KeyboardInterrupt``, Prefect's
    ``TerminationSignal``, or as DuckDB raises either when it arrives during a query, ``RuntimeError('Query
    interrupted')`` or ``duckdb.InterruptException``. Not a data error: never blame a file."""
    if isinstance(exc, KeyboardInterrupt):
        return True
    if type(exc).__name__ in ("InterruptException", "TerminationSignal"):  # DuckDB's; Prefect's SIGTERM handler's
        return True
    return isinstance(exc, RuntimeError) and str(exc) == "Query interrupted"


def no_space_left(exc: BaseException, what: str, where: Path) -> JlacError | None:
    """A full disk while writing ``what`` into ``where`` (an OSError, or DuckDB's IOException saying so), as one line
    naming the folder; None for any other error. A full parse cache was "parser failed unexpectedly" and blamed the
    source, whose file was fine (found by a QA pass)."""
    import errno

    if not ((isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or "No space left on device" in str(exc)):
        return None
    return JlacError(f"no space left on the device of {where} while writing {what}: free space there (or set "
                     "JLAC_CACHE to a folder with room)")


def _about_a_file(exc: BaseException) -> bool:
    """An operating-system error naming its file (a snapshot file without read permission, a folder that cannot be
    written): its message, the reason and the path, says it all; two Prefect tracebacks of 120 lines came with it
    (found by a QA pass). With debug logging (`jlac -v`) the traceback is kept."""
    return isinstance(exc, OSError) and exc.filename is not None and \
        not logging.getLogger().isEnabledFor(logging.DEBUG)


class _NoTracebackForJlacErrors(logging.Filter):
    """Prefect logs a failed task or flow with its traceback; for a jlac error (or an OS error naming its file) the
    message says it all, and a stop (Ctrl-C, SIGTERM: DuckDB's "Query interrupted" fails the task it arrived in) is
    no error of the code. A task
    that ends Failed without an exception (a validate task whose checks failed) was logged with 'NoneType: None'."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if record.exc_info and (exc is None or isinstance(exc, JlacError) or is_interrupt(exc) or _about_a_file(exc)):
            record.exc_info = None
            record.exc_text = None
        return True


def quiet_jlac_tracebacks() -> None:
    """Bad input or a stop ends in a message, not a traceback: Prefect's failed task and flow lines lose theirs for
    JlacErrors and interruptions. Installed by the CLI and by the refresh flow itself (a served or a worker's run
    has no CLI: its log carried whole tracebacks, found by a QA pass)."""
    for name in ("prefect.task_runs", "prefect.flow_runs"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _NoTracebackForJlacErrors) for f in logger.filters):
            logger.addFilter(_NoTracebackForJlacErrors())

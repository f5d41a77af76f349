"""Errors meant for people: each names the source, file, row or field and what was expected."""


class JlacError(Exception):
    """Base class of every error jlac reports to its users.

    ``may_pass``: whether the same step tried again later may succeed (a server that stayed down through the HTTP
    retries). jlac's own verdicts (a checksum mismatch, a refused file, an HTTP 404) do not pass: retrying them
    only delays the message.
    """

    may_pass = False


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

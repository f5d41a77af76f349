"""The ``jlac`` command's entry point.

Loading the command line's modules takes about a second before ``jlac.cli.main`` can handle anything; a Ctrl-C in
that second ends as a Ctrl-C during a command does, one line and status 130, not a Python traceback."""

from __future__ import annotations

import sys


def main() -> None:
    """Load the command line, then run it (``jlac.cli.main``)."""
    # messages never fail on a character stderr's encoding lacks (PYTHONIOENCODING=ascii, a path with ñ): written
    # escaped; stdout, which may be data (`jlac sql -f csv`), is left strict and its failure named (jlac.cli.main)
    if hasattr(sys.stderr, "reconfigure"):
        try:
            sys.stderr.reconfigure(errors="backslashreplace")
        except (ValueError, OSError):
            pass
    try:
        from jlac.cli import main as run
    except KeyboardInterrupt:
        from jlac import stops

        stops.ignore()  # exiting: a second Ctrl-C must not cut the line short
        print("jlac: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    run_to_exit(run)


def run_to_exit(run) -> None:
    """``run()``, the whole command; once it ends stopped (status 130 or 143), later stops are ignored. Ctrl-C
    pressed again (or `timeout -s INT`, which signals the command and then its process group) landed in the
    interpreter's shutdown and printed a KeyboardInterrupt traceback from ``threading`` after the one line, or ended
    the process by the signal (found by a flaky test)."""
    _OWN_PROCESS.append(True)
    try:
        run()
    except SystemExit as exc:
        if exc.code in (130, 143):
            from jlac import stops

            stops.ignore()
        raise


_OWN_PROCESS: list[bool] = []  # run_to_exit runs the command: the process is the jlac command's own


def owns_the_process() -> bool:
    """The command runs as the process's own (``run_to_exit``), not called from other Python code (a test's
    CliRunner): it may then change the process's signal handling for good as it exits."""
    return bool(_OWN_PROCESS)


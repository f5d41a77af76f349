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
        print("jlac: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    run()

"""The terminal's log lines: an error message repeated by the lines after it is shown once (jlac.console_log)."""

from __future__ import annotations

import io
import logging

from jlac.console_log import AS_ABOVE, RepeatsElided

MESSAGE = ("no snapshot found under /tmp/wh/snapshots (no such folder), /typo (no such folder) of imf-dots, which "
           "every build needs: set JLAC_MIRROR (or JLAC_SNAPSHOTS) to a folder holding imf-dots")


def _lines(*records: tuple[int, str]) -> list[str]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RepeatsElided("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("jlac.test_console_log")
    logger.propagate, logger.handlers = False, [handler]
    logger.setLevel(logging.DEBUG)
    try:
        for level, text in records:
            logger.log(level, text)
    finally:
        logger.handlers = []
    return stream.getvalue().splitlines()


def test_a_failed_runs_message_is_whole_once_then_elided():
    lines = _lines(
        (logging.ERROR, f"Task run failed with exception: SnapshotError({MESSAGE!r})"),
        (logging.ERROR, f"Finished in state Failed('Task run encountered an exception SnapshotError: {MESSAGE}')"),
        (logging.ERROR, f"Encountered exception during execution: SnapshotError({MESSAGE!r})"),
        (logging.INFO, f"Finished in state Failed('Flow run encountered an exception: SnapshotError: {MESSAGE}')"),
    )
    assert MESSAGE in lines[0]
    assert [MESSAGE in line for line in lines[1:]] == [False, False, False]
    assert lines[1].endswith(f"Task run encountered an exception SnapshotError: {AS_ABOVE}')")
    # whole words: the line keeps "execution: " though "exception: SnapshotError(" came before
    assert lines[2] == f"ERROR jlac.test_console_log: Encountered exception during execution: {AS_ABOVE}')"
    assert lines[3].endswith(f"SnapshotError: {AS_ABOVE}')")


def test_short_repeats_and_lines_after_an_info_line_stay_whole():
    other = "imf-dots 2025-06-30: the suite failed on reporter 'Euro Area' " * 2  # 126 characters
    lines = _lines(
        (logging.INFO, f"loaded {other}"),  # an info line is not remembered
        (logging.WARNING, f"again {other}"),
        (logging.WARNING, "source imf-dots failed"),  # repeats "imf-dots": short, kept
    )
    assert other in lines[1] and lines[2].endswith("source imf-dots failed")

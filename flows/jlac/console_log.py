"""The command line's log lines on the terminal: a long passage a warning or error line already showed is not shown
in full again.

A failed refresh printed its one error message six times, each time whole: the task's failure, its final state, the
flow's exception, the alert (or the note that none was sent) and the flow's final state, before the command's own
last line. Prefect's run log (its API, the UI) keeps every line whole; only the terminal is spared the repeats.
"""

from __future__ import annotations

import logging
from collections import deque
from difflib import SequenceMatcher

AS_ABOVE = "[…as above]"
MIN_PASSAGE = 80  # characters: a shorter repeat (a run's name, a source) stays; an error message is longer


class RepeatsElided(logging.Formatter):
    """A formatter that replaces, in a line, each passage of ``MIN_PASSAGE`` characters or more (whole words) that one
    of the last warning or error lines showed, with ``[…as above]``."""

    def __init__(self, fmt: str | None = None, datefmt: str | None = None, keep: int = 8) -> None:
        super().__init__(fmt, datefmt)
        self._said: deque[tuple[str, frozenset[str]]] = deque(maxlen=keep)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        shown = text
        for earlier, windows in self._said:
            shown = _elide(shown, earlier, windows)
        if record.levelno >= logging.WARNING and len(text) <= MAX_REMEMBERED:
            self._said.append((text, _windows(text)))
        return shown


WINDOW = MIN_PASSAGE // 2
MAX_REMEMBERED = 20_000  # characters: a longer line (a traceback at -v) is not compared with later ones


def _windows(text: str) -> frozenset[str]:
    """Every ``WINDOW``-character piece of ``text``: a line shares a passage with it only if it holds one of them."""
    return frozenset(text[i:i + WINDOW] for i in range(len(text) - WINDOW + 1))


def _elide(text: str, earlier: str, windows: frozenset[str]) -> str:
    """``text`` with every passage of it that ``earlier`` holds too (``MIN_PASSAGE`` characters or more) elided;
    ``windows``: ``_windows(earlier)``.

    A passage of ``MIN_PASSAGE`` characters holds a piece of ``text`` starting at a multiple of ``WINDOW // 2``: a line
    none of whose such pieces ``earlier`` holds is returned at once (a refresh logs hundreds of dbt lines; comparing
    each whole with an error of 2,400 characters took 3 ms)."""
    if not any(text[i:i + WINDOW] in windows for i in range(0, len(text) - WINDOW + 1, WINDOW // 2)):
        return text
    while True:
        match = SequenceMatcher(None, text, earlier, autojunk=False).find_longest_match()
        start, end = match.a, match.a + match.size
        # whole words only: "execution: X" after "exception: X" keeps "execution: "; punctuation at either end stays
        while start < end and 0 < start and text[start - 1].isalnum() and text[start].isalnum():
            start += 1
        while start < end and not text[start].isalnum():
            start += 1
        while end > start and end < len(text) and text[end].isalnum() and text[end - 1].isalnum():
            end -= 1
        while end > start and not text[end - 1].isalnum():  # closing quotes and brackets stay
            end -= 1
        if end - start < MIN_PASSAGE:
            return text
        text = text[:start] + AS_ABOVE + text[end:]


def install() -> None:
    """Give the root logger's console handler (``logging.basicConfig``'s) the eliding formatter, same format. Not a
    subclass's: a test runner's capture handler is a StreamHandler too, and must see every line whole."""
    for handler in logging.getLogger().handlers:
        if type(handler) is logging.StreamHandler and not isinstance(handler.formatter, RepeatsElided):
            fmt = handler.formatter
            handler.setFormatter(RepeatsElided(fmt._fmt if fmt else None, fmt.datefmt if fmt else None))

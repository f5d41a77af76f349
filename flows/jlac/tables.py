"""Tables that fit the terminal without breaking a value across lines.

Found by a QA pass: at 80 columns rich wrapped every cell of `jlac status` and `jlac revisions` mid-word
("unchang/ed", run ids split, 12,622,882,327 as "12,/622/,88..." reading as separate numbers). Here numbers, ids,
dates and single-word statuses never wrap; only free-text columns do, and when the terminal is too narrow for that,
less important columns are left out (and said so) rather than any value broken.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.table import Table

FREE_MIN = 10  # the narrowest a free-text column gets, wrapped at words


def left_out(dropped: Sequence[str], width: int, shows: str) -> str:
    """The line that says which columns a narrow terminal left out, and what shows them."""
    return f"{', '.join(dropped)}: left out to fit {width} columns; {shows} shows them"


def fitted(console: Console, headers: Sequence[str], rows: Sequence[Sequence], *, free: Sequence[str] = (),
           drop: Sequence[str] = (), title: str | None = None) -> tuple[Table, list[str]]:
    """A compact table (as `jlac sources`) of ``rows`` (one value, str or rich Text, per header) whose cells never
    wrap, except those of the ``free`` columns (wrapped at words). Where the console is narrower than that table
    (a terminal, or COLUMNS), the columns named in ``drop`` (those it has) are left out, in that order, until it
    fits; narrower still, values fold as rich's default has it (rather than be cut short). Returns the table and the
    headers left out, for the caller to say so."""
    # piped or redirected, a table is printed as wide as its content (printing.show), COLUMNS or not: nothing is left
    # out there (COLUMNS=60 left columns out of piped output that was then printed 111 wide: found by a QA pass)
    bounded = console.is_terminal
    keep, dropped = list(headers), []
    for name in (None, *drop):
        if name not in keep and name is not None:  # named twice, or a column this table does not have
            continue
        if name is not None:
            keep.remove(name)
            dropped.append(name)
        probe = _build(headers, rows, keep, free, None, probe=True)
        # measured as if unbounded: measure() at the console's width says the width rich would squeeze it to
        if not bounded or console.measure(probe, options=console.options.update_width(10**5)).maximum <= console.width:
            return _build(headers, rows, keep, free, title, probe=False), dropped
    return _build(headers, rows, keep, headers, title, probe=False), dropped  # all may fold: no digit is lost


def _longest_word(value) -> str:
    """The widest run of a free-text cell that wrapping at spaces cannot break (at least FREE_MIN wide)."""
    words = str(getattr(value, "plain", value)).split()
    return "x" * max([FREE_MIN, *(len(w) for w in words)])


def _build(headers, rows, keep, free, title, *, probe: bool) -> Table:
    # probe: each free-text cell as wide as its longest word, so the measured width is what the table needs at the
    # least without a word broken (a flag's 27-character timestamp was folded in a 10-wide column: QA pass)
    table = Table(title=title, box=box.SIMPLE_HEAD, padding=0, show_edge=False)
    for header in keep:
        table.add_column(header, no_wrap=header not in free, overflow="fold")
    index = [headers.index(h) for h in keep]
    for row in rows:
        table.add_row(*(_longest_word(row[i]) if probe and headers[i] in free else row[i] for i in index))
    return table

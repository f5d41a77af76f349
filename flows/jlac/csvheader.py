"""The header line of a CSV file checked against the names a parser expects, naming the first column that differs."""

from __future__ import annotations

import csv
from collections.abc import Callable

from jlac.errors import ParseError


def header_cells(line: str) -> list[str]:
    """The cells of a CSV header line (BOM, line ending and spaces around cells dropped), read as a CSV reader
    reads them: a quoted cell may hold a comma or a doubled quote, so it is one cell, as DuckDB's reader sees it."""
    row = next(csv.reader([line.lstrip("\ufeff").strip()], skipinitialspace=True), [])
    return [c.strip() for c in row]


def april_as_apr(name: str) -> str:
    """MOF's header name with April spelt ``Apr``: its files up to 2016 spell it ``Apl`` (``Value-Apl``)."""
    return name.replace("-Apl", "-Apr")


def check_header(line: str, expected: list[str], label: str, hint: str,
                 normalise: Callable[[str], str] = lambda name: name) -> list[str]:
    """Check a header line against ``expected`` (each cell passed through ``normalise`` first, e.g. a spelling the
    publisher also uses) and return its names as the file spells them; else a ParseError naming ``label``, the
    first column that differs and ``hint`` (what the file may be instead)."""
    found = header_cells(line)
    normalised = [normalise(c) for c in found]
    if normalised != expected:
        diff = next((i for i, (a, b) in enumerate(zip(normalised, expected, strict=False)) if a != b),
                    min(len(found), len(expected)))
        raise ParseError(
            f"{label}: header column {diff + 1} is {found[diff] if diff < len(found) else 'missing'!r}, expected "
            f"{expected[diff] if diff < len(expected) else 'no more columns'!r} ({len(found)} columns, expected "
            f"{len(expected)}); {hint}"
        )
    return found

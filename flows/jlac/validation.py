"""Great Expectations validation of raw batches, where they live (the new warehouse being built).

Each source has a checks module ``jlac/checks/<module>.py`` with
``checks(source, snapshot) -> list[Check]``. A Check is a SQL query over the build warehouse
(default: the whole raw table) and the GX expectations its rows must meet.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Check:
    """A set of GX expectations over the rows of one query in the build warehouse."""

    expectations: list
    query: str | None = None  # default: SELECT * FROM raw.<table>
    name: str = "all rows"
    index_columns: tuple[str, ...] = field(default_factory=tuple)  # name failing rows in the report

"""Helpers shared by the sources' Great Expectations suites (each one is ``jlac/sources/<table>/checks.py``)."""

from __future__ import annotations

import great_expectations as gx

from jlac.sources import Source


def schema_expectation(source: Source):
    """The raw table has exactly the declared columns plus the snapshot columns the core adds."""
    return gx.expectations.ExpectTableColumnsToMatchSet(
        column_set=sorted({c.name for c in source.columns} | {"snapshot_id", "vintage"}), exact_match=True
    )


def unmapped_names_query(source: Source, tag: str, column: str) -> str:
    """Rows whose country name maps to nothing, with the name in column ``unmapped_name``."""
    return (
        f"SELECT r.*, CASE WHEN m.name IS NULL THEN r.{column} END AS unmapped_name "
        f"FROM {source.raw_table} AS r LEFT JOIN staging.country_name_map AS m "
        f"ON m.source = '{tag}' AND m.name = r.{column}"
    )


def violations_check(name: str, query: str):
    """A check whose ``query`` lists the rows that break a rule (e.g. keys seen twice), expected to list none.

    One pass over the query, where a column expectation makes two; a failure shows the first rows it lists
    (``jlac.validation.Check.violations``).
    """
    from jlac.validation import Check

    return Check(name=name, query=query, violations=True,
                 expectations=[gx.expectations.ExpectTableRowCountToEqual(value=0)])

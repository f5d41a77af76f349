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

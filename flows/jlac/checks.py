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


def one_country_two_names_query(source: Source, tag: str, column: str, key: list[str], value: str) -> str:
    """Each ``key`` (without the name) in which two names of ``column`` map to one country (tag ``tag``), with the
    names, their values and their places: a violations check's query.

    A grain check on the name cannot see it: 'Mexico' and 'MEXICO' in one year and flow are two keys, and both became
    MEX in staging, where the facts' grain test then stopped the build naming only (MEX, export, 2024) (found by a
    regression audit)."""
    cols = ", ".join(f"r.{k}" for k in key)
    return (
        f"SELECT {cols}, m.iso3 AS country, string_agg(DISTINCT r.{column}, ' / ' ORDER BY r.{column}) AS names, "
        f"string_agg(r.{column} || ' = ' || coalesce(CAST(r.{value} AS VARCHAR), 'NULL') || ' (' || r.file || "
        f"' row ' || r.row_number || ')', '; ' ORDER BY r.file, r.row_number) AS rows "
        f"FROM {source.raw_table} AS r JOIN staging.country_name_map AS m "
        f"ON m.source = '{tag}' AND m.name = r.{column} "
        f"WHERE m.iso3 IS NOT NULL GROUP BY {cols}, m.iso3 HAVING count(DISTINCT r.{column}) > 1 "
        f"ORDER BY {cols}, country"
    )


def violations_check(name: str, query: str):
    """A check whose ``query`` lists the rows that break a rule (e.g. keys seen twice), expected to list none.

    One pass over the query, where a column expectation makes two; a failure shows the first rows it lists
    (``jlac.validation.Check.violations``).
    """
    from jlac.validation import Check

    return Check(name=name, query=query, violations=True,
                 expectations=[gx.expectations.ExpectTableRowCountToEqual(value=0)])


def repeated_keys_query(rows: str, key: list[str], also: str = "") -> str:
    """SQL listing each key of ``rows`` that occurs more than once, with ``rows_per_key`` (and the ``also``
    aggregates, e.g. the lowest and highest value of a conflict): the query of a grain check.

    Two passes: the rows are grouped by one 64-bit hash of the key first, then only the rows of hashes seen twice
    by the key itself. Grouping millions of rows by text keys cost twice as long (MOF HS-9, 5.7 M rows: 0.9-1.1 s ->
    0.4-0.5 s). Every repeated key makes its hash repeat, so none is missed; a collision only sends more rows to
    the second pass. Not for an aggregating view, which the second pass would compute again.
    """
    cols = ", ".join(key)
    # a subquery, not a CTE: GX takes a query only if it starts with SELECT
    return (f"SELECT {cols}, count(*) AS rows_per_key{', ' + also if also else ''} FROM ({rows}) "
            f"WHERE hash({cols}) IN (SELECT hash({cols}) AS key_hash FROM ({rows}) GROUP BY key_hash "
            f"HAVING count(*) > 1) GROUP BY ALL HAVING count(*) > 1")

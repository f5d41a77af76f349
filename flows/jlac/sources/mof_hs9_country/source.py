"""Japan MOF trade by HS 9-digit commodity x partner country x month (品別国別表), exports and imports.

MOF's commodity-by-country CSV layout (e-Stat file downloads, and what ``jlac fetch mof-hs9-country`` writes from
the e-Stat API): ``Exp or Imp`` (1 exports, 2 imports), ``Year``, ``HS`` (quoted with apostrophes,
``'000000011'``), ``Country`` (MOF 3-digit code, see ``japan-customs-country-codes``), ``Unit1``, ``Unit2``,
then quantity 1, quantity 2 and value for the year and for each month (thousand yen). It is the layout of
``mof-hs9-imports`` with ``Country`` after ``HS``.

The full history is millions of wide rows, so this source is *partitioned*: every CSV is parsed on its own
into a typed Parquet partition (cached on the file's sha256 and this parser's code), and ``raw.mof_hs9_country``
is a view over the partitions (see ``jlac.partitions``). A new month re-parses only the files that changed.
"""

from __future__ import annotations

import duckdb

from jlac import sqltext, textfiles
from jlac.csvheader import april_as_apr, check_header
from jlac.errors import ParseError
from jlac.snapshots import Snapshot
from jlac.sources import Column, Source

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
HEADER = ["Exp or Imp", "Year", "HS", "Country", "Unit1", "Unit2", "Quantity1-Year", "Quantity2-Year",
          "Value-Year"] + [f"{kind}-{m}" for m in MONTHS for kind in ("Quantity1", "Quantity2", "Value")]
# Column names and types the CSV is read with (by position, after the header was checked by name).
_READ = {"exp_or_imp": "INTEGER", "year": "INTEGER", "hs": "VARCHAR", "country": "VARCHAR", "unit1": "VARCHAR",
         "unit2": "VARCHAR", "quantity1_year": "BIGINT", "quantity2_year": "BIGINT", "value_year": "BIGINT"}
for _i in range(1, 13):
    _READ |= {f"quantity1_m{_i:02d}": "BIGINT", f"quantity2_m{_i:02d}": "BIGINT", f"value_m{_i:02d}": "BIGINT"}
MONTH_COLUMNS = [c for c in _READ if "_m" in c]
NUMBERS = [c for c, kind in _READ.items() if kind == "BIGINT"]


def data_files(snapshot: Snapshot) -> list[str]:
    """The CSV files of a snapshot (each becomes one partition)."""
    return sorted(f.path for f in snapshot.files if f.path.lower().endswith(".csv"))


def _whole_numbers(names: dict[str, str], hs: str, country: str) -> str:
    """An SQL condition over a line whose numbers were read as DOUBLE: true when every one is whole, else an error
    naming the first that is not (as the file's header names it: ``names``), its value and the line's HS code and
    partner (``hs``, ``country``: SQL). Read as BIGINT, DuckDB rounded '558.4' to 558 without a word (found by a QA
    pass); MOF's values (thousand yen) and quantities have no decimals (none in the 126,887 lines of the mirror's
    mof-hs9-imports). Reading DOUBLE and this check cost about 12 % of the parse (2 generated years: 0.74 s ->
    0.83 s)."""
    q = [sqltext.ident(names[c]) for c in NUMBERS]
    bad = [f"{x} <> trunc({x}) OR abs({x}) >= 9.2e18" for x in q]  # a fraction, or beyond BIGINT
    first = " ".join(f"WHEN {b} THEN {sqltext.literal(names[c] + ' is ')} || {x}"
                     for c, x, b in zip(NUMBERS, q, bad, strict=True))
    return (f"CASE WHEN {' OR '.join(bad)} THEN error((CASE {first} END) || ' on the line of HS ' || "
            f"coalesce({hs}, '?') || ', partner ' || coalesce({country}, '?') || ': expected a whole number (MOF "
            "publishes thousand yen and quantities without decimals)') ELSE true END")


def _trade_months(q: dict[str, str]) -> str:
    """SQL: the line's months with trade (a value or a quantity that is not 0) as bits 1-12 of a number.

    The monthly fact is one row per such month. With the months' test done once here, a query of the fact that reads
    no value (a count, a grain or key test, one partner's months) reads this column and the keys instead of the 36
    month columns: the dbt tests of a 38-year build read the fact about 5 times faster (1.7 s -> 0.16 s of CPU for a
    count of its 47 M rows)."""
    bits = " + ".join(
        f"CASE WHEN {q[f'value_m{i:02d}']} <> 0 OR {q[f'quantity1_m{i:02d}']} <> 0 OR {q[f'quantity2_m{i:02d}']} <> 0 "
        f"THEN {1 << i} ELSE 0 END" for i in range(1, 13))
    return f"CAST({bits} AS SMALLINT)"


def parse_file(snapshot: Snapshot, rel: str, con: duckdb.DuckDBPyConnection) -> str:
    """One CSV as a SELECT of typed wide rows: one row per flow, year, HS-9 line and partner, with its months.

    Returned as SQL text, not a relation: DuckDB runs ``COPY (<select>) TO parquet`` in parallel, which it does
    not for a registered Python relation (twice as slow here).
    """
    label = f"mof-hs9-country {snapshot.id}/{rel}"
    path = snapshot.path(rel)
    # empty or an HTML page: refused naming the file; another encoding is found by DuckDB's reader as it reads
    # (explain_read_error then names the line): decoding ~1 GB of history in Python first cost ~0.7 s
    textfiles.check_head(path, label)
    with path.open(encoding="utf-8") as fh:
        found = check_header(fh.readline(), HEADER, label, "not MOF's commodity-by-country layout (Country after HS)?",
                             normalise=april_as_apr)
    names = dict(zip(_READ, found, strict=True))  # ours -> the file's
    # Typed read: a non-numeric cell fails in DuckDB's reader, which names the line and the column (as the file's
    # header names it). The dialect is MOF's, stated, not sniffed: sniffing each file (a sample of 20,480 lines)
    # cost two thirds of reading it (76 files of 38 years: 5.6 s of reading -> 3.1 s without the sniffer).
    columns = "{" + ", ".join(f"{sqltext.literal(names[c])}: '{'DOUBLE' if c in NUMBERS else kind}'"
                              for c, kind in _READ.items()) + "}"
    q = {c: sqltext.ident(names[c]) for c in _READ}
    hs, country = f"trim({q['hs']}, '''')", f"trim({q['country']})"
    return f"""
        SELECT {sqltext.literal(rel)} AS file, {q['exp_or_imp']} AS exp_or_imp,
               CASE {q['exp_or_imp']} WHEN 1 THEN 'export' WHEN 2 THEN 'import' END AS flow,
               {q['year']} AS year, {hs} AS hs9, {country} AS country_code,
               nullif(trim({q['unit1']}), '') AS unit1, nullif(trim({q['unit2']}), '') AS unit2,
               {", ".join(f"CAST({q[c]} AS BIGINT) AS {c}" for c in NUMBERS)},
               {_trade_months(q)} AS trade_months,
               {snapshot.manifest.get("synthetic") is True} AS is_synthetic
        FROM read_csv({sqltext.literal(str(path))}, header = false, skip = 1, auto_detect = false, delim = ',',
                      quote = '"', columns = {columns})
        WHERE {_whole_numbers(names, hs, country)}"""


def parse(snapshot: Snapshot, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """Every file at once (small snapshots and tests; the refresh parses file by file into partitions)."""
    files = data_files(snapshot)
    if not files:
        raise ParseError(f"mof-hs9-country {snapshot.id}: no .csv file in the snapshot")
    return con.sql(" UNION ALL ".join(parse_file(snapshot, f, con) for f in files))


_MONTH_DESC = {"quantity1": "Quantity 1 (Unit1)", "quantity2": "Quantity 2 (Unit2)", "value": "Value, thousand yen"}
SOURCE = Source(
    name="mof-hs9-country",
    description="Japan MOF trade by HS 9-digit commodity x partner (MOF 3-digit code) x month, exports FOB and "
    "imports CIF, thousand yen, one wide row per flow, year, HS-9 line and partner; a view over Parquet "
    "partitions, one per CSV file.",
    columns=(
        Column("file", "VARCHAR", "CSV file in the snapshot"),
        Column("exp_or_imp", "INTEGER", "MOF's 'Exp or Imp' code: 1 exports, 2 imports"),
        Column("flow", "VARCHAR", "export or import (from exp_or_imp); NULL for an unknown code"),
        Column("year", "INTEGER", "Year"),
        Column("hs9", "VARCHAR", "HS 9-digit statistical code (Japan's tariff schedule), apostrophes removed"),
        Column("country_code", "VARCHAR", "MOF 3-digit partner country code"),
        Column("unit1", "VARCHAR", "Unit of quantity 1, NULL when none"),
        Column("unit2", "VARCHAR", "Unit of quantity 2, NULL when none"),
        Column("quantity1_year", "BIGINT", "Quantity 1 for the year"),
        Column("quantity2_year", "BIGINT", "Quantity 2 for the year"),
        Column("value_year", "BIGINT", "Value-Year: value for the year, thousand yen"),
        *(Column(c, "BIGINT", f"{_MONTH_DESC[c.split('_')[0]]}, month {int(c[-2:])}") for c in MONTH_COLUMNS),
        Column("trade_months", "SMALLINT", "The months with a value or a quantity that is not 0, as bits: month m is "
               "bit m (1 << m), 0 for a line without trade; the monthly fact's rows"),
        Column("is_synthetic", "BOOLEAN", "True when the snapshot's manifest says synthetic: true (benchmark data "
               "from benchmarks/gen_mof_hs9_country.py); figures leave such rows out"),
    ),
    parse=parse,
    parse_file=parse_file,
    data_files=data_files,
    # exp_or_imp and year: one of each per file (checks.py); flow and year: what the dbt tests on the views over
    # the partitions select new rows by (macros/new_partitions.sql); the months' values: which months a file reports
    # (int_mof_hs9_country__months_reported: a year in progress has its later months at 0 on every line)
    partition_stats=("exp_or_imp", "flow", "year", *(c for c in MONTH_COLUMNS if c.startswith("value_"))),
    key=("flow", "year", "hs9", "country_code"),
    required=False,
)

"""Great Expectations validation of raw batches where they live: the warehouse being built.

Each source has a checks module ``jlac/sources/<table>/checks.py`` with
``checks(source, snapshot) -> list[Check]``. A Check is a SQL query over the build warehouse (default:
the whole raw table) and the GX expectations its rows must meet. GX reads through its SQL datasource
(duckdb-engine), so millions of rows are checked by DuckDB, not pulled into pandas.

GX is imported when something is validated (``jlac.gx_runtime``): its imports take 3-4 s, which a CLI command, an
unchanged refresh or the SQL endpoint never need to pay.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

import duckdb

from jlac import quarantine
from jlac.config import Settings, get_settings
from jlac.errors import JlacError, is_interrupt
from jlac.snapshots import Snapshot
from jlac.sources import Source, part, where_in

log = logging.getLogger(__name__)
logging.getLogger("great_expectations").setLevel(logging.WARNING)  # one INFO line per context otherwise


@dataclass
class Check:
    """A set of GX expectations over the rows of one query in the build warehouse.

    Its SQL (the query, an UnexpectedRowsExpectation's) may not hold ':name' (a colon then a letter, digit or _), not
    even in a string literal: GX would bind it as a parameter (``_BIND``), so such a check is refused when made."""

    expectations: list
    query: str | None = None  # default: SELECT * FROM raw.<table>
    name: str = "all rows"
    index_columns: tuple[str, ...] = field(default_factory=tuple)  # name failing rows in the report
    # The query returns only the rows that break the rule and the expectation is that there are none: one pass over
    # an aggregating query, where a column expectation makes two (GX counts the rows apart from the values). A
    # failure shows the first rows the query returns. Made by jlac.checks.violations_check.
    violations: bool = False

    def __post_init__(self):
        texts = [self.query or ""] + [getattr(e, "unexpected_rows_query", None) or "" for e in self.expectations]
        for text in texts:
            if isinstance(text, str) and (m := _BIND.search(text)):
                start, end = max(m.start() - 30, 0), m.end() + 10
                near = ("…" if start else "") + text[start:end].replace("\n", " ") + ("…" if end < len(text) else "")
                raise ValueError(
                    f"check {self.name!r}: its SQL has {m.group(0)!r} (in '{near}'), which GX passes to SQLAlchemy "
                    "as a bind parameter: given no value, it runs as NULL (a literal 'unit :b' compared with 'unit "
                    "NULL') or fails, so the check would test something else. Write the colon with no letter, digit "
                    "or _ right after it: ':' || 'b' in a string, [: 3] in a slice")


# What SQLAlchemy's text(), through which GX runs a check's SQL, takes for a bind parameter (anywhere, string literals
# included: sqlalchemy.sql.elements.TextClause._bind_params_regex, without its escape '\\:', which does not help: GX
# compiles the SQL, escape gone, and passes the result through text() again, once or twice depending on the path).
_BIND = re.compile(r"(?<![:\w]):(\w+)(?![:\w])", re.UNICODE)


@dataclass
class ExpectationOutcome:
    expectation: str
    kwargs: dict
    success: bool
    details: str  # what failed, with values and rows


@dataclass
class SuiteResult:
    """The result of one check of a source's suite on one snapshot (``snapshot_id`` None: none, the raw table must
    be empty): whether the whole check passed, and one outcome per expectation."""

    suite: str  # e.g. "imf-dots: all rows"
    source: str
    snapshot_id: str | None
    success: bool
    outcomes: list[ExpectationOutcome]

    @property
    def failed(self) -> list[ExpectationOutcome]:
        """The expectations that failed, in the check's order."""
        return [o for o in self.outcomes if not o.success]


def _describe(result, by_value: list[tuple] | None = None) -> str:
    """What a failed expectation found: its observed value, its unexpected values with their row counts and rows.
    ``by_value`` (from ``_values_with_rows``): every unexpected value with its exact count and first rows, which GX
    lists only in part (200 values, 20 rows of an SQL datasource)."""
    r = result.result or {}
    parts = [rule] if (rule := _rule(result.expectation_config)) else []
    if "observed_value" in r and r["observed_value"] is not None:
        parts.append(f"observed {readable(r['observed_value'])}")
    if r.get("unexpected_count"):
        parts.append(f"{r['unexpected_count']} unexpected row(s)")
    count = r.get("unexpected_count") or 0

    def of_all(listed: int) -> str:  # GX lists up to 20 rows of an SQL datasource: said, not taken for all of them
        return f" (in the first {listed:,} of {count:,} rows)" if 0 < listed < count else ""

    values = r.get("unexpected_list") or r.get("partial_unexpected_list") or []
    rows = r.get("unexpected_index_list") or []
    if by_value:
        shown = [f"{readable(v)} ({n:,} row{'s' if n != 1 else ''})"
                 + (f" at {distinct_rows(first, limit=3)}" if first else "")
                 + (f" and {places - len(first):,} more" if places > len(first) else "")
                 for v, n, first, places, _ in by_value]
        more = by_value[0][4] - len(by_value)
        parts.append("values " + ", ".join(shown) + (f" and {more:,} more distinct value(s)" if more > 0 else ""))
        values = rows = []
    if values:
        parts.append(f"values{of_all(len(values))} {distinct_counts(values)}")
    if rows:
        # GX puts the checked column's value in every row; when all the rows carry the same one, it is said once
        # above with its count instead of beside every row (differing values stay beside their rows)
        column = result.expectation_config.kwargs.get("column")
        if column and len(rows) > 1 and all(isinstance(row, dict) for row in rows) and \
                len({repr(row.get(column)) for row in rows}) == 1:
            rows = [{k: v for k, v in row.items() if k != column} for row in rows]
        parts.append(f"rows{of_all(len(rows))} {distinct_rows(rows)}")
    if result.exception_info and result.exception_info.get("raised_exception"):
        parts.append(f"error: {result.exception_info.get('exception_message')}")
    else:  # GX keys exception_info by metric when several metrics failed
        for info in (result.exception_info or {}).values():
            if isinstance(info, dict) and info.get("raised_exception"):
                parts.append(f"error: {info.get('exception_message')}")
                break
    return "; ".join(parts) or "failed"


def _bound(value) -> str:
    """A bound as a rule states it: 1948, 0.5, 1971-01-01 (a date bound is given as text; GX keeps a number bound as
    a float: 1948.0 is said 1948)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return value if isinstance(value, str) else readable(value)


def _rule(config) -> str | None:
    """The rule a range expectation states, said in the message: the report's summary line gave the column and the
    offending values but not the range they broke ("year must be between 1948 and 2026"; a QA pass)."""
    if getattr(config, "type", None) != "expect_column_values_to_be_between":
        return None
    kw = config.kwargs
    low, high = kw.get("min_value"), kw.get("max_value")
    above = f"above {_bound(low)}" if kw.get("strict_min") else f"at least {_bound(low)}"
    below = f"below {_bound(high)}" if kw.get("strict_max") else f"at most {_bound(high)}"
    if low is not None and high is not None:
        said = (f"between {_bound(low)} and {_bound(high)}" if not (kw.get("strict_min") or kw.get("strict_max"))
                else f"{above} and {below}")
    elif low is not None:
        said = above
    elif high is not None:
        said = below
    else:
        return None
    mostly = kw.get("mostly")
    # the share as given: rounded to whole percents, mostly=0.995 was said "in at least 100% of rows"
    share = f" in at least {mostly * 100:g}% of rows" if isinstance(mostly, int | float) and mostly < 1 else ""
    return f"{kw.get('column')} must be {said}{share}"


def readable(value) -> str:
    """A value as a message shows it: Python's repr, but a date, time or decimal as SQL writes it (2023-01-01, 19.08),
    not ``datetime.date(2023, 1, 1)`` (found by a QA pass); a row (dict) with each of its values so."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {readable(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(readable(v) for v in value) + "]"
    if isinstance(value, date | time):  # (datetime is a date)
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return repr(value)


def distinct_counts(values: list, limit: int = 10) -> str:
    """Distinct values with their row counts, most frequent first: "'Euro Area' (12 rows), 'Other' (3 rows)"."""
    counts = Counter(readable(v) for v in values)  # text: compound-column values are dicts, not hashable
    shown = ", ".join(f"{v} ({n:,} row{'s' if n != 1 else ''})" for v, n in counts.most_common(limit))
    more = len(counts) - limit
    return shown + (f" and {more:,} more distinct value(s)" if more > 0 else "")


def distinct_rows(rows: list, limit: int = 10) -> str:
    """The rows a failed check names, each once with its count when it repeats (one row of a sheet holds a value per
    year: the same file, sheet and row ten times said nothing ten times), the first ``limit`` distinct ones."""
    counts = Counter(readable(row) for row in rows)
    shown = [f"{key} ({n:,} rows)" if n > 1 else key for key, n in list(counts.items())[:limit]]
    more = len(counts) - limit
    return "[" + ", ".join(shown) + "]" + (f" and {more:,} more distinct row(s)" if more > 0 else "")


def _domain_columns(kwargs: dict) -> list[str]:
    """The columns a column-map expectation tests: its column, its column list, or its pair of columns."""
    if kwargs.get("column"):
        return [kwargs["column"]]
    if kwargs.get("column_list"):
        return list(kwargs["column_list"])
    return [kwargs[k] for k in ("column_A", "column_B") if kwargs.get(k)]


def _values_with_rows(datasource, result, query: str, index_columns: tuple[str, ...], limit: int = 10):
    """[(value, rows, its first 3 distinct places, its distinct places, distinct values)] of a failed column-map
    expectation (one column, a pair or a list of columns: the value is then a row of them), most rows first, from
    GX's own query of its unexpected rows. GX lists them only in part (200 values, 20 rows): a second unknown name
    beyond those had a wrong count and no row named (a QA pass). Without ``index_columns`` the values are counted but
    not placed (no places: [] and 0). None when GX gives no such query or it does not run."""
    from jlac.sqltext import ident

    config = result.expectation_config
    columns = _domain_columns(config.kwargs)
    text = (result.result or {}).get("unexpected_index_query")
    if not (columns and isinstance(text, str) and query in text):
        return None
    if config.type == "expect_compound_columns_to_be_unique":
        if config.kwargs.get("row_condition"):
            # GX's condition is in its own syntax, not SQL: the rows it leaves out were counted as repeats here
            return None
        # GX's query of a compound key's repeats cross-joins the batch with its counts and leaves the repeat
        # threshold as an unbound $1: the same rows, selected here as GX counts them. GX joins each row to its key's
        # count on key = key, which a NULL never equals: a key with a NULL is never a repeat, whatever ignore_row_if
        # says (counted as one, three rows ('x', NULL) were listed beside GX's "2 unexpected rows"; a QA pass)
        names = [ident(c) for c in columns]
        unexpected = (f"SELECT * FROM ({query}) AS _batch WHERE {' AND '.join(f'{c} IS NOT NULL' for c in names)} "
                      f"QUALIFY count(*) OVER (PARTITION BY {', '.join(names)}) > 1")
    else:
        # GX puts the batch's query after FROM as it is, without the parentheses SQL needs, in a map test's query (a
        # unique test's has them, twice)
        parts = text.rstrip().rstrip(";").split(query)
        unexpected = parts[0]
        for i, rest in enumerate(parts[1:]):
            unexpected += (query if unexpected.rstrip().endswith("(") else f"({query}) AS _batch{i}") + rest

    def pack(names):
        return "struct_pack(" + ", ".join(f"{ident(c)} := {ident(c)}" for c in names) + ")"

    value = ident(columns[0]) if len(columns) == 1 else pack(columns)
    row = pack(index_columns) if index_columns else None
    first, places = (f"list_sort(list_distinct(list({row})))[1:3]", f"count(DISTINCT {row})") if row else ("[]", "0")
    summary = (f"SELECT {value} AS value, count(*) AS n, {first} AS first, {places} AS places, count(*) OVER () "
               f"AS n_values FROM ({unexpected}) AS _u GROUP BY 1 ORDER BY n DESC, value LIMIT {limit}")
    try:
        with datasource.get_engine().connect() as conn:  # as the driver takes it: ':x' in a literal is no parameter
            found = conn.exec_driver_sql(summary).fetchall()
    except Exception as exc:  # noqa: BLE001  the message then says what GX listed, as it did
        log.debug("unexpected values not counted: %s", exc)
        return None
    return [tuple(r) for r in found] or None


def _first_rows(datasource, query: str, limit: int = 10) -> list[dict]:
    import sqlalchemy as sa

    with datasource.get_engine().connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text(f"SELECT * FROM ({query}) LIMIT {limit}"))]


def run_checks(db_path: Path, suite: str, source: str, snapshot_id: str | None, checks: list[Check],
               default_query: str) -> list[SuiteResult]:
    """Run the checks with GX against the DuckDB file; the file must not be open for writing elsewhere."""
    import great_expectations as gx

    from jlac import gx_runtime

    context = gx_runtime.context()
    datasource = gx_runtime.add_warehouse(context, db_path)
    results = []
    try:
        for i, check in enumerate(checks):
            asset = datasource.add_query_asset(f"batch_{i}", query=check.query or default_query)
            batch = asset.add_batch_definition_whole_table("all rows").get_batch()
            # The suite is validated on the batch directly: it is not stored in the context, nor is its result
            # (a ValidationDefinition would store both, and check the stored copies are fresh, at every run).
            gx_suite = gx.ExpectationSuite(f"{suite} [{check.name}]", expectations=list(check.expectations))
            # Pass or fail first: COMPLETE also fetches the unexpected values and rows, one more scan of the query
            # per expectation (half the time of a check over millions of rows). Only a failed check is run again
            # for them, so the report can name values and rows.
            run = batch.validate(gx_suite, result_format={"result_format": "BOOLEAN_ONLY"})
            shown = ""
            if not run.success:
                result_format = {"result_format": "COMPLETE"}
                if check.index_columns:
                    result_format["unexpected_index_column_names"] = list(check.index_columns)
                run = batch.validate(gx_suite, result_format=result_format)
                if check.violations:  # the rows the query lists are what is wrong
                    shown = f"; rows {_first_rows(datasource, check.query or default_query)!r}"
            outcomes = [
                ExpectationOutcome(
                    expectation=r.expectation_config.type,
                    kwargs={k: v for k, v in r.expectation_config.kwargs.items() if k not in ("batch_id",)},
                    success=bool(r.success),
                    details="" if r.success else _describe(r, _values_with_rows(
                        datasource, r, check.query or default_query, check.index_columns)) + shown,
                )
                for r in run.results
            ]
            results.append(SuiteResult(f"{suite}: {check.name}", source, snapshot_id, bool(run.success), outcomes))
    finally:  # GX holds two engines; both must let go of the file before the build continues
        datasource.get_engine().dispose()
        datasource.get_execution_engine().engine.dispose()
    return results


def _types_check(source: Source) -> Check:
    """Every source, automatically: the raw table's columns have the declared DuckDB types."""
    import great_expectations as gx

    schema, table = source.raw_table.split(".")
    types = {"snapshot_id": "VARCHAR", "vintage": "VARCHAR", **{c.name: c.type for c in source.columns}}
    declared = [f"{name}: {kind}" for name, kind in types.items()]
    return Check(
        name="declared column types",
        query=(
            "SELECT column_name || ': ' || data_type AS column_type FROM information_schema.columns "
            f"WHERE table_schema = '{schema}' AND table_name = '{table}'"
        ),
        expectations=[gx.expectations.ExpectColumnDistinctValuesToEqualSet(column="column_type",
                                                                          value_set=declared)],
    )


def _text(column: str) -> str:
    return f"coalesce(CAST(\"{column}\" AS VARCHAR), 'NULL')"


def conflicts_check(source: Source) -> Check | None:
    """Every source with a key, automatically: one key never holds two different values.

    Identical repeats were dropped at parse, so any key that still repeats is a conflict. Each row of it
    fails with its key, its values and where it was read from, so the report shows both values side by side.

    Not for a partitioned source: a window over its whole history at every refresh is the cost partitions avoid,
    so such a source states its grain itself, over the new files and across files (mof-hs9-country: one row per
    key in a file, one flow and year per file), refusing any repeat.
    """
    key = source.value_key
    if not key or source.partitioned:
        return None
    import great_expectations as gx

    declared = {c.name for c in source.columns}
    where = [c for c in ("file", "sheet", "row_number") if c in declared]
    keys = ", ".join(f'"{c}"' for c in key)
    describe = " || ', ' || ".join(f"'{c}=' || {_text(c)}" for c in key)
    values = " || ', ' || ".join(f"'{c}=' || {_text(c)}" for c in source.payload) or "''"
    at = " || ' ' || ".join(f"'{c} ' || {_text(c)}" for c in where) or "''"
    return Check(
        name=f"no conflicting values for one key ({', '.join(key)})",
        query=f"SELECT *, CASE WHEN count(*) OVER (PARTITION BY {keys}) > 1 THEN "
        f"'key ' || {describe} || ': ' || {values} || ' at ' || {at} END AS conflict FROM {source.raw_table}",
        index_columns=tuple(where),
        expectations=[gx.expectations.ExpectColumnValuesToBeNull(column="conflict")],
    )


FLOATING = ("DOUBLE", "FLOAT", "REAL", "FLOAT4", "FLOAT8")


def finite_check(source: Source) -> Check | None:
    """Every source, automatically: no NaN or infinity in a floating-point column.

    The text "NaN" (or "inf") in a numeric cell parses as a float, and in DuckDB NaN is not NULL and sorts above
    every number: it passed not-null and between-bounds expectations alike and reached Figures 1 and 3 as "nan".
    Not for a partitioned source (its history would be scanned at every refresh; its own checks state its values).
    """
    columns = [c.name for c in source.columns if c.type.upper() in FLOATING]
    if not columns or source.partitioned:
        return None
    from jlac.checks import violations_check

    declared = {c.name for c in source.columns}
    where = [c for c in ("file", "sheet", "row_number") if c in declared]
    bad = " OR ".join(f'isnan("{c}") OR isinf("{c}")' for c in columns)
    which = " || ' ' || ".join(f"CASE WHEN isnan(\"{c}\") OR isinf(\"{c}\") THEN '{c}=' || \"{c}\" ELSE '' END"
                               for c in columns)
    at = ", ".join(f'"{c}"' for c in where)
    return violations_check(
        "numbers are finite (no NaN or infinity)",
        f"SELECT trim({which}) AS not_finite{', ' + at if at else ''} FROM {source.raw_table} WHERE {bad}")


def _empty_without_snapshot(db_path: Path, source: Source) -> SuiteResult:
    """A source without a snapshot has an empty raw table (made from its declared columns), and that is all there is to
    check: one count, not its suites, whose every expectation holds on no rows (GX took 0.1-0.3 s a source for that,
    half the validation stage of a refresh from the mirror, where 9 of 19 sources have no snapshot)."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        rows = con.execute(f"SELECT count(*) FROM {source.raw_table}").fetchone()[0]
    details = "" if rows == 0 else f"observed {rows:,} row(s) in {source.raw_table} without a snapshot"
    outcome = ExpectationOutcome("expect_table_row_count_to_equal", {"value": 0}, rows == 0, details)
    return SuiteResult(f"{source.name}: no snapshot, raw table empty", source.name, None, rows == 0, [outcome])


@contextlib.contextmanager
def one_database(db_path: Path):
    """Keep the build file open read-only for the block: every check's connection to it (GX's, the counts) then
    joins this one DuckDB database instead of opening and closing the file again (DuckDB shares an open file's
    database within a process). The block must end before anything opens the file for writing.

    Measured on a small-mirror refresh (19 sources, 10 with a snapshot): the validate stage 1.10-1.19 s -> 0.79-0.88 s;
    opening the file is about 15 ms each time, and a source without a snapshot did nothing else."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        yield
    finally:
        con.close()


def _one_line(exc: BaseException) -> str:
    """An exception's text on one line (pydantic's list one error a line)."""
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())


def validate_source(db_path: Path, source: Source, snapshot: Snapshot | None,
                    settings: Settings | None = None) -> list[SuiteResult]:
    """Run the source's checks module over its raw table in the build warehouse (without a snapshot: check the table
    is empty).

    A checks module whose ``checks`` takes ``settings`` gets the refresh's settings (e.g. to skip files the
    published warehouse already validated); without settings it must check everything.
    """
    module = part(source, "checks")
    if module is None:
        raise JlacError(f"source {source.name} has no checks module {source.folder / 'checks.py'}; "
                        "every source needs one")
    if snapshot is None:
        return [_empty_without_snapshot(db_path, source)]
    if not callable(getattr(module, "checks", None)):
        raise JlacError(f"source {source.name}: {source.folder / 'checks.py'} defines no checks(source, snapshot) "
                        "function returning its list of Check")
    extra = {"settings": settings} if "settings" in inspect.signature(module.checks).parameters else {}
    try:
        stated = list(module.checks(source, snapshot, **extra))
    except JlacError:
        raise
    except Exception as exc:  # a slip in a contributor's checks (a wrong argument of an expectation): one line, not
        # two tracebacks (found by a QA pass)
        if is_interrupt(exc):
            raise
        raise JlacError(f"source {source.name}: its checks ({source.folder / 'checks.py'}) failed before running: "
                        f"{type(exc).__name__}: {_one_line(exc)}{where_in(exc, source.folder)}") from exc
    checks = [_types_check(source), *stated]
    checks += [c for c in (conflicts_check(source), finite_check(source)) if c is not None]
    checks += quarantine.checks(source, (settings or get_settings()).quarantine_max_share)
    return run_checks(db_path, source.name, source.name, snapshot.id if snapshot else None, checks,
                      default_query=f"SELECT * FROM {source.raw_table}")


def dependents(changed: list[str], sources: dict, snapshots: dict) -> dict:
    """The sources not in ``changed`` whose checks read the raw table of one that is (``READS`` in their checks
    module) and that have a snapshot: {name: source}. An incremental build checks them again, every row of them
    (``validate_source`` without settings), against the new data they read."""
    out = {}
    for name, src in sources.items():
        module = part(src, "checks")
        if name not in changed and snapshots.get(name) is not None and module is not None and \
                set(getattr(module, "READS", ())) & set(changed):
            out[name] = src
    return out


def _short(value, limit: int = 300) -> str:
    text = readable(value)
    return text if len(text) <= limit else text[:limit] + "…"


def write_report(results: list[SuiteResult], path: Path, run_id: str, snapshots: dict[str, str]) -> Path:
    """A Markdown validation report naming source, snapshot, expectation, failing values and rows."""
    failed = [r for r in results if not r.success]
    lines = [
        f"# jlac validation report — run {run_id}",
        "",
        f"Generated {datetime.now(UTC).isoformat(timespec='seconds')}. "
        f"{len(results)} suite(s), {len(failed)} failed. "
        + ("Nothing was published." if failed else "All passed."),
        "",
    ]
    for r in sorted(results, key=lambda r: (r.success, r.suite)):
        lines += [f"## {'FAILED' if not r.success else 'passed'}: {r.suite}", ""]
        lines.append(f"- source: `{r.source}`; snapshot: `{r.snapshot_id}` ({snapshots.get(r.source, 'no path')})")
        lines.append("")
        lines.append("| expectation | arguments | result |")
        lines.append("|---|---|---|")
        for o in r.outcomes:
            args = _short({k: v for k, v in o.kwargs.items() if k != "result_format"})
            text = "ok" if o.success else "**FAILED** " + o.details
            lines.append(f"| {o.expectation} | {args.replace('|', '/')} | {text.replace('|', '/')} |")
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def summary(results: list[SuiteResult]) -> str:
    """One line per failed expectation, for error messages and logs."""
    lines = []
    for r in results:
        for o in r.failed:
            target = _short(o.kwargs.get("column") or o.kwargs.get("column_list") or "", 80)
            lines.append(f"  - {r.suite} (snapshot {r.snapshot_id}): {o.expectation} {target}: {o.details}")
    return "\n".join(lines)

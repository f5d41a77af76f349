"""Synthetic MOF HS-9 x country x month files for scale tests — never a figure, never published.

    .venv/bin/python benchmarks/gen_mof_hs9_country.py OUT --years N [--mirror ../shared/snapshots]
                                                      [--last-year 2025] [--append-month YYYY-MM]

writes ``OUT/mof-hs9-country/<vintage>/`` in MOF's commodity-by-country layout (``Exp or Imp,Year,HS,Country,
Unit1,Unit2,Quantity1-Year,...,Value-Dec``; one file per year and flow, exports ``Exp or Imp`` = 1 and imports 2)
plus a SNAPSHOT.yml with every file's sha256 and ``synthetic: true`` (jlac's figures leave such snapshots out).

What is real and what is made up:
* the HS-9 lines, their units and their monthly shape are the real import lines of ``mof-hs9-imports`` (2009-2024;
  years outside that span use the nearest real year's lines, scaled by 3 % a year); exports reuse the same lines
  (MOF's export schedule has its own 9-digit codes, which the mirror lacks) with a per-line factor;
* the partners are the real 3-digit codes of ``japan-customs-country-codes``, drawn with a skew towards Japan's
  large partners (Zipf-like), 1 to ~30 partners per import line and 1 to ~40 per export line;
* for imports in 2009-2024 each line's partner values and quantities add up exactly to the real national
  Value-Year (thousand yen), Quantity1-Year and Quantity2-Year of the line, and every row's twelve months add up to
  its year; small rows trade in fewer months. (Until 8 December 2026 quantities were each month's value at the line's
  unit price, rounded: their sums matched the real line on about a quarter of the lines.)
Everything is a deterministic function of the inputs (DuckDB ``hash``), so the same call writes the same bytes.

``--append-month 2026-01`` writes a new vintage beside the newest one in OUT: every earlier file hard-linked
(same bytes, as a publisher's unchanged files would be) plus the files of that year as released after month m:
the rows traded in months 1..m with those months' values, the start of the year's final file (before 4 December
2026 every row of the year was listed in January with its whole year's value: a January file as large as a year).
One new month of data, for the incremental-append benchmark.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import duckdb
import yaml
from jlac.snapshots import sha256_file

HERE = Path(__file__).resolve().parent
DEFAULT_MIRROR = HERE.parent.parent / "shared" / "snapshots"
SOURCE = "mof-hs9-country"
VINTAGE = "2000-01-01"  # the base vintage's name: old enough that any real vintage is newer
FIRST_YEAR = 1988  # MOF's HS-9 by country table starts here
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
REAL_FIRST, REAL_LAST = 2009, 2024
# Japan's largest partners first, so the skewed draw picks them most (MOF codes: China, USA, Korea, Taiwan, ...).
MAJOR = ("105", "304", "103", "106", "111", "601", "118", "113", "112", "110", "117", "213", "108", "137", "147",
         "305", "410", "409", "205", "302", "123", "210", "220", "208", "407", "413")


def _u(*parts: str) -> str:
    """A uniform number in [0, 1) from DuckDB's hash of the parts (deterministic, parallel-safe)."""
    return f"(hash({', '.join(parts)}) % 1000003) / 1000003.0"


def file_name(year: int, flow: int) -> str:
    return f"hs9-country-{year}-{'exp' if flow == 1 else 'imp'}.csv"


def header() -> list[str]:
    cols = ["Exp or Imp", "Year", "HS", "Country", "Unit1", "Unit2", "Quantity1-Year", "Quantity2-Year", "Value-Year"]
    return cols + [f"{k}-{m}" for m in MONTHS for k in ("Quantity1", "Quantity2", "Value")]


def prepare(con: duckdb.DuckDBPyConnection, mirror: Path) -> None:
    """Tables ``lines`` (real HS-9 import lines with their months) and ``partners`` (real codes, ranked)."""
    hs9_dir = max((mirror / "mof-hs9-imports").iterdir())
    files = sorted(str(p) for p in hs9_dir.glob("ik-110h*i001.csv"))
    names = ["e", "year", "hs", "unit1", "unit2", "q1", "q2", "v"] + [
        f"{k}{i}" for i in range(1, 13) for k in ("a", "b", "m")]
    con.execute(
        "CREATE TEMP TABLE lines AS SELECT year, trim(hs, '''') AS hs9, unit1, unit2, q1, q2, v, "
        + ", ".join(f"m{i}" for i in range(1, 13))
        + " FROM read_csv(?, header = false, skip = 1, quote = '\"', columns = "
        + "{" + ", ".join(f"'{n}': '{'VARCHAR' if n in ('hs', 'unit1', 'unit2') else 'BIGINT'}'" for n in names) + "})"
        + " WHERE v > 0",
        [files],
    )
    codes_file = next((mirror / "japan-customs-country-codes").glob("*/Countries.csv"))
    major = ", ".join(f"('{c}', {i})" for i, c in enumerate(MAJOR))
    con.execute(
        f"""CREATE TEMP TABLE partners AS
        WITH c AS (SELECT DISTINCT lpad(CAST(Code AS VARCHAR), 3, '0') AS code
                   FROM read_csv(?, header = true, all_varchar = true)
                   WHERE regexp_full_match(trim(Code), '\\d{{3}}')),
             m(code, r) AS (VALUES {major})
        SELECT c.code, row_number() OVER (ORDER BY coalesce(m.r, 1000), c.code) - 1 AS idx
        FROM c LEFT JOIN m USING (code)""",
        [str(codes_file)],
    )


def year_sql(year: int, flow: int, last_month: int = 12) -> str:
    """One SELECT producing the wide MOF rows of one year and flow as released after ``last_month``: the whole
    year's trade cut at that month (later months 0, Year columns the sum so far, rows not traded yet left out), so
    each release of a year is the start of its final file and a month holds a month's trade, not a year's."""
    real = min(max(year, REAL_FIRST), REAL_LAST)
    scale = 1.03 ** (year - real)
    f = f"'{flow}'"
    y = f"'{year}'"
    n_partners = "(SELECT count(*) FROM partners)"
    # partners per line: skewed small, more for exports than for imports
    k = f"1 + CAST(floor(pow({_u('hs9', y, f, chr(39) + 'k' + chr(39))}, {3 if flow == 2 else 2}) * "
    k += f"{30 if flow == 2 else 40}) AS INTEGER)"
    export_factor = f"(0.2 + 2 * {_u('hs9', chr(39) + 'x' + chr(39))})" if flow == 1 else "1"
    month_cols = ", ".join(
        f"sum(CASE WHEN m = {i} THEN q1m END) AS \"Quantity1-{mn}\", "
        f"sum(CASE WHEN m = {i} THEN q2m END) AS \"Quantity2-{mn}\", "
        f"sum(CASE WHEN m = {i} THEN vm END) AS \"Value-{mn}\""
        for i, mn in enumerate(MONTHS, start=1)
    )
    line_months = ", ".join(f"m{i}" for i in range(1, 13))
    return f"""
    WITH line AS (
        SELECT hs9, unit1, unit2, q1, q2, v, [{line_months}] AS shape,
               CAST(round(v * {scale} * {export_factor}) AS BIGINT) AS total,
               CASE WHEN trim(unit1) = '' THEN 0 ELSE CAST(round(q1 * {scale} * {export_factor}) AS BIGINT) END AS qt1,
               CASE WHEN trim(unit2) = '' THEN 0 ELSE CAST(round(q2 * {scale} * {export_factor}) AS BIGINT) END AS qt2,
               {k} AS k
        FROM lines WHERE year = {real}
    ), draw AS (  -- k draws of a partner rank, skewed to the large partners; repeats collapse (sparser lines)
        SELECT l.hs9, CAST(floor({n_partners} * pow({_u('l.hs9', y, f, 'j')}, 2.5)) AS INTEGER) AS idx,
               max(pow({_u('l.hs9', y, f, 'j', chr(39) + 'w' + chr(39))}, 3) + 0.001) AS w
        FROM line l, range(l.k) AS t(j)
        GROUP BY ALL
    ), shares AS (
        SELECT d.hs9, p.code, d.w, l.total, l.qt1, l.qt2,
               CAST(floor(l.total * d.w / sum(d.w) OVER (PARTITION BY d.hs9)) AS BIGINT) AS part,
               CAST(floor(l.qt1 * d.w / sum(d.w) OVER (PARTITION BY d.hs9)) AS BIGINT) AS q1part,
               CAST(floor(l.qt2 * d.w / sum(d.w) OVER (PARTITION BY d.hs9)) AS BIGINT) AS q2part,
               row_number() OVER (PARTITION BY d.hs9 ORDER BY d.w DESC, p.code) AS rnk
        FROM draw d JOIN partners p USING (idx) JOIN line l USING (hs9)
    ), rowval AS (  -- the largest partner takes the rounding remainder: partner values add up to the line total
        SELECT hs9, code, rnk, qt1, qt2, q1part, q2part,
               CASE WHEN rnk = 1 THEN total - sum(part) OVER (PARTITION BY hs9) + part ELSE part END AS value
        FROM shares
    ), rowq AS (  -- quantities the same way, over the partners listed (a value of 0 is no row): the line's totals
        -- (the largest partner, listed whenever the line has a value, takes the remainder)
        SELECT hs9, code, value,
               CASE WHEN rnk = 1 THEN qt1 - sum(q1part) OVER (PARTITION BY hs9) + q1part ELSE q1part END AS q1,
               CASE WHEN rnk = 1 THEN qt2 - sum(q2part) OVER (PARTITION BY hs9) + q2part ELSE q2part END AS q2
        FROM rowval
        WHERE value > 0
    ), months AS (  -- months with trade: all for large rows, fewer for small ones; always the row's own month
        SELECT r.hs9, r.code, r.value, r.q1, r.q2, m,
               1 + CAST(hash(r.hs9, r.code, {y}, {f}) % 12 AS INTEGER) AS own
        FROM rowq r, range(1, 13) AS t(m)
    ), active AS (
        SELECT mo.*, (l.shape[m] + 1) * (0.5 + {_u('mo.hs9', 'mo.code', y, f, 'm')}) AS mw
        FROM months mo JOIN line l USING (hs9)
        WHERE m = own OR {_u('mo.hs9', 'mo.code', y, f, 'm', chr(39) + 'a' + chr(39))}
              < least(1, 0.25 + log10(mo.value + 1) / 8)
    ), split AS (
        SELECT hs9, code, m, own, value, q1, q2,
               CAST(floor(value * mw / sum(mw) OVER (PARTITION BY hs9, code)) AS BIGINT) AS part,
               CAST(floor(q1 * mw / sum(mw) OVER (PARTITION BY hs9, code)) AS BIGINT) AS q1part,
               CAST(floor(q2 * mw / sum(mw) OVER (PARTITION BY hs9, code)) AS BIGINT) AS q2part
        FROM active
    ), monthly AS (  -- the row's own month takes the remainders: its months add up to its year, values and quantities
        SELECT s.hs9, s.code, s.m,
               CASE WHEN s.m = s.own THEN s.value - sum(s.part) OVER (PARTITION BY s.hs9, s.code) + s.part
                    ELSE s.part END AS vm,
               CASE WHEN s.m = s.own THEN s.q1 - sum(s.q1part) OVER (PARTITION BY s.hs9, s.code) + s.q1part
                    ELSE s.q1part END AS q1m,
               CASE WHEN s.m = s.own THEN s.q2 - sum(s.q2part) OVER (PARTITION BY s.hs9, s.code) + s.q2part
                    ELSE s.q2part END AS q2m
        FROM split s
    ), withq AS (
        SELECT hs9, code, m, vm, q1m, q2m
        FROM monthly
        WHERE m <= {last_month}  -- a release in the year: the months so far; a row with none is not listed yet
    ), wide AS (
        SELECT hs9, code, sum(q1m) AS q1y, sum(q2m) AS q2y, sum(vm) AS vy, {month_cols}
        FROM withq GROUP BY hs9, code
    )
    SELECT {flow} AS "Exp or Imp", {year} AS "Year", '''' || w.hs9 || '''' AS "HS", w.code AS "Country",
           l.unit1 AS "Unit1", l.unit2 AS "Unit2", w.q1y AS "Quantity1-Year", w.q2y AS "Quantity2-Year",
           w.vy AS "Value-Year",
           {", ".join(f'coalesce("{k}-{mn}", 0) AS "{k}-{mn}"' for mn in MONTHS
                      for k in ("Quantity1", "Quantity2", "Value"))}
    FROM wide w JOIN line l USING (hs9)
    ORDER BY w.hs9, w.code
    """


def write_year(con: duckdb.DuckDBPyConnection, out_dir: Path, year: int, flow: int, last_month: int = 12) -> Path:
    path = out_dir / file_name(year, flow)
    tmp = path.with_suffix(".tmp")
    con.execute(f"COPY ({year_sql(year, flow, last_month)}) TO '{tmp}' (FORMAT csv, HEADER true, QUOTE '\"')")
    os.replace(tmp, path)
    return path


def write_manifest(vintage_dir: Path, years: list[int], note: str) -> None:
    files = sorted(p for p in vintage_dir.iterdir() if p.suffix == ".csv")
    manifest = {
        "source": SOURCE,
        "vintage": vintage_dir.name,
        "synthetic": True,
        "title": "SYNTHETIC MOF HS-9 x country x month trade, for scale tests only (never a figure)",
        "publisher": "jlac benchmarks/gen_mof_hs9_country.py (not a publisher)",
        # the origin jlac asks of every manifest (jlac.snapshots.ORIGIN_FIELDS): whose layout and lines it imitates,
        # and the terms of the files it was derived from (every append warned of their absence)
        "publisher_url": "https://www.customs.go.jp/toukei/info/index_e.htm",
        "license": "synthetic, derived from MOF's mof-hs9-imports lines (Government of Japan Standard Terms of "
                   "Use 2.0) and the project's MIT-licensed generator",
        "format": "CSV, MOF commodity-by-country layout: Exp or Imp,Year,HS,Country,Unit1,Unit2,"
        "Quantity1-Year,Quantity2-Year,Value-Year, then Quantity1/Quantity2/Value per month Jan..Dec",
        "units": "Values in thousand yen; quantities in Unit1/Unit2",
        "coverage": f"{years[0]}-{years[-1]}, exports (1) and imports (2)",
        "caveats": note,
        "files": [{"path": p.name, "bytes": p.stat().st_size, "sha256": sha256_file(p)} for p in files],
    }
    (vintage_dir / "SNAPSHOT.yml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")


def last_month_of(vintage_dir: Path) -> str:
    """The newest month a vintage holds, YYYY-MM: the month appended last, else December of its newest year."""
    if "+" in vintage_dir.name:
        return vintage_dir.name.rsplit("+", 1)[1]
    years = [int(p.name.split("-")[2]) for p in vintage_dir.glob("hs9-country-*.csv")]
    return f"{max(years)}-12" if years else "0000-00"


def generate(out: Path, years: int, mirror: Path = DEFAULT_MIRROR, last_year: int = 2025,
             vintage: str = VINTAGE, threads: int | None = None) -> Path:
    """Write ``years`` full years ending with ``last_year``; return the vintage folder."""
    vintage_dir = out / SOURCE / vintage
    vintage_dir.mkdir(parents=True, exist_ok=True)
    span = list(range(last_year - years + 1, last_year + 1))
    with duckdb.connect() as con:
        if threads:
            con.execute(f"SET threads = {threads}")
        prepare(con, mirror)
        for year in span:
            for flow in (1, 2):
                write_year(con, vintage_dir, year, flow)
    write_manifest(vintage_dir, span, "Synthetic: real HS-9 lines and country codes, invented partner split.")
    return vintage_dir


def append_month(out: Path, month: str, mirror: Path = DEFAULT_MIRROR) -> Path:
    """A new vintage: the newest one's files hard-linked, plus ``month``'s year written with months 1..m."""
    year, last_month = int(month[:4]), int(month[5:7])
    source_dir = out / SOURCE
    previous = max(p for p in source_dir.iterdir() if p.is_dir())
    vintage_dir = source_dir / f"{previous.name}+{month}"
    vintage_dir.mkdir()
    for p in previous.glob("*.csv"):
        if p.name not in (file_name(year, 1), file_name(year, 2)):
            os.link(p, vintage_dir / p.name)
    with duckdb.connect() as con:
        prepare(con, mirror)
        for flow in (1, 2):
            write_year(con, vintage_dir, year, flow, last_month)
    years = sorted({int(p.name.split("-")[2]) for p in vintage_dir.glob("*.csv")})
    write_manifest(vintage_dir, years, f"Synthetic; {month} appended to vintage {previous.name}.")
    return vintage_dir


def _writing(parser: argparse.ArgumentParser, out: Path, write):
    """``write()``, an OSError (a folder that cannot be made or written) said in one line naming OUT."""
    try:
        return write()
    except OSError as exc:
        parser.error(f"OUT {out}: cannot write there ({exc.strerror or exc}: {exc.filename or out})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--last-year", type=int, default=2025)
    parser.add_argument("--mirror", type=Path, default=DEFAULT_MIRROR)
    parser.add_argument("--append-month", help="YYYY-MM: write a new vintage with this month added")
    args = parser.parse_args(argv)
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"OUT {args.out} is a file; expected a folder (the mirror root the vintage is written under)")
    # what the generator reads: the real HS-9 lines and the real country codes (read in place from the mirror)
    for needed, pattern in (("mof-hs9-imports", "*/ik-110h*i001.csv"), ("japan-customs-country-codes",
                                                                       "*/Countries.csv")):
        if not any((args.mirror / needed).glob(pattern)):
            parser.error(f"--mirror {args.mirror}: no {needed}/{pattern} in it (the mirror's real files are read)")
    if args.append_month:
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", args.append_month):
            parser.error(f"--append-month {args.append_month!r}: expected YYYY-MM, e.g. 2026-01")
        if not (args.out / SOURCE).is_dir() or not any(p.is_dir() for p in (args.out / SOURCE).iterdir()):
            parser.error(f"--append-month: no vintage under {args.out / SOURCE} to append to; generate one first")
        newest = max(p for p in (args.out / SOURCE).iterdir() if p.is_dir())
        if not (newest / "SNAPSHOT.yml").is_file():  # an append would copy its (missing) files: years lost
            parser.error(f"{newest} has no SNAPSHOT.yml (a killed run?): remove it; an append copies the newest "
                         "vintage's files")
        last = last_month_of(newest)
        if args.append_month <= last:
            parser.error(f"--append-month {args.append_month}: the newest vintage already runs to {last}; a new "
                         "month comes after it (an earlier one would cut that year's file short)")
        path = _writing(parser, args.out, lambda: append_month(args.out, args.append_month, args.mirror))
    else:
        if args.years < 1:
            parser.error(f"--years {args.years}: expected at least 1")
        if args.last_year - args.years + 1 < FIRST_YEAR:
            parser.error(f"--years {args.years} --last-year {args.last_year} would start in "
                         f"{args.last_year - args.years + 1}; MOF's table starts in {FIRST_YEAR}")
        held = args.out / SOURCE / VINTAGE
        if held.is_dir() and any(held.iterdir()):
            parser.error(f"{held} already holds files (an earlier or killed run): they would be listed in the new "
                         "vintage's SNAPSHOT.yml; remove the folder or choose another OUT")
        path = _writing(parser, args.out, lambda: generate(args.out, args.years, args.mirror, args.last_year))
    size = sum(p.stat().st_size for p in path.glob("*.csv"))
    print(f"{path}: {len(list(path.glob('*.csv')))} files, {size / 1e6:.0f} MB", file=sys.stderr)


if __name__ == "__main__":
    main()

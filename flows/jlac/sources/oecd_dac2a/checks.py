"""Expectations for OECD DAC Table 2a as parsed (raw.oecd_dac2a)."""

from __future__ import annotations

import re

import great_expectations as gx
import pycountry

from jlac import plan, sqltext
from jlac.checks import schema_expectation, violations_check
from jlac.countries import CELAC
from jlac.validation import Check

E = gx.expectations

# (year, iso3) of the CELAC recipients OECD's files name in a way jlac resolves
_CELAC_YEARS = ("(SELECT DISTINCT year, recipient_iso3 AS iso3 FROM raw.oecd_dac2a WHERE recipient_iso3 IN ("
                + ", ".join(f"'{c}'" for c in sorted(CELAC)) + "))")


# words of CELAC states' names that name no state alone
_GENERIC = {"saint", "republic", "united", "states", "state", "commonwealth", "federative", "plurinational",
            "bolivarian", "eastern", "argentine", "and", "the", "of", "el", "costa", "rica"}


def _name_words() -> list[str]:
    """The words that name a CELAC state, from its names as pycountry gives them: each name without a qualifier
    ('Bolivia' of 'Bolivia, Plurinational State of') and each distinctive word of it ('Lucia', 'Kitts', 'Dominican'),
    so that OECD's abbreviations ('St. Lucia', 'Dominican Rep.', 'Trinidad & Tobago') are caught too (a re-check
    pass); 'Costa Rica' whole."""
    words = set()
    for iso3 in CELAC:
        c = pycountry.countries.get(alpha_3=iso3)
        for name in (c.name, getattr(c, "common_name", None), getattr(c, "official_name", None)):
            if name:
                short = re.split(r",| \(", name)[0].strip()
                words.add(short)
                words |= {w for w in re.findall(r"[A-Za-z]+", short) if len(w) > 3 and w.lower() not in _GENERIC}
    return sorted(words, key=lambda n: (-len(n), n))


# a whole word (Dominica is not Dominican Republic's first word), in any case, accents and hyphens aside (México,
# Costa-Rica)
_CELAC_NAMES = sqltext.literal("(?i)\\b(" + "|".join(re.escape(n) for n in _name_words()) + ")\\b")
_READ_NAME = "replace(strip_accents(recipient_name), '-', ' ')"


def checks(source, snapshot) -> list[Check]:
    """The suite of raw.oecd_dac2a: schema and grain, every CELAC state a recipient (in the release, in each year
    whose neighbours have it, and under no unknown name naming it), Figure 3's recipient and donors in every year's
    file, no year missing, and one year per listed file."""
    files = sum(1 for f in snapshot.files if f.path.endswith("DAC2a.csv")) if snapshot else 0
    rows = ("file", "row_number", "donor_name")
    out = [
        Check(
            name="schema and grain",
            index_columns=rows,
            expectations=[
                schema_expectation(source),
                E.ExpectCompoundColumnsToBeUnique(column_list=list(source.key)),
                E.ExpectColumnValuesToNotBeNull(column="value_usd_m"),
                E.ExpectColumnValuesToNotBeNull(column="recipient_name"),
                E.ExpectColumnValuesToBeBetween(column="year", min_value=1960, max_value=plan.today().year),
            ],
        ),
        Check(
            # Every CELAC state but the Bahamas (off the DAC list since 1996) received ODA in 2002-2019; a
            # name that stopped resolving (OECD renames, 'Turkey' -> 'Türkiye') would drop a country silently.
            name="every CELAC state is a recognised recipient",
            query="SELECT DISTINCT recipient_iso3 FROM raw.oecd_dac2a WHERE recipient_iso3 IS NOT NULL",
            expectations=[
                E.ExpectColumnDistinctValuesToContainSet(
                    column="recipient_iso3", value_set=sorted(CELAC - {"BHS"})
                )
            ],
        ),
        Check(
            name="Figure 3 donors present (Japan, Korea)",
            query="SELECT DISTINCT donor_iso3 FROM raw.oecd_dac2a WHERE donor_iso3 IS NOT NULL",
            expectations=[
                E.ExpectColumnDistinctValuesToContainSet(column="donor_iso3", value_set=["JPN", "KOR"])
            ],
        ),
    ]
    out.append(violations_check(
        # ... and per year: a name that stops resolving in one year's file alone (Costa Rica renamed in 2015) passes
        # the checks above and shows as 0, "none recorded", in Figure 3. Countries do leave the DAC list (Chile and
        # Uruguay in 2018), so the rule per file is for Figure 3's recipient and donors only.
        "Figure 3's recipient (Costa Rica) and donors (Japan, Korea) in every year's file",
        "SELECT f.file, m.iso3 AS missing, m.role FROM (SELECT DISTINCT file FROM raw.oecd_dac2a) AS f "
        "CROSS JOIN (VALUES ('CRI', 'recipient'), ('JPN', 'donor'), ('KOR', 'donor')) AS m(iso3, role) "
        "WHERE NOT EXISTS (SELECT 1 FROM raw.oecd_dac2a AS r WHERE r.file = f.file AND "
        "CASE m.role WHEN 'recipient' THEN r.recipient_iso3 ELSE r.donor_iso3 END = m.iso3) ORDER BY f.file, m.iso3"))
    out.append(violations_check(
        # A CELAC state's row spelt anew in one year's file resolves to no country and loads as a regional total
        # would: its ODA left that year (Honduras in 2017: Japan's US$9.5m), report claim C03 moved, and the two
        # checks above passed (found by a QA pass). States leave the DAC list for good (Chile and Uruguay in 2018),
        # so a state is expected in a year only when it is there the year before and the year after.
        "a CELAC state recognised the year before and the year after is a recipient in this year's file",
        f"SELECT y.year, any_value(y.file) AS file, b.iso3 AS missing FROM (SELECT DISTINCT year, file FROM "
        f"{source.raw_table}) AS y JOIN {_CELAC_YEARS} AS b ON b.year = y.year - 1 JOIN {_CELAC_YEARS} AS a "
        f"ON a.year = y.year + 1 AND a.iso3 = b.iso3 WHERE NOT EXISTS (SELECT 1 FROM {_CELAC_YEARS} AS p WHERE "
        f"p.year = y.year AND p.iso3 = b.iso3) GROUP BY y.year, b.iso3 ORDER BY y.year, b.iso3"))
    out.append(violations_check(
        # ... and in a file with no year around it (the newest, a release of one year), by its name: an unknown
        # recipient name that names a CELAC state is a new spelling of it, not an aggregate
        "no recipient name jlac cannot resolve names a CELAC state (add it to flows/jlac/data/country_names.csv "
        "as oecd,<name>,<iso3>,...)",
        f"SELECT file, row_number, recipient_name, regexp_extract({_READ_NAME}, {_CELAC_NAMES}, 1) AS names "
        f"FROM {source.raw_table} WHERE recipient_iso3 IS NULL AND regexp_matches({_READ_NAME}, {_CELAC_NAMES}) "
        "QUALIFY row_number() OVER (PARTITION BY file, recipient_name ORDER BY row_number) = 1 "
        "ORDER BY file, row_number"))
    out.append(violations_check(
        # One file per year: a release without one year's file (all but ODA-2012-DAC2a.csv) passed every check above,
        # and Figure 3 showed Japan's and Korea's 2012 as 0, "none recorded" (QA pass). The years between the first and
        # the last the release has must all be there; the query names each missing one.
        "no year missing between the first and the last",
        f"SELECT g.year AS missing_year, g.first_year, g.last_year FROM (SELECT unnest(generate_series(min(year), "
        f"max(year))) AS year, min(year) AS first_year, max(year) AS last_year FROM {source.raw_table}) AS g "
        f"WHERE NOT EXISTS (SELECT 1 FROM {source.raw_table} AS r WHERE r.year = g.year) ORDER BY g.year"))
    if files:
        # the snapshot's own files: the years kept from earlier vintages are theirs (a release of one new year was
        # refused with "observed 19", its 18 earlier years counted against its one file: a QA pass)
        out.append(
            Check(
                name=f"one year per file: the {files} ODA-<year>-DAC2a.csv files of vintage {snapshot.vintage} hold "
                     f"{files} distinct years",
                query=f"SELECT DISTINCT year FROM raw.oecd_dac2a WHERE vintage = {sqltext.literal(snapshot.vintage)} "
                      "AND file LIKE '%DAC2a.csv'",
                expectations=[E.ExpectTableRowCountToBeBetween(min_value=files, max_value=files)],
            )
        )
    return out

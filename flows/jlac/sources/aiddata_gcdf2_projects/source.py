"""AidData Global Chinese Development Finance 2.0, project level (excerpt of 21 columns).

Layout (see the snapshot's SNAPSHOT.yml): one semicolon-separated CSV, UTF-8 with a BOM, first header
cell ``\\AidData TUFF Project ID``; one row per project (all are 'Recommended For Aggregates'); amounts in
US dollars (not millions), nominal and constant 2017, empty when unknown (many grants). ``Funding
Agencies`` lists co-financiers separated by ``|``.
"""

from __future__ import annotations

import duckdb

from jlac import sqltext
from jlac.errors import ParseError
from jlac.snapshots import Snapshot
from jlac.sources import Column, Source
from jlac.sources.oecd_dac2a.source import iso3_relation
from jlac.textfiles import header_only, read_csv

COUNTRY_TAG = "aiddata"

# publisher header -> raw column name
HEADER = {
    "\\AidData TUFF Project ID": "project_id",
    "Recommended For Aggregates": "recommended_for_aggregates",
    "Umbrella": "umbrella",
    "Financier Country": "financier_country",
    "Recipient": "recipient_name",
    "Recipient Region": "recipient_region",
    "Commitment Year": "commitment_year",
    "Title": "title",
    "Status": "status",
    "Intent": "intent",
    "Flow Type": "flow_type",
    "Concessional": "concessional",
    "Flow Class": "flow_class",
    "Sector Code": "sector_code",
    "Sector Name": "sector_name",
    "Funding Agencies": "funding_agencies",
    "Funding Agencies Type": "funding_agencies_type",
    "Amount (Original Currency)": "amount_original",
    "Original Currency": "original_currency",
    "Amount (Constant USD2017)": "amount_usd_constant_2017",
    "Amount (Nominal)": "amount_usd_nominal",
}
NUMERIC = ("project_id", "commitment_year", "amount_original", "amount_usd_constant_2017",
           "amount_usd_nominal")


def parse(snapshot: Snapshot, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """The project rows with snake_case columns, numbers checked, and the recipient's ISO3 added."""
    files = [f.path for f in snapshot.files if f.path.lower().endswith(".csv")]
    if len(files) != 1:
        raise ParseError(f"aiddata-gcdf2-projects {snapshot.id}: expected one CSV file, found {files}")
    label = files[0]
    rel = read_csv(con, snapshot.path(label), f"aiddata-gcdf2-projects {label}",
                   delimiter=";", header=True, all_varchar=True, quotechar='"')
    missing = [h for h in HEADER if h not in rel.columns]
    if missing:
        raise ParseError(
            f"aiddata-gcdf2-projects {label}: header lacks {missing}; "
            f"found {rel.columns[:5]}... (layout changed?)"
        )
    select = ", ".join(f'nullif(trim("{h}"), \'\') AS {c}' for h, c in HEADER.items())
    rel.create_view("_gcdf2_src", replace=True)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _gcdf2 AS "
        f"SELECT row_number() OVER () + 1 AS row_number, {select} FROM _gcdf2_src"
    )
    # a file cut after its header loaded 0 projects, passed the checks and left GCDF 2.0 out of the figures unsaid
    if not con.sql("SELECT count(*) FROM _gcdf2").fetchall()[0][0]:
        raise header_only(f"aiddata-gcdf2-projects {label}", "project line", "AidData's excerpt has a line per "
                          "project")
    for col in NUMERIC:
        bad = con.sql(
            f"SELECT row_number, {col} FROM _gcdf2 "
            f"WHERE {col} IS NOT NULL AND TRY_CAST({col} AS DOUBLE) IS NULL LIMIT 3"
        ).fetchall()
        if bad:
            raise ParseError(
                f"aiddata-gcdf2-projects {label}: column {col!r} expects a number; "
                + "; ".join(f"line {r}: {v!r}" for r, v in bad)
            )
    names = [r[0] for r in con.sql("SELECT DISTINCT recipient_name FROM _gcdf2").fetchall()]
    iso3_relation(con, COUNTRY_TAG, names).create_view("_gcdf2_iso", replace=True)
    return con.sql(
        f"""
        SELECT {sqltext.literal(label)} AS file, g.row_number, CAST(g.project_id AS BIGINT) AS project_id,
               g.recommended_for_aggregates, g.umbrella, g.financier_country, g.recipient_name,
               i.iso3 AS recipient_iso3, g.recipient_region,
               CAST(g.commitment_year AS INTEGER) AS commitment_year,
               g.title, g.status, g.intent, g.flow_type, g.concessional, g.flow_class, g.sector_code,
               g.sector_name, g.funding_agencies, g.funding_agencies_type,
               CAST(g.amount_original AS DOUBLE) AS amount_original, g.original_currency,
               CAST(g.amount_usd_constant_2017 AS DOUBLE) AS amount_usd_constant_2017,
               CAST(g.amount_usd_nominal AS DOUBLE) AS amount_usd_nominal
        FROM _gcdf2 g LEFT JOIN _gcdf2_iso i ON i.name = g.recipient_name
        """
    )


SOURCE = Source(
    name="aiddata-gcdf2-projects",
    description="AidData Global Chinese Development Finance 2.0 (excerpt recommended for aggregates): "
    "one row per Chinese official finance project, commitment years 2000-2017, amounts in US dollars.",
    columns=(
        Column("file", "VARCHAR", "CSV file in the snapshot"),
        Column("row_number", "INTEGER", "Line number of the project in the file (header = line 1)"),
        Column("project_id", "BIGINT", "AidData TUFF project id (china.aiddata.org/projects/<id>)"),
        Column("recommended_for_aggregates", "VARCHAR", "AidData's flag: Yes if the project may be summed"),
        Column("umbrella", "VARCHAR", "Yes for umbrella agreements whose parts are separate projects"),
        Column("financier_country", "VARCHAR", "Financier country (always China in this dataset)"),
        Column("recipient_name", "VARCHAR", "Recipient, AidData naming (countries or '<region>, regional')"),
        Column("recipient_iso3", "VARCHAR", "ISO3 of the recipient; NULL for regional projects"),
        Column("recipient_region", "VARCHAR", "AidData region (America, Africa, Asia, ...)"),
        Column("commitment_year", "INTEGER", "Year of the commitment"),
        Column("title", "VARCHAR", "Project title"),
        Column("status", "VARCHAR", "Project status (Pipeline, Implementation, Completion, ...)"),
        Column("intent", "VARCHAR", "Intent: Development, Commercial, Representational, Mixed"),
        Column("flow_type", "VARCHAR", "Flow type: Loan, Grant, Export Buyer's Credit, ..."),
        Column("concessional", "VARCHAR", "Concessional: Yes, No or Vague"),
        Column("flow_class", "VARCHAR", "OECD-style class: ODA-like, OOF-like, Vague (Official Finance)"),
        Column("sector_code", "VARCHAR", "OECD CRS sector code (3 digits)"),
        Column("sector_name", "VARCHAR", "Sector name"),
        Column("funding_agencies", "VARCHAR", "Chinese funding agencies, separated by '|' when several"),
        Column("funding_agencies_type", "VARCHAR", "Type of each funding agency, separated by '|'"),
        Column("amount_original", "DOUBLE", "Amount in the original currency"),
        Column("original_currency", "VARCHAR", "ISO 4217 code of the original currency"),
        Column("amount_usd_constant_2017", "DOUBLE", "Amount, US dollars, constant 2017 prices"),
        Column("amount_usd_nominal", "DOUBLE", "Amount, US dollars, nominal (prices of the commitment year)"),
    ),
    parse=parse,
    key=("project_id",),
    required=False,
    version="1",
)

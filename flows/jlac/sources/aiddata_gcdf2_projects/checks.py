"""Expectations for AidData GCDF 2.0 projects as parsed (raw.aiddata_gcdf2_projects)."""

from __future__ import annotations

import great_expectations as gx

from jlac import plan
from jlac.checks import schema_expectation
from jlac.validation import Check

E = gx.expectations

# GCDF 2.0's flow types, as the mirror's excerpt has them, lower case with a straight apostrophe
FLOW_TYPES = ["loan", "grant", "export buyer's credit", "supplier's credit/export seller's credit",
              "free-standing technical assistance", "scholarships/training in the donor country", "debt forgiveness",
              "debt rescheduling", "vague tbd"]


def checks(source, snapshot) -> list[Check]:
    """The suite of raw.aiddata_gcdf2_projects: schema, unique project ids, years, flow classes and positive
    amounts, and every country recipient mapped to ISO3."""
    rows = ("file", "row_number", "project_id")
    return [
        Check(
            name="schema and grain",
            index_columns=rows,
            expectations=[
                schema_expectation(source),
                E.ExpectColumnValuesToBeUnique(column="project_id"),
                E.ExpectColumnValuesToNotBeNull(column="commitment_year"),
                E.ExpectColumnValuesToNotBeNull(column="recipient_name"),
                E.ExpectColumnValuesToNotBeNull(column="flow_type"),
                E.ExpectColumnValuesToBeBetween(
                    column="commitment_year", min_value=1990, max_value=plan.today().year
                ),
                E.ExpectColumnValuesToBeInSet(
                    column="flow_class", value_set=["ODA-like", "OOF-like", "Vague (Official Finance)"]
                ),
                # AidData records commitments, never negative; an amount of 0 would be a parsing slip.
                E.ExpectColumnValuesToBeBetween(column="amount_usd_nominal", min_value=0, strict_min=True),
            ],
        ),
        Check(
            # staging sorts the flow types into instruments by name (any case, either apostrophe): a new or misspelt
            # one would be 'unspecified' and leave the loan figures without a word (found by a QA pass)
            name="flow types and flags AidData defines",
            query="SELECT *, lower(replace(flow_type, chr(8217), chr(39))) AS flow_type_read, "
            "lower(recommended_for_aggregates) AS recommended_read, lower(umbrella) AS umbrella_read "
            "FROM raw.aiddata_gcdf2_projects",
            index_columns=rows,
            expectations=[
                E.ExpectColumnValuesToBeInSet(column="flow_type_read", value_set=FLOW_TYPES),
                E.ExpectColumnValuesToBeInSet(column="recommended_read", value_set=["yes", "no"]),
                E.ExpectColumnValuesToBeInSet(column="umbrella_read", value_set=["yes", "no"]),
            ],
        ),
        Check(
            # Country recipients resolve to ISO3; only AidData's regional buckets may stay unresolved.
            name="every country recipient maps to ISO3",
            query="SELECT *, CASE WHEN recipient_iso3 IS NULL AND recipient_name NOT LIKE '%, regional' "
            "AND recipient_name <> 'Multi-Region' THEN recipient_name END AS unmapped_name "
            "FROM raw.aiddata_gcdf2_projects",
            index_columns=rows,
            expectations=[E.ExpectColumnValuesToBeNull(column="unmapped_name")],
        ),
    ]

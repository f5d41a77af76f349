"""Expectations for MIDEPLAN-format cooperation records (raw.mideplan_cooperation).

The parser writes every broken rule of a row into ``problem``; the first check fails on any such row
and the report lists each one as (file, row_number, project_id) with its message. The other checks
restate the main rules as separate expectations so the report also says which rule failed how often.
"""

from __future__ import annotations

import great_expectations as gx

from jlac import plan
from jlac.checks import schema_expectation
from jlac.sources.mideplan_cooperation.source import INSTRUMENT, MODALITY, REQUIRED
from jlac.validation import Check

E = gx.expectations
ROWS = ("file", "row_number", "project_id")
CURRENCIES = ["CNY", "CRC", "EUR", "JPY", "KRW", "USD"]  # those with rates in fx_rates_mideplan.csv


def checks(source, snapshot) -> list[Check]:
    """The suite of raw.mideplan_cooperation: every row valid (its ``problem`` NULL), the same rules one by one, and
    no approval date after the refresh's day."""
    return [
        Check(
            name="every row is valid (problem names what is wrong)",
            index_columns=ROWS,
            expectations=[schema_expectation(source), E.ExpectColumnValuesToBeNull(column="problem")],
        ),
        Check(
            name="rules one by one",
            index_columns=ROWS,
            expectations=[
                # typed columns stand for their text: NULL when empty or unreadable
                *(E.ExpectColumnValuesToNotBeNull(column=c) for c in REQUIRED if c != "amount"),
                E.ExpectColumnValuesToNotBeNull(column="amount_usd"),
                E.ExpectColumnValuesToBeBetween(column="amount", min_value=0, strict_min=True),
                E.ExpectColumnValuesToBeInSet(column="modality", value_set=sorted({*MODALITY.values()})),
                E.ExpectColumnValuesToBeInSet(column="instrument", value_set=sorted({*INSTRUMENT.values()})),
                E.ExpectColumnValuesToBeInSet(column="currency", value_set=CURRENCIES),
                E.ExpectColumnValuesToBeUnique(column="project_id"),
            ],
        ),
        Check(
            # checked on the day of the refresh, not by the parser: a parse is cached, and a project refused for an
            # approval date after the day of its parse stayed refused, --full too, once that day had come (QA pass)
            name=f"no approval date after the refresh's day ({plan.today().isoformat()})",
            index_columns=ROWS,
            expectations=[E.ExpectColumnValuesToBeBetween(column="approval_date",
                                                          max_value=plan.today().isoformat())],
        ),
    ]

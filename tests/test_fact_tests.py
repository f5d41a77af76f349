"""Every fact the marts publish carries its build-time dbt tests (issue 9): a unique grain, not-null keys, and a
relationships test to dim_country on each of its ISO3 columns. A failed test stops the publish, so a fact without
them publishes a repeated key or a country code no dimension row describes without a word. Read off the yml files,
so a new mart is held to it before any build: marts.fct_china_finance_country_year and fct_china_finance_projects
(added when the figures moved off staging) had no relationships test on recipient_iso3."""

from __future__ import annotations

import yaml
from jlac.transform import PROJECT_DIR

MARTS = PROJECT_DIR / "models" / "marts"
GRAIN_TESTS = {"unique_combination", "unique_months"}  # jlac's generic grain tests (sql/tests/generic)
# ISO3 columns that hold one literal (Japan reports MOF's HS-9 files; fct_trade_hs_section_annual sums the first):
# a relationships test over millions of 'JPN' would test nothing
CONSTANT = {"fct_trade_commodity_annual_hs9.reporter_iso3", "fct_trade_commodity_monthly.reporter_iso3",
            "fct_trade_hs_section_annual.reporter_iso3"}


def _facts() -> dict[str, dict]:
    """fct_* model name -> its yml entry."""
    facts = {}
    for path in sorted(MARTS.glob("*.yml")):
        for model in yaml.safe_load(path.read_text(encoding="utf-8")).get("models") or []:
            if model["name"].startswith("fct_"):
                facts[model["name"]] = model
    return facts


def _test_names(tests) -> set[str]:
    return {next(iter(t)) if isinstance(t, dict) else t for t in tests or []}


def test_the_constant_iso3_columns_are_literals():
    for item in sorted(CONSTANT - {"fct_trade_hs_section_annual.reporter_iso3"}):
        model, column = item.split(".")
        assert f"'JPN' AS {column}" in (MARTS / f"{model}.sql").read_text(encoding="utf-8"), item


def test_the_marts_have_facts():
    assert {"fct_trade_annual", "fct_dev_finance", "fct_china_finance_projects"} <= set(_facts())


def test_every_fact_has_a_grain_and_not_null_keys():
    missing = []
    for name, model in _facts().items():
        tests = _test_names(model.get("data_tests"))
        columns = model.get("columns") or []
        if not tests & GRAIN_TESTS:
            missing.append(f"{name}: no grain test ({' or '.join(sorted(GRAIN_TESTS))})")
        if "not_null_columns" not in tests and not any("not_null" in _test_names(c.get("data_tests"))
                                                       for c in columns):
            missing.append(f"{name}: no not-null test of its keys")
    assert missing == []


def test_every_iso3_column_of_a_fact_is_tested_against_dim_country():
    missing = []
    for name, model in _facts().items():
        for column in model.get("columns") or []:
            if not column["name"].endswith("_iso3") or f"{name}.{column['name']}" in CONSTANT:
                continue
            targets = [t["relationships"]["arguments"] for t in column.get("data_tests") or []
                       if isinstance(t, dict) and "relationships" in t]
            if not any(a.get("to") == "ref('dim_country')" and a.get("field") == "iso3" for a in targets):
                missing.append(f"marts.{name}.{column['name']}")
    assert missing == [], f"ISO3 columns without a relationships test to dim_country.iso3: {missing}"

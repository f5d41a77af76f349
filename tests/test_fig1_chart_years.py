"""Found by a regression audit of issue 3 ("Figure 1 extended to 2021"): once an IMF IMTS release carries the 33
CELAC states into 2021, Figure 1's chart still drew MOF's Mexico+Brazil+Chile points for 2021 on top of that year's
LAC bars (exports 16.9 beside the bar's 22.8), as if a second value of the region. The three partners' series is
drawn only after the last year of the bars."""

from __future__ import annotations

import duckdb
import pytest
from jlac.figures import fig1_japan_lac_trade as fig1


def _warehouse(lac_last: int) -> duckdb.DuckDBPyConnection:
    """The three tables the chart reads: CELAC bars 2017..lac_last, MOF's three partners 2021-2024 (values of the
    kind the real tables hold: figures.fig1_japan_lac_trade 2019-2020 of the mirror's build)."""
    con = duckdb.connect()
    for schema in ("figures", "intermediate"):
        con.execute(f"CREATE SCHEMA {schema}")
    con.execute(
        "CREATE TABLE figures.fig1_japan_lac_trade AS SELECT year, exports_usd_bn, imports_usd_bn, "
        "exports_usd_bn + imports_usd_bn AS total_usd_bn, year <= 2018 AS in_report_span, "
        "CASE WHEN year <= 2020 THEN 'imf-dots' ELSE 'imf-imts' END AS sources "
        f"FROM (VALUES (2017, 27.559, 25.977), (2018, 29.819, 27.435), (2019, 28.89, 27.069), (2020, 20.718, 24.652), "
        f"(2021, 22.79, 27.118)) t(year, exports_usd_bn, imports_usd_bn) WHERE year <= {lac_last}")
    con.execute(
        "CREATE TABLE figures.japan_main_lac_partners AS SELECT year, partner_iso3, flow, value_usd_bn, "
        "'mof-trade-by-country-top30' AS source, false AS is_provisional "
        "FROM range(2021, 2025) y(year), (VALUES ('MEX'), ('BRA'), ('CHL')) p(partner_iso3), "
        "(VALUES ('export', 5.6), ('import', 7.9)) f(flow, value_usd_bn)")
    con.execute(
        "CREATE TABLE intermediate.int_japan_trade_by_region AS SELECT 'celac' AS region, year, true AS is_complete, "
        "1.0 AS export_coverage, 1.0 AS import_coverage FROM figures.fig1_japan_lac_trade")
    return con


def _dotted_years(monkeypatch, con, tmp_path) -> set[int]:
    figs = []
    monkeypatch.setattr(fig1, "save", lambda fig, *a, **k: figs.append(fig) or [])
    fig1.render(con, tmp_path)
    [fig] = figs
    try:
        return {int(x) for line in fig.axes[0].lines if line.get_linestyle() == ":" or line.get_marker() == "D"
                for x in line.get_xdata()}
    finally:  # `save` closes a chart; its stand-in here must too (a later test counts pyplot's open figures)
        import matplotlib.pyplot as plt

        plt.close(fig)


@pytest.mark.parametrize(("lac_last", "expected"), [(2020, {2021, 2022, 2023, 2024}), (2021, {2022, 2023, 2024})])
def test_the_three_partners_are_drawn_only_after_the_last_lac_year(monkeypatch, tmp_path, lac_last, expected):
    con = _warehouse(lac_last)
    assert _dotted_years(monkeypatch, con, tmp_path) == expected


def test_the_site_names_the_dotted_years_the_chart_draws():
    """The report page said "The dotted lines, 2021-2024" with the bars carried to 2021 by IMTS, as the chart drew."""
    from jlac.site.sections import SECTIONS, TableSpec

    by_id = {s.id: s for s in SECTIONS}
    mof = "mof-trade-by-country-top30"
    partner_rows = [(y, p, f, 1.0, 1.0, mof, False) for y in range(2021, 2025) for p in ("MEX", "BRA", "CHL")
                    for f in ("export", "import")]
    columns = [{"name": n} for n in ("year", "partner_iso3", "flow", "value_jpy_bn", "value_usd_bn", "source",
                                     "is_provisional")]
    provenance = {"sources": [{"name": mof, "vintage": "2026-10-04"}, {"name": "imf-imts", "vintage": "2026-12-07"}]}
    carried = {"section": by_id["figure-1-partners"], "charts": [{"file": "x.svg"}], "provenance": provenance,
               "tables": [{"spec": TableSpec("figures.japan_main_lac_partners", ""), "columns": columns,
                           "rows": partner_rows}]}
    bars = [(y, 20.0, 25.0, "imf-dots" if y <= 2020 else "imf-imts") for y in range(2017, 2022)]
    figure_1 = {"section": by_id["figure-1"], "charts": [{"file": "y.svg"}], "provenance": provenance,
                "tables": [{"spec": TableSpec("figures.fig1_japan_lac_trade", ""),
                            "columns": [{"name": n} for n in ("year", "exports_usd_bn", "imports_usd_bn", "sources")],
                            "rows": bars}]}
    text = by_id["figure-1"].text(figure_1, [figure_1, carried])
    assert "The dotted lines, 2022-2024, are Mexico, Brazil and Chile alone" in text["caption"]

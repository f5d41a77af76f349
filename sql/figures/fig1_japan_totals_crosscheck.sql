-- Cross-check of Figure 1's denominator: Japan's imports from the world per year as MOF counts them (sum of its
-- HS-9 import lines, converted at the annual average yen per US dollar, marts.fct_japan_trade_totals_mof)
-- beside Japan's imports from the World as reported to the IMF (DOTS mirror, CIF), from 2009 (MOF's first
-- file). Years only MOF has (2021-2024, past the DOTS mirror) are kept with the IMF side NULL.
-- @col year: Calendar year
-- @col mof_imports_jpy_bn: MOF total imports, billion yen
-- @col jpy_per_usd: Annual average yen per US dollar used for the conversion
-- @col mof_imports_usd_bn: MOF total imports converted, US$ billions
-- @col imf_dots_imports_usd_bn: Japan's imports from the World in IMF DOTS, US$ billions
-- @col difference_pct: (MOF - IMF DOTS) / IMF DOTS, percent
SELECT
    coalesce(m.year, d.year) AS year,
    round(m.value_jpy / 1e9, 3) AS mof_imports_jpy_bn,
    round(m.jpy_per_usd, 4) AS jpy_per_usd,
    round(m.value_usd / 1e9, 3) AS mof_imports_usd_bn,
    round(d.value_usd / 1e9, 3) AS imf_dots_imports_usd_bn,
    round(100 * (m.value_usd - d.value_usd) / d.value_usd, 3) AS difference_pct
FROM (
    SELECT * FROM marts.fct_japan_trade_totals_mof WHERE source = 'mof-hs9-imports' AND flow = 'import'
) AS m
FULL OUTER JOIN (
    SELECT year, value_usd FROM staging.stg_imf_dots__trade
    WHERE reporter_iso3 = 'JPN' AND partner_aggregate = 'world' AND flow = 'import'
) AS d ON d.year = m.year
WHERE coalesce(m.year, d.year) >= 2009
ORDER BY year

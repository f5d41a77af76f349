SELECT
    coalesce(m.year, d.year) AS year,
    round(m.value_jpy / 1e9, 3) AS mof_imports_jpy_bn,
    round(m.jpy_per_usd, 4) AS jpy_per_usd,
    round(m.value_usd / 1e9, 3) AS mof_imports_usd_bn,
    round(d.value_usd / 1e9, 3) AS imf_dots_imports_usd_bn,
    round(100 * (m.value_usd - d.value_usd) / d.value_usd, 3) AS difference_pct
FROM (
    SELECT * FROM {{ ref('fct_japan_trade_totals_mof') }} WHERE source = 'mof-hs9-imports' AND flow = 'import'
) AS m
FULL OUTER JOIN (
    -- DOTS's own value, whichever source fct_trade_annual_by_aggregate ranks first
    SELECT year, value_usd FROM {{ ref('int_trade_annual_unioned') }}
    WHERE source = 'imf-dots' AND reporter_iso3 = 'JPN' AND partner_aggregate = 'world' AND flow = 'import'
) AS d ON d.year = m.year
WHERE coalesce(m.year, d.year) >= 2009
ORDER BY year

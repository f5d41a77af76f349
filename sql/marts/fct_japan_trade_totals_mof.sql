-- Japan's total trade with the world per year as MOF counts it, in yen and US dollars, one row per source, year
-- and flow: 'mof-hs9-imports' (sum of MOF's HS-9 import lines; converted with the ANNUAL average rate of
-- marts.fct_fx_annual, the mean of FRED's twelve monthly EXJPUS averages, because only the year's value is
-- summed) and 'mof-customs' (the Total columns of MOF's monthly CSVs, complete years only; each month converted
-- with its own monthly rate and the months summed, so jpy_per_usd is the implied yen per dollar of the year).
-- Years without twelve FRED months are left out. Not used by Figure 1: a cross-check of what Japan reports
-- to the IMF (figures.fig1_japan_totals_crosscheck).
-- @col year: Calendar year
-- @col flow: export (FOB) or import (CIF)
-- @col value_jpy: Value in yen
-- @col jpy_per_usd: Yen per US dollar applied (annual average; for mof-customs value_jpy / value_usd)
-- @col value_usd: Value in US dollars
-- @col source: mof-hs9-imports or mof-customs
-- @col vintage: Snapshot vintage of the yen values
SELECT t.year, t.flow, t.value_jpy, fx.jpy_per_usd, t.value_jpy / fx.jpy_per_usd AS value_usd, t.source, t.vintage
FROM staging.stg_mof_hs9_imports__totals AS t
JOIN marts.fct_fx_annual AS fx USING (year)
UNION ALL
SELECT year, flow, CAST(sum(value_jpy) AS BIGINT), sum(value_jpy) / sum(value_usd), sum(value_usd), 'mof-customs', max(vintage)
FROM staging.stg_mof_customs__monthly
WHERE partner_aggregate = 'world'
GROUP BY year, flow
HAVING count(DISTINCT month) = 12 AND count(value_usd) = count(*)
ORDER BY source, year, flow

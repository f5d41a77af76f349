-- Annual goods trade of a country with an IMF aggregate partner (World, Advanced Economies, Western Hemisphere,
-- unallocated categories), one value per key, with the same source precedence as fct_trade_annual.
-- @col reporter_iso3: Reporting country ISO3
-- @col partner_aggregate: IMF aggregate code (see dim_imf_aggregate), e.g. 'world'
-- @col flow: export (FOB) or import (CIF)
-- @col year: Calendar year
-- @col value_usd: Value in US dollars, current prices
-- @col is_estimate: True where the publisher flagged the value as an estimate
-- @col source: Source of the value
-- @col vintage: Snapshot vintage of the value
SELECT reporter_iso3, partner_aggregate, flow, year, value_usd, is_estimate, source, vintage
FROM intermediate.int_trade_annual_unioned
WHERE source_rank = 1 AND partner_aggregate IS NOT NULL
ORDER BY reporter_iso3, partner_aggregate, flow, year

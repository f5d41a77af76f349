-- Annual goods trade between countries, one value per (reporter, partner, flow, year), chosen by the source
-- precedence in intermediate.int_trade_annual_unioned. Flows are as the reporter reports them: exports FOB,
-- imports CIF. Mirror flows (partner-reported) are separate rows with reporter and partner swapped.
-- @col reporter_iso3: Reporting country ISO3 (see dim_country)
-- @col partner_iso3: Partner country ISO3 (see dim_country)
-- @col flow: export (FOB) or import (CIF)
-- @col year: Calendar year
-- @col value_usd: Value in US dollars, current prices
-- @col is_estimate: True where the publisher flagged the value as an estimate
-- @col source: Source of the value: imf-dots (mirror) or imf-imts (live API)
-- @col vintage: Snapshot vintage of the value
SELECT reporter_iso3, partner_iso3, flow, year, value_usd, is_estimate, source, vintage
FROM intermediate.int_trade_annual_unioned
WHERE source_rank = 1 AND partner_iso3 IS NOT NULL
ORDER BY reporter_iso3, partner_iso3, flow, year

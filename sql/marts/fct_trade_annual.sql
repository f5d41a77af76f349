-- Annual goods trade between countries, one value per (reporter, partner, flow, year), chosen by the source
-- precedence in intermediate.int_trade_annual_unioned. Flows are as the reporter reports them: exports FOB,
-- imports CIF. Mirror flows (partner-reported) are separate rows with reporter and partner swapped.
-- @col reporter_iso3: Reporting country ISO3 (see dim_country)
-- @col partner_iso3: Partner country ISO3 (see dim_country)
-- @col flow: export (FOB) or import (CIF)
-- @col year: Calendar year
-- @col value_usd: Value in US dollars, current prices; NULL for a yen value without a full-year FRED rate
-- @col is_estimate: True where the publisher flagged the value as an estimate
-- @col source: Source of the value (precedence: intermediate.int_trade_annual_unioned), e.g. imf-dots
-- @col vintage: Snapshot vintage of the value
-- @col value_jpy: Value in yen where the source reports yen (MOF sources), else NULL
-- @col is_provisional: True where the publisher will still revise the value (MOF's latest year)
-- @col value_usd_note: Why value_usd is NULL, if it is (e.g. FRED has not yet twelve months of the year)
SELECT reporter_iso3, partner_iso3, flow, year, value_usd, is_estimate, source, vintage,
       value_jpy, is_provisional, value_usd_note
FROM intermediate.int_trade_annual_unioned
WHERE source_rank = 1 AND partner_iso3 IS NOT NULL
ORDER BY reporter_iso3, partner_iso3, flow, year

SELECT reporter_iso3, partner_aggregate, flow, year, value_usd, is_estimate, source, vintage
FROM {{ ref('int_trade_annual_unioned') }}
WHERE source_rank = 1 AND partner_aggregate IS NOT NULL
ORDER BY reporter_iso3, partner_aggregate, flow, year

SELECT reporter_iso3, partner_iso3, flow, year, value_usd, is_estimate, source, vintage,
       value_jpy, is_provisional, value_usd_note
FROM {{ ref('int_trade_annual_unioned') }}
WHERE source_rank = 1 AND partner_iso3 IS NOT NULL
ORDER BY reporter_iso3, partner_iso3, flow, year

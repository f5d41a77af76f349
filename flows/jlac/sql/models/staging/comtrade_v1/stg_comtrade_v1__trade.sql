SELECT
    r.reporter_iso3,
    NULL::VARCHAR AS reporter_aggregate,
    CASE WHEN r.partner_code <> 0 THEN r.partner_iso3 END AS partner_iso3,
    CASE WHEN r.partner_code = 0 THEN 'world' END AS partner_aggregate,
    r.flow,
    r.year,
    r.value_usd,
    NOT coalesce(r.is_reported, true) AS is_estimate,
    'comtrade-v1' AS source,
    r.vintage
FROM {{ source('comtrade_v1', 'comtrade_v1') }} AS r
WHERE r.vintage = (SELECT max(vintage) FROM {{ source('comtrade_v1', 'comtrade_v1') }})
  AND r.cmd_code = 'TOTAL'
  AND regexp_full_match(r.reporter_iso3, '[A-Z]{3}')
  AND (r.partner_code = 0 OR regexp_full_match(r.partner_iso3, '[A-Z]{3}'))

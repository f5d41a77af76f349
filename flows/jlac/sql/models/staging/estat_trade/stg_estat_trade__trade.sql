SELECT
    'JPN' AS reporter_iso3,
    c.iso3 AS partner_iso3,
    r.flow,
    r.year,
    sum(r.value_jpy_thousand) * 1000 AS value_jpy,
    fx.jpy_per_usd,
    sum(r.value_jpy_thousand) * 1000 / fx.jpy_per_usd AS value_usd,
    string_agg(DISTINCT r.mof_country_code, ',' ORDER BY r.mof_country_code) AS mof_codes,
    'estat-trade' AS source,
    r.vintage
FROM {{ source('estat_trade', 'estat_trade') }} AS r
JOIN {{ ref('stg_japan_customs_country_codes__countries') }} AS c ON c.estat_area_code = r.area_code
JOIN {{ ref('stg_fred_exjpus__annual') }} AS fx ON fx.year = r.year
WHERE r.vintage = (SELECT max(vintage) FROM {{ source('estat_trade', 'estat_trade') }})
  AND r.time_code LIKE '____000000'  -- annual time codes (YYYY000000)
  AND r.value_jpy_thousand IS NOT NULL
  AND c.iso3 IS NOT NULL
GROUP BY c.iso3, r.flow, r.year, fx.jpy_per_usd, r.vintage

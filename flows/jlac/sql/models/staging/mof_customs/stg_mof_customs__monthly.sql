SELECT
    r.file,
    r.month,
    year(r.month) AS year,
    r.flow,
    r.partner_code,
    c.iso3 AS partner_iso3,
    CASE WHEN r.partner_code = 'Total' AND r.file = 'd41ma.csv' THEN 'world' END AS partner_aggregate,
    r.value_jpy_thousand * 1000 AS value_jpy,
    fx.jpy_per_usd,
    r.value_jpy_thousand * 1000 / fx.jpy_per_usd AS value_usd,
    r.vintage
FROM {{ source('mof_customs', 'mof_customs') }} AS r
LEFT JOIN {{ ref('stg_japan_customs_country_codes__countries') }} AS c ON c.code = r.partner_code
LEFT JOIN {{ ref('stg_fred_exjpus__rates') }} AS fx ON fx.month = r.month
WHERE r.vintage = (SELECT max(vintage) FROM {{ source('mof_customs', 'mof_customs') }})
  AND (r.partner_code <> 'Total' OR r.file = 'd41ma.csv')
QUALIFY row_number() OVER (PARTITION BY r.month, r.flow, r.partner_code ORDER BY r.file) = 1

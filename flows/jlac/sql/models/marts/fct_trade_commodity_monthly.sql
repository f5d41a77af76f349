{{ config(materialized='view') }}

SELECT 'JPN' AS reporter_iso3, c.iso3 AS partner_iso3, m.country_code AS partner_code, m.flow, m.hs9, m.year,
       m.month, m.value_jpy_thousand * 1000 AS value_jpy,
       m.value_jpy_thousand * 1000 / fx.jpy_per_usd AS value_usd, fx.jpy_per_usd,
       m.quantity1, m.unit1, m.quantity2, m.unit2, m.is_synthetic, 'mof-hs9-country' AS source, m.vintage
FROM {{ ref('stg_mof_hs9_country__monthly') }} AS m
LEFT JOIN {{ ref('stg_japan_customs_country_codes__countries') }} AS c ON c.code = m.country_code
LEFT JOIN {{ ref('stg_fred_exjpus__rates') }} AS fx ON fx.month = make_date(m.year, m.month, 1)

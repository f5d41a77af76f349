{{ config(materialized='view') }}

WITH usd AS (  -- each month at its own month's rate (a month without trade needs none)
    SELECT l.*, c.iso3 AS partner_iso3, m.months_reported,
           list_transform(l.value_jpy_thousand_months,
                          lambda v, i: CASE WHEN v = 0 THEN 0 ELSE v * 1000 / fx.jpy_per_usd_months[i] END) AS usd_months
    FROM {{ ref('stg_mof_hs9_country__lines') }} AS l
    LEFT JOIN {{ ref('stg_japan_customs_country_codes__countries') }} AS c ON c.code = l.country_code
    LEFT JOIN {{ ref('int_jpy_per_usd_by_year') }} AS fx ON fx.year = l.year
    LEFT JOIN {{ ref('stg_mof_hs9_country__months_reported') }} AS m ON m.file = l.file
)
SELECT 'JPN' AS reporter_iso3, partner_iso3, country_code AS partner_code, flow, hs9, left(hs9, 2) AS hs_chapter,
       year, months_reported, value_jpy_thousand_year * 1000 AS value_jpy,
       -- a month with trade but no rate yet leaves a NULL in the list: no partial dollar year
       CASE WHEN list_count(usd_months) = 12 THEN list_sum(usd_months) END AS value_usd,
       quantity1_year AS quantity1, unit1, quantity2_year AS quantity2, unit2, is_synthetic,
       'mof-hs9-country' AS source, vintage
FROM usd

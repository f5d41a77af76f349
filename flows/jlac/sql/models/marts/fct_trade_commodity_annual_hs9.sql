{{ config(materialized='view') }}

WITH fx AS (  -- the twelve monthly rates of each year as one list (NULL where FRED has none)
    SELECT y AS year, list(r.jpy_per_usd ORDER BY m) AS rates
    FROM range(1950, 2101) AS yy(y), range(1, 13) AS t(m)
    LEFT JOIN {{ ref('stg_fred_exjpus__rates') }} AS r ON r.month = make_date(CAST(y AS INTEGER), CAST(m AS INTEGER), 1)
    GROUP BY y
), usd AS (
    SELECT r.*, list_transform(
               [r.value_m01, r.value_m02, r.value_m03, r.value_m04, r.value_m05, r.value_m06,
                r.value_m07, r.value_m08, r.value_m09, r.value_m10, r.value_m11, r.value_m12],
               lambda v, i: CASE WHEN v = 0 THEN 0 ELSE v * 1000 / fx.rates[i] END) AS usd_months
    FROM {{ source('mof_hs9_country', 'mof_hs9_country') }} AS r
    LEFT JOIN fx ON fx.year = r.year
)
SELECT 'JPN' AS reporter_iso3, c.iso3 AS partner_iso3, r.country_code AS partner_code, r.flow, r.hs9,
       left(r.hs9, 2) AS hs_chapter, r.year, r.value_year * 1000 AS value_jpy,
       -- a month with trade but no rate yet leaves a NULL in the list: no partial dollar year
       CASE WHEN list_count(r.usd_months) = 12 THEN list_sum(r.usd_months) END AS value_usd,
       r.quantity1_year AS quantity1, r.unit1, r.quantity2_year AS quantity2, r.unit2, r.is_synthetic,
       'mof-hs9-country' AS source, r.vintage
FROM usd AS r
LEFT JOIN {{ ref('stg_japan_customs_country_codes__countries') }} AS c ON c.code = r.country_code

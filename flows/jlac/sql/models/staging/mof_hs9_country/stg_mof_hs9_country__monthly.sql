{{ config(materialized='view') }}

SELECT file, flow, year, month, hs9, country_code, unit1, unit2, quantity1, quantity2, value_jpy_thousand,
       is_synthetic, vintage
FROM (
    SELECT file, flow, year, hs9, country_code, unit1, unit2, is_synthetic, vintage,
           unnest(range(1, 13)) AS month,
           unnest([quantity1_m01, quantity1_m02, quantity1_m03, quantity1_m04, quantity1_m05, quantity1_m06,
                   quantity1_m07, quantity1_m08, quantity1_m09, quantity1_m10, quantity1_m11, quantity1_m12])
               AS quantity1,
           unnest([quantity2_m01, quantity2_m02, quantity2_m03, quantity2_m04, quantity2_m05, quantity2_m06,
                   quantity2_m07, quantity2_m08, quantity2_m09, quantity2_m10, quantity2_m11, quantity2_m12])
               AS quantity2,
           unnest([value_m01, value_m02, value_m03, value_m04, value_m05, value_m06,
                   value_m07, value_m08, value_m09, value_m10, value_m11, value_m12]) AS value_jpy_thousand
    FROM {{ source('mof_hs9_country', 'mof_hs9_country') }}
)
WHERE value_jpy_thousand <> 0 OR quantity1 <> 0 OR quantity2 <> 0

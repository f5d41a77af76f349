{{ config(materialized='view') }}

-- One row per month of each wide row: each row joined to the months 1-12, the month's three columns picked by a CASE
-- (a quarter faster than unnesting three lists, measured on 13 M monthly rows; every query of the monthly fact pays
-- it). Not UNPIVOT: DuckDB stores an UNPIVOT view with the build's catalog name in it, which breaks the view once the
-- file is published under another name.
SELECT file, flow, year, month, hs9, country_code, unit1, unit2, quantity1, quantity2, value_jpy_thousand,
       is_synthetic, vintage
FROM (
    SELECT r.file, r.flow, r.year, m.month, r.hs9, r.country_code, r.unit1, r.unit2, r.is_synthetic, r.vintage,
           {%- for name, column in [('quantity1', 'quantity1'), ('quantity2', 'quantity2'),
                                    ('value_jpy_thousand', 'value')] %}
           CASE m.month {% for i in range(1, 13) %}WHEN {{ i }} THEN r.{{ column }}_m{{ '%02d' % i }} {% endfor -%}
           END AS {{ name }}{{ ',' if not loop.last }}
           {%- endfor %}
    FROM {{ source('mof_hs9_country', 'mof_hs9_country') }} AS r
    CROSS JOIN range(1, 13) AS m(month)
)
WHERE value_jpy_thousand <> 0 OR quantity1 <> 0 OR quantity2 <> 0

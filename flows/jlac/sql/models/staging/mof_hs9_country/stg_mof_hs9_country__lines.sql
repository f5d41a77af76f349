{{ config(materialized='view') }}

-- One row per line of MOF's files (flow, year, HS-9 line, partner), each measure's twelve months as one list: the
-- facts join a line to its partner and to its year's rates once, before the monthly fact turns the months into rows
-- (joining the 47 M monthly rows of 38 years instead of their 5.7 M lines made the monthly fact's queries 10-35 %
-- slower). A view: DuckDB builds only the lists a query reads.
SELECT file, flow, year, hs9, country_code, unit1, unit2,
       quantity1_year, quantity2_year, value_year AS value_jpy_thousand_year,
       {%- for name, column in [('quantity1', 'quantity1'), ('quantity2', 'quantity2'),
                                ('value_jpy_thousand', 'value')] %}
       [{% for i in range(1, 13) %}{{ column }}_m{{ '%02d' % i }}{{ ', ' if not loop.last }}{% endfor %}]
           AS {{ name }}_months,
       {%- endfor %}
       trade_months, is_synthetic, vintage
FROM {{ source('mof_hs9_country', 'mof_hs9_country') }}

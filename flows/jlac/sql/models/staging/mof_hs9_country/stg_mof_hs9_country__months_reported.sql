{{ config(materialized='view') }}

-- The months each of MOF's files reports. MOF files a year in progress with its later months at 0 on every line and
-- Value-Year the sum so far: summed as a whole year, January-October drew 2026 as a year of 10 months' trade (found
-- by a QA pass). A month reported is one with a value on some line; the partitions' Parquet statistics say so
-- without reading the rows.
SELECT file,
       CASE {% for m in range(12, 0, -1) -%}
           WHEN max_value_m{{ '%02d' % m }} > 0 THEN {{ m }} {% endfor -%}
           ELSE 0 END AS months_reported
FROM {{ source('mof_hs9_country', 'mof_hs9_country_partitions') }}

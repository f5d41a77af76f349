-- The yearly average the MOF staging models convert yen with, here so that staging reads no mart
-- (marts.fct_fx_annual publishes these rows).
SELECT year(month) AS year, avg(jpy_per_usd) AS jpy_per_usd, count(*) AS months, max(vintage) AS vintage
FROM {{ ref('stg_fred_exjpus__rates') }}
GROUP BY year(month)
HAVING count(*) = 12
ORDER BY year

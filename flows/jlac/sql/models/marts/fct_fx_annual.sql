SELECT year, jpy_per_usd, months, vintage
FROM {{ ref('stg_fred_exjpus__annual') }}
ORDER BY year

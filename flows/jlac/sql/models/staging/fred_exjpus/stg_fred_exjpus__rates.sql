SELECT month, jpy_per_usd, vintage
FROM {{ source('fred_exjpus', 'fred_exjpus') }}
WHERE jpy_per_usd IS NOT NULL

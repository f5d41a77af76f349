SELECT t.year, t.flow, t.value_jpy, fx.jpy_per_usd, t.value_jpy / fx.jpy_per_usd AS value_usd, t.source, t.vintage
FROM {{ ref('stg_mof_hs9_imports__totals') }} AS t
JOIN {{ ref('stg_fred_exjpus__annual') }} AS fx USING (year)
UNION ALL
SELECT year, flow, CAST(sum(value_jpy) AS BIGINT), sum(value_jpy) / sum(value_usd), sum(value_usd), 'mof-customs', max(vintage)
FROM {{ ref('stg_mof_customs__monthly') }}
WHERE partner_aggregate = 'world'
GROUP BY year, flow
HAVING count(DISTINCT month) = 12 AND count(value_usd) = count(*)
ORDER BY source, year, flow

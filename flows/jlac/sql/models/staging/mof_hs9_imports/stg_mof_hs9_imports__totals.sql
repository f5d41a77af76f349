SELECT
    year,
    flow,
    CAST(sum(value_jpy_thousand) * 1000 AS BIGINT) AS value_jpy,
    count(*) AS hs9_lines,
    'mof-hs9-imports' AS source,
    vintage
FROM {{ source('mof_hs9_imports', 'mof_hs9_imports') }}
WHERE vintage = (SELECT max(vintage) FROM {{ source('mof_hs9_imports', 'mof_hs9_imports') }})
GROUP BY year, flow, vintage
ORDER BY year, flow

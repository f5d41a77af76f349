WITH aggregates AS (
    SELECT DISTINCT imts_code, aggregate_code
    FROM {{ source('staging', 'country_name_map') }}
    WHERE kind = 'aggregate' AND imts_code IS NOT NULL
)
SELECT
    r.reporter_iso3,
    CAST(NULL AS VARCHAR) AS reporter_aggregate,
    CASE WHEN regexp_full_match(r.partner_code, '[A-Z]{3}') THEN r.partner_code END AS partner_iso3,
    CASE WHEN NOT regexp_full_match(r.partner_code, '[A-Z]{3}')
         THEN coalesce(a.aggregate_code, 'imts:' || r.partner_code) END AS partner_aggregate,
    r.flow,
    r.year,
    r.value_usd,
    false AS is_estimate,
    'imf-imts' AS source,
    r.vintage
FROM {{ source('imf_imts', 'imf_imts') }} AS r
LEFT JOIN aggregates AS a ON a.imts_code = r.partner_code
WHERE r.frequency = 'A'

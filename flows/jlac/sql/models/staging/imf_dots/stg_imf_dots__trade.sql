SELECT
    rm.iso3 AS reporter_iso3,
    rm.aggregate_code AS reporter_aggregate,
    pm.iso3 AS partner_iso3,
    pm.aggregate_code AS partner_aggregate,
    r.flow,
    r.year,
    r.value_usd_m * 1e6 AS value_usd,
    r.is_estimate,
    'imf-dots' AS source,
    r.vintage
FROM {{ source('imf_dots', 'imf_dots') }} AS r
JOIN {{ source('staging', 'country_name_map') }} AS rm ON rm.source = 'imf' AND rm.name = r.reporter_name
JOIN {{ source('staging', 'country_name_map') }} AS pm ON pm.source = 'imf' AND pm.name = r.partner_name
WHERE r.duplicate_of IS NULL  -- a workbook repeating another's reporter

SELECT aggregate_code, name AS imf_name, imts_code, note
FROM {{ source('staging', 'country_name_map') }}
WHERE kind = 'aggregate'
ORDER BY aggregate_code

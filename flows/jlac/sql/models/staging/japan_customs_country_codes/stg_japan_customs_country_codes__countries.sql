SELECT
    c.code,
    '50' || c.code AS estat_area_code,
    c.zone,
    c.country,
    m.iso3,
    c.zone = 'Middle and South America' AS is_mof_latin_america
FROM {{ source('japan_customs_country_codes', 'japan_customs_country_codes') }} AS c
LEFT JOIN {{ source('staging', 'country_name_map') }} AS m ON m.source = 'mof' AND m.name = c.country

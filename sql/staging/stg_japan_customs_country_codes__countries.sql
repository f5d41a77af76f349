-- Japan Customs (MOF) 3-digit partner codes with MOF's geographical zone and the ISO3 code jlac maps each to.
-- Several MOF codes can share one ISO3 code (e.g. Canary Islands and Ceuta-Melilla are both ESP).
-- @col code: MOF 3-digit country code
-- @col estat_area_code: e-Stat area code ('50' followed by the MOF code)
-- @col zone: MOF geographical zone, e.g. 'Middle and South America' (codes 305-415)
-- @col country: Country or area, MOF English spelling
-- @col iso3: ISO3 code of the country or territory; NULL for unallocated areas ('For Order', 'Unknown', ...)
-- @col is_mof_latin_america: True for MOF's 'Middle and South America' zone, wider than the 33 CELAC states
SELECT
    c.code,
    '50' || c.code AS estat_area_code,
    c.zone,
    c.country,
    m.iso3,
    c.zone = 'Middle and South America' AS is_mof_latin_america
FROM raw.japan_customs_country_codes AS c
LEFT JOIN staging.country_name_map AS m ON m.source = 'mof' AND m.name = c.country

-- Countries and territories (historical entities included) that any source names, keyed by ISO3, with the
-- report's regional groupings. IMF aggregates ('World', 'Western Hemisphere', ...) are in dim_imf_aggregate.
-- @col iso3: ISO 3166-1 alpha-3 (ISO 3166-3 or IMF/jlac codes for historical entities: SUN, YUG, CSK, ANT, BLX, XMW, YAR, YMD, DDR, SCG; XKX for Kosovo)
-- @col name: Short English name (pycountry's common name where it has one)
-- @col m49: UN M49 / ISO 3166-1 numeric code; NULL where none exists (Kosovo, West Malaysia)
-- @col kind: country, territory or historical
-- @col is_celac: Member of CELAC, the 33 states that are the report's "LAC"
-- @col is_mof_latin_america: In MOF's 'Middle and South America' zone (codes 305-415), which adds territories to CELAC
-- @col imf_names: Names the IMF uses for it
-- @col mof_codes: MOF 3-digit country codes that map to it
WITH names AS (
    SELECT * FROM staging.country_name_map WHERE iso3 IS NOT NULL
), mof AS (
    SELECT iso3, list(code ORDER BY code) AS mof_codes, bool_or(is_mof_latin_america) AS is_mof_latin_america
    FROM staging.stg_japan_customs_country_codes__countries
    WHERE iso3 IS NOT NULL
    GROUP BY iso3
)
SELECT
    n.iso3,
    arg_min(n.display_name, CASE n.source WHEN 'imf' THEN 0 WHEN 'mof' THEN 1 ELSE 2 END) AS name,
    max(n.m49) AS m49,
    arg_min(n.kind, CASE n.source WHEN 'imf' THEN 0 WHEN 'mof' THEN 1 ELSE 2 END) AS kind,
    bool_or(n.is_celac) AS is_celac,
    coalesce(any_value(mof.is_mof_latin_america), false) AS is_mof_latin_america,
    list(DISTINCT n.name ORDER BY n.name) FILTER (WHERE n.source = 'imf') AS imf_names,
    any_value(mof.mof_codes) AS mof_codes
FROM names AS n
LEFT JOIN mof USING (iso3)
GROUP BY n.iso3
ORDER BY n.iso3

-- IMF aggregates and unallocated categories that appear as reporters or partners in IMF trade data
-- ('World', 'Advanced Economies', 'Western Hemisphere', '... not specified'). Not countries: kept apart from dim_country.
-- @col aggregate_code: jlac code of the aggregate, e.g. 'world', 'western_hemisphere'
-- @col imf_name: Name as the IMF spells it
-- @col imts_code: Code in IMF IMTS (SDMX) where confirmed, e.g. G001 for World; NULL where not confirmed
-- @col note: What the aggregate covers, where it matters
SELECT aggregate_code, name AS imf_name, imts_code, note
FROM staging.country_name_map
WHERE kind = 'aggregate'
ORDER BY aggregate_code

-- IMF IMTS annual goods trade by reporter, partner, flow and year, for EVERY vintage jlac fetched (the input of
-- marts.trade_revisions). Partners are ISO3 codes, or IMF aggregates mapped to jlac's aggregate codes through
-- their IMTS codes (G001 -> 'world'); an aggregate code jlac has not confirmed is kept as 'imts:<code>'.
-- Values are plain US dollars as sent (the SCALE=6 attribute is not applied: the recorded API responses prove
-- that OBS_VALUE is in dollars). IMTS DERIVATION_TYPE codes are not documented, so no value is flagged as an
-- estimate.
-- @col reporter_iso3: Reporter ISO3 (IMTS COUNTRY)
-- @col reporter_aggregate: Always NULL: jlac asks IMTS only for country reporters
-- @col partner_iso3: Partner ISO3; NULL when the partner is an IMF aggregate
-- @col partner_aggregate: jlac aggregate code of the partner (e.g. 'world'), or 'imts:<code>' when unmapped
-- @col flow: export (FOB, XG_FOB_USD) or import (CIF, MG_CIF_USD), as the reporter reports it
-- @col year: Calendar year
-- @col value_usd: Value in US dollars, current prices
-- @col is_estimate: Always false (IMTS estimate flags are not mapped)
-- @col source: Always 'imf-imts'
-- @col vintage: Snapshot vintage of the value
WITH aggregates AS (
    SELECT DISTINCT imts_code, aggregate_code
    FROM staging.country_name_map
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
FROM raw.imf_imts AS r
LEFT JOIN aggregates AS a ON a.imts_code = r.partner_code
WHERE r.frequency = 'A'

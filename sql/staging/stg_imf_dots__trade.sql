-- IMF DOTS goods trade by reporter, partner, flow and year, in US dollars, with IMF names mapped to ISO3
-- codes (countries, territories, historical entities) or to jlac's IMF aggregate codes. Workbooks that repeat
-- another workbook's reporter are left out.
-- @col reporter_iso3: Reporter ISO 3166-1 alpha-3 (or jlac code for historical entities); NULL for IMF aggregates
-- @col reporter_aggregate: Reporter IMF aggregate code (dim_imf_aggregate) when the reporter is an aggregate
-- @col partner_iso3: Partner ISO3; NULL when the partner is an IMF aggregate
-- @col partner_aggregate: Partner IMF aggregate code when the partner is an aggregate, e.g. 'world'
-- @col flow: export (FOB) or import (CIF), as the reporter reports it
-- @col year: Calendar year
-- @col value_usd: Value in US dollars, current prices (DOTS millions x 1e6)
-- @col is_estimate: True where IMF marked the value as an estimate
-- @col source: Always 'imf-dots'
-- @col vintage: Snapshot vintage the value comes from
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
FROM raw.imf_dots AS r
JOIN staging.country_name_map AS rm ON rm.source = 'imf' AND rm.name = r.reporter_name
JOIN staging.country_name_map AS pm ON pm.source = 'imf' AND pm.name = r.partner_name
WHERE r.duplicate_of IS NULL  -- a workbook repeating another's reporter

-- UN Comtrade v1 total goods trade (cmdCode TOTAL), newest vintage, in the columns of
-- staging.stg_imf_dots__trade. Values are plain US dollars as Comtrade publishes them (primaryValue: CIF for
-- imports, FOB for exports), so nothing is converted. Rows are kept when reporterISO and partnerISO are
-- three letters (ISO3) or the partner is the world (code 0); Comtrade's own groupings carry digits or
-- underscores in those codes (W00 World, S19 'Asia, nes', _X 'Areas, nes', X1 ...) and are left out.
-- @col reporter_iso3: Reporter ISO3 (reporterISO)
-- @col reporter_aggregate: Always NULL: jlac asks Comtrade for country reporters
-- @col partner_iso3: Partner ISO3; NULL for the world
-- @col partner_aggregate: 'world' for partner code 0, else NULL
-- @col flow: export (FOB) or import (CIF), as the reporter reports it
-- @col year: Calendar year
-- @col value_usd: Value in US dollars, current prices
-- @col is_estimate: True where Comtrade says the reporter did not report the value itself (isReported false)
-- @col source: Always 'comtrade-v1'
-- @col vintage: Snapshot vintage
SELECT
    r.reporter_iso3,
    NULL::VARCHAR AS reporter_aggregate,
    CASE WHEN r.partner_code <> 0 THEN r.partner_iso3 END AS partner_iso3,
    CASE WHEN r.partner_code = 0 THEN 'world' END AS partner_aggregate,
    r.flow,
    r.year,
    r.value_usd,
    NOT coalesce(r.is_reported, true) AS is_estimate,
    'comtrade-v1' AS source,
    r.vintage
FROM raw.comtrade_v1 AS r
WHERE r.vintage = (SELECT max(vintage) FROM raw.comtrade_v1)
  AND r.cmd_code = 'TOTAL'
  AND regexp_full_match(r.reporter_iso3, '[A-Z]{3}')
  AND (r.partner_code = 0 OR regexp_full_match(r.partner_iso3, '[A-Z]{3}'))

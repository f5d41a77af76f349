-- IMF IMTS annual goods trade by reporter, partner, flow and year from the newest vintage jlac fetched, in the
-- columns of staging.stg_imf_dots__trade (older vintages stay in stg_imf_imts__trade_vintages for the
-- revisions). Values are plain US dollars.
-- @col reporter_iso3: Reporter ISO3 (IMTS COUNTRY)
-- @col reporter_aggregate: Always NULL: jlac asks IMTS only for country reporters
-- @col partner_iso3: Partner ISO3; NULL when the partner is an IMF aggregate
-- @col partner_aggregate: jlac aggregate code of the partner (e.g. 'world'), or 'imts:<code>' when unmapped
-- @col flow: export (FOB) or import (CIF), as the reporter reports it
-- @col year: Calendar year
-- @col value_usd: Value in US dollars, current prices
-- @col is_estimate: Always false (IMTS estimate flags are not mapped)
-- @col source: Always 'imf-imts'
-- @col vintage: Snapshot vintage of the value (the newest)
SELECT *
FROM staging.stg_imf_imts__trade_vintages
WHERE vintage = (SELECT max(vintage) FROM staging.stg_imf_imts__trade_vintages)

-- Every revision of a trade value, two kinds of rows (recorded_by). 'vintages': for each (reporter, partner, flow,
-- year) and each pair of consecutive vintages of a live source held in this build (IMF IMTS), a row where the
-- newer vintage changed the value. 'publish': written at publish time by the before-publish hook
-- jlac.publish_hooks.revisions, a row for every value of marts.fct_trade_annual or fct_trade_annual_by_aggregate
-- that this publish changed against the warehouse published before it, whichever source or vintage it came from
-- (old and new source and vintage), in US dollars and, for yen sources, in yen; earlier publishes' rows are
-- carried forward. Values that first appear (a new year, a dollar value filled in) are additions, not revisions,
-- and are not listed; neither are values dropped. marts.fct_trade_annual holds the current value.
-- @col source: Source of the new value (for 'vintages' rows the source whose vintages are compared)
-- @col reporter_iso3: Reporter ISO3
-- @col partner_iso3: Partner ISO3; NULL for an aggregate partner
-- @col partner_aggregate: Aggregate partner code (e.g. 'world'); NULL for a country partner
-- @col flow: export or import
-- @col year: Calendar year of the value
-- @col old_vintage: Vintage that published the previous value
-- @col old_value: Previous value, in unit
-- @col new_vintage: Vintage that published the revised value
-- @col new_value: Revised value, in unit
-- @col change_pct: (new - old) / old in percent; NULL when the old value was 0
-- @col old_source: Source of the previous value
-- @col new_source: Source of the revised value
-- @col unit: USD or JPY
-- @col recorded_by: vintages (compared within this build) or publish (compared with the previous warehouse)
-- @col published_run: Run whose publish recorded the row ('publish' rows); NULL for 'vintages' rows
-- @col published_at: When that publish ran (UTC); NULL for 'vintages' rows
WITH chained AS (
    SELECT
        source, reporter_iso3, partner_iso3, partner_aggregate, flow, year,
        lag(vintage) OVER w AS old_vintage,
        lag(value_usd) OVER w AS old_value,
        vintage AS new_vintage,
        value_usd AS new_value
    FROM staging.stg_imf_imts__trade_vintages
    WINDOW w AS (PARTITION BY source, reporter_iso3, partner_iso3, partner_aggregate, flow, year ORDER BY vintage)
)
SELECT
    source, reporter_iso3, partner_iso3, partner_aggregate, flow, year,
    old_vintage, old_value, new_vintage, new_value,
    round(100 * (new_value - old_value) / nullif(old_value, 0), 4) AS change_pct,
    source AS old_source, source AS new_source, 'USD' AS unit, 'vintages' AS recorded_by,
    NULL::VARCHAR AS published_run, NULL::TIMESTAMPTZ AS published_at
FROM chained
WHERE old_vintage IS NOT NULL AND new_value IS DISTINCT FROM old_value
ORDER BY new_vintage DESC, reporter_iso3, partner_iso3, partner_aggregate, flow, year

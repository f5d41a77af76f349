-- Every revision of a published trade value: for each (reporter, partner, flow, year) and each pair of
-- consecutive vintages of a live source, a row where the newer vintage changed the value. Values that first
-- appear in a vintage (a new year) are additions, not revisions, and are not listed; neither are values a
-- vintage dropped. marts.fct_trade_annual holds the current value; this table keeps the history.
-- @col source: Source whose vintages are compared, e.g. 'imf-imts'
-- @col reporter_iso3: Reporter ISO3
-- @col partner_iso3: Partner ISO3; NULL for an aggregate partner
-- @col partner_aggregate: Aggregate partner code (e.g. 'world'); NULL for a country partner
-- @col flow: export or import
-- @col year: Calendar year of the value
-- @col old_vintage: Vintage that published the previous value
-- @col old_value: Previous value, US dollars
-- @col new_vintage: Vintage that published the revised value
-- @col new_value: Revised value, US dollars
-- @col change_pct: (new - old) / old in percent; NULL when the old value was 0
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
    round(100 * (new_value - old_value) / nullif(old_value, 0), 4) AS change_pct
FROM chained
WHERE old_vintage IS NOT NULL AND new_value IS DISTINCT FROM old_value
ORDER BY new_vintage DESC, reporter_iso3, partner_iso3, partner_aggregate, flow, year

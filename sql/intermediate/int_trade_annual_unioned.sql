-- Country-level trade rows from every trade source, ranked for the choice of one value per
-- (reporter, partner, flow, year). Precedence: a newer release of the same statistic wins (imf-imts,
-- the successor of DOTS, over imf-dots); within a source the newest vintage wins.
-- @col reporter_iso3: Reporter ISO3
-- @col partner_iso3: Partner ISO3 (NULL when partner_aggregate is set)
-- @col partner_aggregate: IMF aggregate code of the partner, e.g. 'world'
-- @col flow: export or import, as the reporter reports it
-- @col year: Calendar year
-- @col value_usd: Value in US dollars, current prices
-- @col is_estimate: True where the publisher flagged an estimate
-- @col source: Source of the row
-- @col vintage: Snapshot vintage of the row
-- @col source_rank: 1 for the value jlac publishes for this key, 2+ for the values it set aside
SELECT
    *,
    row_number() OVER (
        PARTITION BY reporter_iso3, coalesce(partner_iso3, partner_aggregate), flow, year
        ORDER BY CASE source WHEN 'imf-imts' THEN 1 WHEN 'imf-dots' THEN 2 ELSE 9 END, vintage DESC
    ) AS source_rank
FROM (
    SELECT reporter_iso3, partner_iso3, partner_aggregate, flow, year, value_usd, is_estimate, source, vintage
    FROM staging.stg_imf_dots__trade
    WHERE reporter_iso3 IS NOT NULL
    UNION ALL
    -- The live IMTS release (newest fetched vintage only; older vintages feed marts.trade_revisions).
    SELECT reporter_iso3, partner_iso3, partner_aggregate, flow, year, value_usd, is_estimate, source, vintage
    FROM staging.stg_imf_imts__trade
    WHERE reporter_iso3 IS NOT NULL
)

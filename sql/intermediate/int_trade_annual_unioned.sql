-- Country-level trade rows from every trade source, ranked for the choice of one value per
-- (reporter, partner, flow, year). Precedence, and why:
--   1 imf-imts     IMF's live release, the successor of DOTS: the same statistic (what each country reports to
--                  the IMF, converted by the IMF), revised, and extending past the 2020 end of the DOTS mirror;
--   2 imf-dots     the mirror release of the same statistic, which Figure 1 reproduces: as long as an IMF value
--                  exists, Figure 1 and marts.fct_trade_annual stay on one definition across all countries;
--   3 estat-trade  Japan's own tables (MOF via e-Stat), for Japan's partners in years no IMF release covers;
--                  confirmed annual tables, converted here at FRED's annual average rate;
--   4 mof-customs  MOF's monthly CSVs, the same figures as the e-Stat tables but also preliminary months (only
--                  complete years reach this model), converted month by month;
--   5 mof-trade-by-country-top30  MOF's yearly by-country files for Japan's 30 largest partners (2021 on in the
--                  mirror): the same MOF statistic as 3 and 4, after them because those cover every partner and
--                  month; it carries yen, the provisional flag of the latest year, and value_usd NULL (with a
--                  note) for a year FRED has no full-year rate for. Never summed into region totals
--                  (intermediate.int_japan_trade_by_region leaves it out: 30 partners are not a region);
--   6 comtrade-v1  UN Comtrade, last: a compilation of the same national reports with UNSD's own adjustments
--                  and gap estimates, later than the IMF and MOF releases.
-- Within a source the newest vintage wins. Sources without a snapshot have empty raw tables, so the ranking
-- (and every mart built on it) is the IMF-only one in the mirror case.
-- @col reporter_iso3: Reporter ISO3
-- @col partner_iso3: Partner ISO3 (NULL when partner_aggregate is set)
-- @col partner_aggregate: IMF aggregate code of the partner, e.g. 'world'
-- @col flow: export or import, as the reporter reports it
-- @col year: Calendar year
-- @col value_usd: Value in US dollars, current prices; NULL for a yen value without a full-year rate
-- @col is_estimate: True where the publisher flagged an estimate
-- @col source: Source of the row
-- @col vintage: Snapshot vintage of the row
-- @col value_jpy: Value in yen for the sources that report yen (MOF), else NULL
-- @col is_provisional: True where the publisher will still revise the value (MOF's latest year)
-- @col value_usd_note: Why value_usd is NULL, if it is
-- @col source_rank: 1 for the value jlac publishes for this key, 2+ for the values it set aside
SELECT
    *,
    row_number() OVER (
        PARTITION BY reporter_iso3, coalesce(partner_iso3, partner_aggregate), flow, year
        ORDER BY
            CASE source
                WHEN 'imf-imts' THEN 1 WHEN 'imf-dots' THEN 2 WHEN 'estat-trade' THEN 3
                WHEN 'mof-customs' THEN 4
                WHEN 'mof-trade-by-country-top30' THEN 5 WHEN 'comtrade-v1' THEN 6 ELSE 9
            END,
            vintage DESC
    ) AS source_rank
FROM (
    SELECT reporter_iso3, partner_iso3, partner_aggregate, flow, year, value_usd, is_estimate, source, vintage,
           NULL::DOUBLE AS value_jpy, false AS is_provisional, NULL::VARCHAR AS value_usd_note
    FROM staging.stg_imf_dots__trade
    WHERE reporter_iso3 IS NOT NULL
    UNION ALL
    -- The live IMTS release (newest fetched vintage only; older vintages feed marts.trade_revisions).
    SELECT reporter_iso3, partner_iso3, partner_aggregate, flow, year, value_usd, is_estimate, source, vintage,
           NULL, false, NULL
    FROM staging.stg_imf_imts__trade
    WHERE reporter_iso3 IS NOT NULL
    UNION ALL
    -- Japan's tables on e-Stat: Japan as reporter, country partners only.
    SELECT reporter_iso3, partner_iso3, NULL::VARCHAR, flow, year, value_usd, false, source, vintage,
           value_jpy, false, NULL
    FROM staging.stg_estat_trade__trade
    UNION ALL
    -- MOF's monthly CSVs summed to complete years (twelve months, each with a FRED rate), countries and world.
    SELECT 'JPN', partner_iso3, partner_aggregate, flow, year, sum(value_usd), false, 'mof-customs', max(vintage),
           sum(value_jpy), false, NULL
    FROM staging.stg_mof_customs__monthly
    WHERE partner_iso3 IS NOT NULL OR partner_aggregate IS NOT NULL
    GROUP BY partner_iso3, partner_aggregate, flow, year
    HAVING count(DISTINCT month) = 12 AND count(value_usd) = count(*)
    UNION ALL
    -- MOF's yearly files for Japan's 30 largest partners (yen; USD only for years with a full-year FRED rate).
    SELECT reporter_iso3, partner_iso3, NULL::VARCHAR, flow, year, value_usd, false, source, vintage,
           value_jpy, is_provisional, value_usd_note
    FROM staging.stg_mof_trade_by_country_top30__trade
    UNION ALL
    SELECT reporter_iso3, partner_iso3, partner_aggregate, flow, year, value_usd, is_estimate, source, vintage,
           NULL, false, NULL
    FROM staging.stg_comtrade_v1__trade
)

-- Figure 1 carried forward for Japan's three largest LAC partners (Mexico, Brazil, Chile), 1995 to the latest
-- year, as Japan reports it (exports FOB, imports CIF): IMF's series (DOTS, Japan's reports to the IMF) up to
-- 2020, MOF's own statistics (mof-trade-by-country-top30, or the e-Stat / monthly MOF tables when fetched) from
-- 2021. Yen for the IMF years is the dollar value times FRED's annual average yen per dollar; dollars for MOF
-- years are yen divided by it, and stay NULL for a year FRED has not twelve months of (value_usd_note says so).
-- These rows are never added into the CELAC-33 total of figures.fig1_japan_lac_trade. Other sources' values for
-- the same year are in figures.japan_main_lac_partners_reconciliation.
-- @col year: Calendar year
-- @col partner_iso3: MEX, BRA or CHL
-- @col flow: export (Japan's exports, FOB) or import (Japan's imports, CIF)
-- @col value_jpy_bn: Value, billions of yen (3 decimals)
-- @col value_usd_bn: Value, billions of US dollars (3 decimals); NULL without a full-year yen/dollar rate
-- @col source: Source of the value: imf-dots or imf-imts up to 2020, a MOF source from 2021
-- @col is_provisional: True where the publisher will still revise the value (MOF's latest year)
-- @col vintage: Snapshot vintage of the value
-- @col jpy_per_usd: FRED annual average yen per dollar used for the conversion; NULL when the year has none
-- @col value_usd_note: Why value_usd_bn is NULL, if it is
WITH chosen AS (
    SELECT *, row_number() OVER (
        PARTITION BY partner_iso3, flow, year
        -- the IMF series to 2020 and MOF's from 2021, each in the warehouse's precedence order
        ORDER BY CASE WHEN (year <= 2020) = (source IN ('imf-imts', 'imf-dots')) THEN 0 ELSE 1 END, source_rank
    ) AS pick
    FROM intermediate.int_trade_annual_unioned
    WHERE reporter_iso3 = 'JPN' AND partner_iso3 IN ('MEX', 'BRA', 'CHL') AND year >= 1995
)
SELECT
    c.year,
    c.partner_iso3,
    c.flow,
    round(coalesce(c.value_jpy, c.value_usd * fx.jpy_per_usd) / 1e9, 3) AS value_jpy_bn,
    round(c.value_usd / 1e9, 3) AS value_usd_bn,
    c.source,
    c.is_provisional,
    c.vintage,
    fx.jpy_per_usd,
    c.value_usd_note
FROM chosen AS c
LEFT JOIN marts.fct_fx_annual AS fx ON fx.year = c.year
WHERE c.pick = 1
ORDER BY c.partner_iso3, c.flow, c.year

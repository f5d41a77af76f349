-- Figure 1: Japan's goods trade with the 33 CELAC states (the report's LAC), 1995 to the latest year, US$ billions, as
-- Japan reports it to the IMF (exports FOB, imports CIF). The report's span is 1995-2018; later years are the update.
-- @col year: Calendar year
-- @col exports_usd_bn: Japan's exports to the region, US$ billions
-- @col imports_usd_bn: Japan's imports from the region, US$ billions
-- @col total_usd_bn: Exports plus imports, US$ billions
-- @col japan_world_trade_usd_bn: Japan's total trade with the world (exports plus imports), US$ billions
-- @col lac_share_pct: The region's share of Japan's total trade, percent
-- @col in_report_span: True for 1995-2018, the years the report's Figure 1 shows
-- @col partners: Number of partner countries with a value that year
-- @col sources: Sources of the values
SELECT year, exports_usd_bn, imports_usd_bn, total_usd_bn, japan_world_trade_usd_bn, lac_share_pct, in_report_span,
       partners, sources
FROM intermediate.int_japan_trade_by_region
WHERE region = 'celac' AND year >= 1995
ORDER BY year

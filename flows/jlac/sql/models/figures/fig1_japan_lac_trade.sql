SELECT year, exports_usd_bn, imports_usd_bn, total_usd_bn, japan_world_trade_usd_bn, lac_share_pct, in_report_span,
       partners, export_partners, import_partners, sources
FROM {{ ref('int_japan_trade_by_region') }}
-- whole years only: a year whose partners so far hold less than 99 % of the region's trade is not "LAC"
WHERE region = 'celac' AND year >= 1995 AND is_complete
ORDER BY year

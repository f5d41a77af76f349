SELECT year, exports_usd_bn, imports_usd_bn, total_usd_bn, japan_world_trade_usd_bn, lac_share_pct, in_report_span,
       partners, sources
FROM {{ ref('int_japan_trade_by_region') }}
-- whole years only, as Figure 1 (a partial year is not the region's trade; found by a QA pass)
WHERE region = 'mof_latin_america' AND year >= 1995 AND is_complete
ORDER BY year

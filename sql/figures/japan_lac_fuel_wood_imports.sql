-- Japan's imports of mineral fuels (HS 27) and wood (HS 44) from the 33 CELAC states, by year, partner and
-- chapter, two ways: as Japan reports its imports (CIF) and as the partner reports its exports to Japan (FOB,
-- the mirror flow). The two differ by freight and insurance, timing, and goods routed through third countries.
-- One row per year, chapter and partner, plus a 'CELAC' row per year and chapter with the sums. US$ millions.
-- @col year: Calendar year
-- @col hs_chapter: 27 (mineral fuels) or 44 (wood)
-- @col partner_iso3: ISO3 of the CELAC partner, or 'CELAC' for the total
-- @col japan_imports_usd_m: Japan's imports from the partner as Japan reports them, US$ millions (CIF)
-- @col mirror_exports_usd_m: The partner's exports to Japan as the partner reports them, US$ millions (FOB); NULL where it reported none
-- @col japan_net_weight_t: Net weight of Japan's reported imports, tonnes; NULL where not reported (for 'CELAC', where any partner's is missing)
-- @col source: Source of both values
WITH celac AS (
    SELECT iso3 FROM marts.dim_country WHERE is_celac
), japan AS (
    SELECT year, hs_chapter, partner_iso3, value_usd, net_weight_kg
    FROM marts.fct_trade_commodity_annual
    WHERE reporter_iso3 = 'JPN' AND flow = 'import' AND partner_iso3 IN (SELECT iso3 FROM celac)
), mirror AS (
    SELECT year, hs_chapter, reporter_iso3 AS partner_iso3, value_usd
    FROM marts.fct_trade_commodity_annual
    WHERE partner_iso3 = 'JPN' AND flow = 'export' AND reporter_iso3 IN (SELECT iso3 FROM celac)
), cells AS (
    SELECT coalesce(j.year, m.year) AS year, coalesce(j.hs_chapter, m.hs_chapter) AS hs_chapter,
           coalesce(j.partner_iso3, m.partner_iso3) AS partner_iso3,
           j.value_usd AS japan_usd, m.value_usd AS mirror_usd, j.net_weight_kg
    FROM japan j
    FULL JOIN mirror m USING (year, hs_chapter, partner_iso3)
)
SELECT year, hs_chapter, partner_iso3, round(japan_usd / 1e6, 3) AS japan_imports_usd_m,
       round(mirror_usd / 1e6, 3) AS mirror_exports_usd_m, round(net_weight_kg / 1e3, 1) AS japan_net_weight_t,
       'comtrade-classic-hs27-hs44' AS source
FROM cells
UNION ALL
SELECT year, hs_chapter, 'CELAC', round(sum(japan_usd) / 1e6, 3), round(sum(mirror_usd) / 1e6, 3),
       -- a partial weight total would mislead: only when every partner's imports carry a weight
       CASE WHEN count(net_weight_kg) = count(japan_usd) THEN round(sum(net_weight_kg) / 1e3, 1) END,
       'comtrade-classic-hs27-hs44'
FROM cells
GROUP BY year, hs_chapter
ORDER BY year, hs_chapter, partner_iso3 <> 'CELAC', partner_iso3

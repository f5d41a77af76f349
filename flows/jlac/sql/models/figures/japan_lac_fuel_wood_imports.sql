WITH celac AS (
    SELECT iso3 FROM {{ ref('dim_country') }} WHERE is_celac
), japan AS (
    SELECT year, hs_chapter, partner_iso3, value_usd, net_weight_kg
    FROM {{ ref('fct_trade_commodity_annual') }}
    WHERE reporter_iso3 = 'JPN' AND flow = 'import' AND partner_iso3 IN (SELECT iso3 FROM celac)
), mirror AS (
    SELECT year, hs_chapter, reporter_iso3 AS partner_iso3, value_usd
    FROM {{ ref('fct_trade_commodity_annual') }}
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

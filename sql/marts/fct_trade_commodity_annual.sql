-- Annual trade by HS chapter between countries, one value per (reporter, partner, flow, year, chapter), as the
-- reporter reports it (imports CIF, exports FOB); the partner's report of the same trade is the row with
-- reporter and partner swapped (a mirror flow). Source: UN Comtrade classic bulk files, HS 27 (mineral fuels)
-- and HS 44 (wood), 1988-2017. Only imports and exports: Comtrade's re-exports and re-imports are parts of
-- them for most reporters and would count trade twice; World and non-geographic partners are left out.
-- @col reporter_iso3: Reporting country ISO3 (ISO 3166-3 codes for former states: SUN, YUG, CSK, DDR, ANT, SCG)
-- @col partner_iso3: Partner country ISO3
-- @col flow: export (FOB) or import (CIF)
-- @col year: Calendar year
-- @col hs_chapter: HS chapter, two digits: 27 (mineral fuels, oils and products) or 44 (wood and articles of wood)
-- @col value_usd: Value in US dollars, current prices
-- @col net_weight_kg: Net weight in kg; NULL where the reporter gave none
-- @col source: Source of the value (comtrade-classic-hs27-hs44)
-- @col vintage: Snapshot vintage of the value
SELECT reporter_iso3, partner_iso3, flow, year, hs_chapter, value_usd, net_weight_kg,
       'comtrade-classic-hs27-hs44' AS source, vintage
FROM staging.stg_comtrade_classic_hs27_hs44__trade
WHERE flow IN ('import', 'export') AND reporter_iso3 IS NOT NULL AND partner_iso3 IS NOT NULL
ORDER BY reporter_iso3, partner_iso3, flow, year, hs_chapter

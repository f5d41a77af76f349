-- UN Comtrade classic bulk data for HS chapters 27 (mineral fuels) and 44 (wood), 1988-2017, one row per
-- reporter, partner, flow, year and chapter, with Comtrade's ISO codes as ISO3 and jlac's flow names. Imports
-- are CIF, exports FOB, as each reporter reports them. Net weight 0 means none reported (NULL here).
-- @col reporter_iso3: Reporter ISO3 (Comtrade's Reporter ISO); NULL for 'Other Asia, nes'
-- @col reporter_name: Reporter as Comtrade names it
-- @col partner_iso3: Partner ISO3 (Comtrade's Partner ISO); NULL for World and non-geographic partners
-- @col partner_name: Partner as Comtrade names it
-- @col flow: import, export, re_export or re_import
-- @col year: Calendar year
-- @col hs_chapter: HS chapter: 27 (mineral fuels, oils) or 44 (wood)
-- @col hs_classification: HS edition the reporter used (H0 ... H5)
-- @col value_usd: Trade value, US dollars, current prices
-- @col net_weight_kg: Net weight, kg; NULL where the reporter gave none
-- @col is_estimate: True where Comtrade flags an estimated quantity or weight (flag <> 0)
-- @col file: File of the snapshot the row comes from
-- @col vintage: Snapshot vintage
SELECT
    reporter_iso3,
    reporter_name,
    partner_iso3,
    partner_name,
    CASE trade_flow_code WHEN 1 THEN 'import' WHEN 2 THEN 'export' WHEN 3 THEN 're_export' WHEN 4 THEN 're_import'
    END AS flow,
    year,
    commodity_code AS hs_chapter,
    classification AS hs_classification,
    trade_value_usd AS value_usd,
    nullif(netweight_kg, 0) AS net_weight_kg,
    coalesce(flag <> '0', false) AS is_estimate,
    file,
    vintage
FROM raw.comtrade_classic_hs27_hs44

-- Japan's imports from the 33 CELAC states by HS section and year, US$ millions, from REAL rows only. Where jlac
-- holds real rows of MOF's HS-9 x country table (mof-hs9-country fetched from e-Stat; rows of a snapshot marked
-- synthetic, i.e. benchmark data, are never read) a year is covered across all chapters; other years come from
-- the UN Comtrade extract in the mirror, which has only HS 27 (fuels: section V) and HS 44 (wood: section IX).
-- Empty when neither has a row: the mirror has no partner split of MOF's HS-9 table, so until a live fetch the
-- figure shows only the Comtrade chapters (1988-2017). A MOF year still being published covers only its months.
-- @col year: Calendar year
-- @col section: HS section, I-XXI or 'other'
-- @col section_no: Section number for sorting (22 = other)
-- @col section_name: Short name of the section
-- @col imports_usd_m: Japan's imports from CELAC states in the section, US$ millions (CIF, as Japan reports them)
-- @col partners: CELAC partners with imports in the section
-- @col coverage: all HS chapters (MOF) or HS 27 and 44 only (Comtrade extract)
-- @col source: mof-hs9-country or comtrade-classic-hs27-hs44
WITH celac AS (
    SELECT iso3 FROM marts.dim_country WHERE is_celac
), mof AS (
    SELECT a.year, a.hs_chapter, a.partner_iso3, a.value_usd
    FROM marts.fct_trade_commodity_annual_hs9 AS a
    WHERE a.flow = 'import' AND NOT a.is_synthetic AND a.partner_iso3 IN (SELECT iso3 FROM celac)
), comtrade AS (
    SELECT c.year, lpad(CAST(c.hs_chapter AS VARCHAR), 2, '0') AS hs_chapter, c.partner_iso3, c.value_usd
    FROM marts.fct_trade_commodity_annual AS c
    WHERE c.reporter_iso3 = 'JPN' AND c.flow = 'import' AND c.partner_iso3 IN (SELECT iso3 FROM celac)
      AND c.year NOT IN (SELECT DISTINCT year FROM mof)  -- MOF's full table wins for the years it covers
), rows AS (
    SELECT *, 'all HS chapters' AS coverage, 'mof-hs9-country' AS source FROM mof
    UNION ALL
    SELECT *, 'HS 27 and 44 only', 'comtrade-classic-hs27-hs44' FROM comtrade
)
SELECT r.year, s.section, s.section_no, s.section_name, round(sum(r.value_usd) / 1e6, 3) AS imports_usd_m,
       count(DISTINCT r.partner_iso3) AS partners, r.coverage, r.source
FROM rows AS r
JOIN marts.dim_hs_section AS s USING (hs_chapter)
GROUP BY ALL
ORDER BY r.year, s.section_no

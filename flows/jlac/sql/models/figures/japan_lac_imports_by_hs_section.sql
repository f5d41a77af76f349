WITH celac AS (
    SELECT iso3 FROM {{ ref('dim_country') }} WHERE is_celac
), mof AS (
    SELECT a.year, a.hs_chapter, a.partner_iso3, a.value_usd, a.months_reported
    FROM {{ ref('fct_trade_commodity_annual_hs9') }} AS a
    WHERE a.flow = 'import' AND NOT a.is_synthetic AND a.partner_iso3 IN (SELECT iso3 FROM celac)
), comtrade AS (
    SELECT c.year, lpad(CAST(c.hs_chapter AS VARCHAR), 2, '0') AS hs_chapter, c.partner_iso3, c.value_usd,
           12 AS months_reported  -- Comtrade's annual rows: whole years
    FROM {{ ref('fct_trade_commodity_annual') }} AS c
    WHERE c.reporter_iso3 = 'JPN' AND c.flow = 'import' AND c.partner_iso3 IN (SELECT iso3 FROM celac)
      AND c.year NOT IN (SELECT DISTINCT year FROM mof)  -- MOF's full table wins for the years it covers
), rows AS (
    SELECT *, 'all HS chapters' AS coverage, 'mof-hs9-country' AS source FROM mof
    UNION ALL
    SELECT *, 'HS 27 and 44 only', 'comtrade-classic-hs27-hs44' FROM comtrade
)
-- NULL, not a partial sum, when a line has no dollar value (a month without FRED's rate yet): sum() skips NULLs, and
-- a year's bars would show only the lines that traded in the months with a rate (found by a QA pass)
SELECT r.year, s.section, s.section_no, s.section_name,
       CASE WHEN count(r.value_usd) = count(*) THEN round(sum(r.value_usd) / 1e6, 3) END AS imports_usd_m,
       count(DISTINCT r.partner_iso3) AS partners, min(r.months_reported) AS months_reported, r.coverage, r.source
FROM rows AS r
JOIN {{ ref('dim_hs_section') }} AS s USING (hs_chapter)
GROUP BY ALL
ORDER BY r.year, s.section_no

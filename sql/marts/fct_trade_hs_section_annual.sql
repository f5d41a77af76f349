-- Japan's trade by HS section, partner and year from MOF's HS-9 x country table: the sum of
-- marts.fct_trade_commodity_annual_hs9 over the HS-9 lines of each section (see marts.dim_hs_section), in yen
-- and in US dollars (each month at its own rate; NULL when a month has no rate yet). A view: a refresh that adds
-- one month recomputes nothing; a query for a few years or partners reads only their partitions.
-- @materialized: view
-- @col reporter_iso3: Reporting country: JPN
-- @col partner_iso3: Partner ISO3; NULL for MOF codes without a country
-- @col partner_code: MOF 3-digit partner code
-- @col flow: export (FOB) or import (CIF)
-- @col year: Calendar year
-- @col section: HS section, I-XXI or 'other'
-- @col section_no: Section number for sorting (22 = other)
-- @col hs9_lines: HS-9 lines with trade in the section
-- @col value_jpy: Value in yen
-- @col value_usd: Value in US dollars; NULL when any month lacks a rate
-- @col is_synthetic: True for benchmark data from a snapshot marked synthetic
-- @col vintage: Snapshot vintage
SELECT a.reporter_iso3, a.partner_iso3, a.partner_code, a.flow, a.year, s.section, s.section_no,
       count(*) AS hs9_lines, sum(a.value_jpy) AS value_jpy,
       CASE WHEN count(a.value_usd) = count(*) THEN sum(a.value_usd) END AS value_usd,
       a.is_synthetic, a.vintage
FROM marts.fct_trade_commodity_annual_hs9 AS a
JOIN marts.dim_hs_section AS s USING (hs_chapter)
GROUP BY ALL


{{ config(materialized='view') }}

SELECT a.reporter_iso3, a.partner_iso3, a.partner_code, a.flow, a.year, s.section, s.section_no,
       min(a.months_reported) AS months_reported, count(*) AS hs9_lines, CAST(sum(a.value_jpy) AS BIGINT) AS value_jpy,  -- yen: BIGINT, not HUGEINT
       CASE WHEN count(a.value_usd) = count(*) THEN sum(a.value_usd) END AS value_usd,
       a.is_synthetic, a.vintage
FROM {{ ref('fct_trade_commodity_annual_hs9') }} AS a
JOIN {{ ref('dim_hs_section') }} AS s USING (hs_chapter)
GROUP BY ALL

{{ config(materialized='view') }}

SELECT a.reporter_iso3, a.partner_iso3, a.partner_code, a.flow, a.year, s.section, s.section_no,
       count(*) AS hs9_lines, sum(a.value_jpy) AS value_jpy,
       CASE WHEN count(a.value_usd) = count(*) THEN sum(a.value_usd) END AS value_usd,
       a.is_synthetic, a.vintage
FROM {{ ref('fct_trade_commodity_annual_hs9') }} AS a
JOIN {{ ref('dim_hs_section') }} AS s USING (hs_chapter)
GROUP BY ALL

WITH span AS (
    SELECT * FROM {{ ref('int_japan_trade_by_region') }} WHERE region = 'celac' AND year BETWEEN 2014 AND 2018
), stats AS (
    SELECT 'C01' AS statement_id, 'Japan-LAC trade averaged about US$58 bn a year' AS statement, '2014-2018' AS period,
           58.0 AS report_value, avg(exports_usd + imports_usd) / 1e9 AS jlac_value, 'US$ bn per year' AS unit
    FROM span
    UNION ALL
    SELECT 'C02', 'LAC is about 4% of Japan''s total trade', '2014-2018',
           4.0, 100 * sum(exports_usd + imports_usd) / sum(world_exports_usd + world_imports_usd), 'percent'
    FROM span
)
SELECT statement_id, statement, period, report_value, round(jlac_value, 3) AS jlac_value, unit,
       round(100 * (jlac_value - report_value) / report_value, 2) AS difference_pct
FROM stats
ORDER BY statement_id

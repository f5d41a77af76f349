WITH regions AS (
    SELECT 'celac' AS region, iso3 FROM {{ ref('dim_country') }} WHERE is_celac
    UNION ALL
    SELECT 'mof_latin_america', iso3 FROM {{ ref('dim_country') }} WHERE is_mof_latin_america
), lac AS (
    SELECT
        r.region,
        t.year,
        sum(t.value_usd) FILTER (WHERE t.flow = 'export') AS exports_usd,
        sum(t.value_usd) FILTER (WHERE t.flow = 'import') AS imports_usd,
        count(DISTINCT t.partner_iso3) AS partners,
        count(*) FILTER (WHERE t.is_estimate) AS estimated_values,
        string_agg(DISTINCT t.source, ',' ORDER BY t.source) AS sources
    FROM {{ ref('fct_trade_annual') }} AS t
    JOIN regions AS r ON r.iso3 = t.partner_iso3
    WHERE t.reporter_iso3 = 'JPN' AND t.source <> 'mof-trade-by-country-top30'
    GROUP BY r.region, t.year
), world AS (
    SELECT
        year,
        sum(value_usd) FILTER (WHERE flow = 'export') AS world_exports_usd,
        sum(value_usd) FILTER (WHERE flow = 'import') AS world_imports_usd
    FROM {{ ref('fct_trade_annual_by_aggregate') }}
    WHERE reporter_iso3 = 'JPN' AND partner_aggregate = 'world'
    GROUP BY year
)
SELECT lac.region, lac.year, lac.exports_usd, lac.imports_usd, world.world_exports_usd, world.world_imports_usd,
       lac.partners, lac.estimated_values, lac.sources,
       round(lac.exports_usd / 1e9, 3) AS exports_usd_bn,
       round(lac.imports_usd / 1e9, 3) AS imports_usd_bn,
       round((lac.exports_usd + lac.imports_usd) / 1e9, 3) AS total_usd_bn,
       round((world.world_exports_usd + world.world_imports_usd) / 1e9, 3) AS japan_world_trade_usd_bn,
       round(100 * (lac.exports_usd + lac.imports_usd) / (world.world_exports_usd + world.world_imports_usd), 3)
           AS lac_share_pct,
       lac.year BETWEEN 1995 AND 2018 AS in_report_span
FROM lac
LEFT JOIN world USING (year)
ORDER BY lac.region, lac.year

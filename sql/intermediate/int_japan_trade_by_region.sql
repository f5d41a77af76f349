-- Japan's trade with two definitions of Latin America and the Caribbean, by year, as Japan reports it:
-- 'celac' (the 33 CELAC states, the report's LAC) and 'mof_latin_america' (MOF's wider 'Middle and South
-- America' zone, as far as IMF partner rows exist for its territories), beside Japan's trade with the world.
-- Values from mof-trade-by-country-top30 are left out: that file has Japan's 30 largest partners only (Mexico,
-- Brazil and Chile in the region), and a region total needs every partner (IMF, e-Stat or MOF's full files);
-- those three partners are shown on their own in figures.japan_main_lac_partners.
-- @col region: celac or mof_latin_america
-- @col year: Calendar year
-- @col exports_usd: Japan's exports FOB to the region, US dollars
-- @col imports_usd: Japan's imports CIF from the region, US dollars
-- @col world_exports_usd: Japan's exports FOB to the world (IMF partner 'World'), US dollars
-- @col world_imports_usd: Japan's imports CIF from the world, US dollars
-- @col partners: Number of partner countries with a value that year
-- @col estimated_values: Number of partner values flagged as estimates
-- @col sources: Sources of the values, comma-separated
-- @col exports_usd_bn: exports_usd in US$ billions (3 decimals)
-- @col imports_usd_bn: imports_usd in US$ billions
-- @col total_usd_bn: Exports plus imports, US$ billions
-- @col japan_world_trade_usd_bn: Japan's exports plus imports with the world, US$ billions
-- @col lac_share_pct: The region's share of Japan's trade with the world, percent
-- @col in_report_span: True for 1995-2018, the years the report's Figure 1 shows
WITH regions AS (
    SELECT 'celac' AS region, iso3 FROM marts.dim_country WHERE is_celac
    UNION ALL
    SELECT 'mof_latin_america', iso3 FROM marts.dim_country WHERE is_mof_latin_america
), lac AS (
    SELECT
        r.region,
        t.year,
        sum(t.value_usd) FILTER (WHERE t.flow = 'export') AS exports_usd,
        sum(t.value_usd) FILTER (WHERE t.flow = 'import') AS imports_usd,
        count(DISTINCT t.partner_iso3) AS partners,
        count(*) FILTER (WHERE t.is_estimate) AS estimated_values,
        string_agg(DISTINCT t.source, ',' ORDER BY t.source) AS sources
    FROM marts.fct_trade_annual AS t
    JOIN regions AS r ON r.iso3 = t.partner_iso3
    WHERE t.reporter_iso3 = 'JPN' AND t.source <> 'mof-trade-by-country-top30'
    GROUP BY r.region, t.year
), world AS (
    SELECT
        year,
        sum(value_usd) FILTER (WHERE flow = 'export') AS world_exports_usd,
        sum(value_usd) FILTER (WHERE flow = 'import') AS world_imports_usd
    FROM marts.fct_trade_annual_by_aggregate
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

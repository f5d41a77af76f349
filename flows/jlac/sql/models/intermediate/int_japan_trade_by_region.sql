WITH japan AS (
    -- Japan's values by partner as marts.fct_trade_annual chooses them, but from the sources that cover every
    -- partner: where MOF's top-30 file is first (a year IMF has not published yet), the next source in the order
    -- stands in. Filtering the fact instead dropped Mexico, Brazil and Chile from such a year while the other
    -- partners came from Comtrade (found by a QA pass).
    SELECT * FROM {{ ref('int_trade_annual_unioned') }}
    WHERE reporter_iso3 = 'JPN' AND partner_iso3 IS NOT NULL AND source <> 'mof-trade-by-country-top30'
    QUALIFY row_number() OVER (PARTITION BY partner_iso3, flow, year ORDER BY source_rank) = 1
), regions AS (
    SELECT 'celac' AS region, iso3 FROM {{ ref('int_countries') }} WHERE is_celac
    UNION ALL
    SELECT 'mof_latin_america', iso3 FROM {{ ref('int_countries') }} WHERE is_mof_latin_america
), lac AS (
    SELECT
        r.region,
        t.year,
        -- summed in one order: the rows come from a window in any order, and a float sum's last bits follow it
        sum(t.value_usd ORDER BY t.partner_iso3) FILTER (WHERE t.flow = 'export') AS exports_usd,
        sum(t.value_usd ORDER BY t.partner_iso3) FILTER (WHERE t.flow = 'import') AS imports_usd,
        count(DISTINCT t.partner_iso3) AS partners,
        count(*) FILTER (WHERE t.is_estimate) AS estimated_values,
        string_agg(DISTINCT t.source, ',' ORDER BY t.source) AS sources
    FROM japan AS t
    JOIN regions AS r ON r.iso3 = t.partner_iso3
    GROUP BY r.region, t.year
), partner_values AS (  -- each partner's value per flow and year
    SELECT r.region, t.flow, t.partner_iso3, t.year, sum(t.value_usd) AS value_usd
    FROM japan AS t
    JOIN regions AS r ON r.iso3 = t.partner_iso3
    WHERE t.value_usd IS NOT NULL
    GROUP BY ALL
), expected AS (
    -- A year's partners, per flow, against those that had a value in any of the three years before it, each
    -- weighted by its latest value then: a release whose latest year holds a few partners so far was drawn as a
    -- whole "LAC" year (found by a QA pass). Three years, so that a run of partial years is not compared with
    -- itself. In the mirror every year's partners cover at least 99.9 % of that weight.
    SELECT y.region, y.flow, y.year, p.partner_iso3, arg_max(p.value_usd, p.year) AS last_value,
           bool_or(n.partner_iso3 IS NOT NULL) AS present
    FROM (SELECT DISTINCT region, flow, year FROM partner_values) AS y
    JOIN partner_values AS p ON p.region = y.region AND p.flow = y.flow AND p.year BETWEEN y.year - 3 AND y.year - 1
    LEFT JOIN partner_values AS n
        ON n.region = y.region AND n.flow = y.flow AND n.year = y.year AND n.partner_iso3 = p.partner_iso3
    GROUP BY ALL
), coverage AS (
    SELECT region, year,
           coalesce(sum(last_value ORDER BY partner_iso3) FILTER (WHERE flow = 'export' AND present), 0)
               / nullif(sum(last_value ORDER BY partner_iso3) FILTER (WHERE flow = 'export'), 0) AS export_coverage,
           coalesce(sum(last_value ORDER BY partner_iso3) FILTER (WHERE flow = 'import' AND present), 0)
               / nullif(sum(last_value ORDER BY partner_iso3) FILTER (WHERE flow = 'import'), 0) AS import_coverage
    FROM expected
    GROUP BY ALL
), counts AS (
    SELECT region, year,
           count(*) FILTER (WHERE flow = 'export') AS export_partners,
           count(*) FILTER (WHERE flow = 'import') AS import_partners
    FROM partner_values
    GROUP BY ALL
), world AS (
    SELECT
        year,
        sum(value_usd) FILTER (WHERE flow = 'export') AS world_exports_usd,
        sum(value_usd) FILTER (WHERE flow = 'import') AS world_imports_usd
    FROM {{ ref('int_trade_annual_unioned') }}  -- the world rows marts.fct_trade_annual_by_aggregate publishes
    WHERE source_rank = 1 AND reporter_iso3 = 'JPN' AND partner_aggregate = 'world'
    GROUP BY year
)
SELECT lac.region, lac.year, lac.exports_usd, lac.imports_usd, world.world_exports_usd, world.world_imports_usd,
       lac.partners, counts.export_partners, counts.import_partners,
       round(coverage.export_coverage, 6) AS export_coverage, round(coverage.import_coverage, 6) AS import_coverage,
       -- both flows have a value, and each year's partners hold 99 % of what the partners of the years before held
       lac.exports_usd IS NOT NULL AND lac.imports_usd IS NOT NULL
           AND coalesce(coverage.export_coverage, 1) >= 0.99 AND coalesce(coverage.import_coverage, 1) >= 0.99
           AS is_complete,
       lac.estimated_values, lac.sources,
       round(lac.exports_usd / 1e9, 3) AS exports_usd_bn,
       round(lac.imports_usd / 1e9, 3) AS imports_usd_bn,
       round((lac.exports_usd + lac.imports_usd) / 1e9, 3) AS total_usd_bn,
       round((world.world_exports_usd + world.world_imports_usd) / 1e9, 3) AS japan_world_trade_usd_bn,
       round(100 * (lac.exports_usd + lac.imports_usd) / (world.world_exports_usd + world.world_imports_usd), 3)
           AS lac_share_pct,
       lac.year BETWEEN 1995 AND 2018 AS in_report_span
FROM lac
LEFT JOIN world USING (year)
LEFT JOIN counts USING (region, year)
LEFT JOIN coverage USING (region, year)
ORDER BY lac.region, lac.year

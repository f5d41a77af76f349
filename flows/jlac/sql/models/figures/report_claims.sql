WITH span AS (  -- Figure 1's years of 2014-2018, unrounded (the figure rounds each year to US$ million: a mean of
    -- those is off). Whole years only, as Figure 1 draws them (is_complete; the share also needs the world totals): a
    -- year incomplete or absent is left out and named, and the claim is then not compared (an average of 2014-2018
    -- without 2015 was published as the 2014-2018 value: QA pass)
    SELECT s.year, t.exports_usd + t.imports_usd AS lac_usd, t.world_exports_usd + t.world_imports_usd AS world_usd,
           coalesce(t.is_complete, false) AS lac_whole,
           coalesce(t.is_complete, false) AND t.world_exports_usd IS NOT NULL AND t.world_imports_usd IS NOT NULL
               AS share_whole
    FROM (SELECT CAST(range AS INTEGER) AS year FROM range(2014, 2019)) AS s
    LEFT JOIN {{ ref('int_japan_trade_by_region') }} AS t ON t.region = 'celac' AND t.year = s.year
), fig1 AS (
    SELECT 'C01' AS claim_id, avg(lac_usd) FILTER (WHERE lac_whole) / 1e9 AS value,
           string_agg(CAST(year AS VARCHAR), ', ' ORDER BY year) FILTER (WHERE lac_whole) AS years,
           string_agg(CAST(year AS VARCHAR), ', ' ORDER BY year) FILTER (WHERE NOT lac_whole) AS missing_years
    FROM span
    UNION ALL
    SELECT 'C02', 100 * sum(lac_usd) FILTER (WHERE share_whole) / sum(world_usd) FILTER (WHERE share_whole),
           string_agg(CAST(year AS VARCHAR), ', ' ORDER BY year) FILTER (WHERE share_whole),
           string_agg(CAST(year AS VARCHAR), ', ' ORDER BY year) FILTER (WHERE NOT share_whole)
    FROM span
), companies AS (  -- C09/C24: MOFA's counts of Japanese companies, a reviewed seed with a source on every row
    SELECT country, year, max(count) AS companies, string_agg(DISTINCT source_publisher, '; ') AS publisher,
           count(*) AS n_rows
    FROM {{ source('seeds', 'japanese_companies_mexico') }}
    WHERE (country = 'Mexico' AND year = 2018) OR (country = 'LAC total' AND year = 2015)
    GROUP BY ALL
), lending AS (  -- C05/C06: the LAC total per year, with Venezuela's part and the AidData dataset used
    SELECT l.year, l.aiddata_usd_m, l.aiddata_source, coalesce(v.aiddata_usd_m, 0) AS venezuela_usd_m
    FROM {{ ref('china_lac_lending') }} l
    LEFT JOIN {{ ref('china_lac_lending') }} v ON v.year = l.year AND v.recipient_iso3 = 'VEN'
    WHERE l.recipient_iso3 = 'LAC' AND l.aiddata_usd_m IS NOT NULL
), route32 AS (
    SELECT sum(amount_usd_nominal) / 1e6 AS usd_m FROM {{ ref('fct_china_finance_projects') }}
    WHERE source = 'aiddata-gcdf2-projects' AND project_id IN ('37364', '39847')
), jp_lac_oda AS (
    SELECT sum(amount_usd) / 1e6 AS usd_m FROM {{ ref('fct_dev_finance') }}
    WHERE source = 'oecd-dac2a' AND donor_iso3 = 'JPN' AND year = 2017
      AND recipient_iso3 IN (SELECT iso3 FROM {{ ref('dim_country') }} WHERE is_celac)
), top_partner AS (  -- C21: each country's largest partner by exports + imports in 2018, as it reports them, and
    -- whether China's trade is above both the United States' and Japan's: the report's "surpassed not only Japan but
    -- also the United States as a top trade partner" (a count of largest partners read 4, 'differs', for a claim that
    -- holds in all five: Argentina's largest is Brazil, China second; found by a QA pass)
    SELECT reporter_iso3, arg_max(partner_iso3, total) AS top,
           coalesce(max(total) FILTER (WHERE partner_iso3 = 'CHN') > max(total) FILTER (WHERE partner_iso3 = 'USA')
                    AND max(total) FILTER (WHERE partner_iso3 = 'CHN') > max(total) FILTER (WHERE partner_iso3 = 'JPN'),
                    false) AS china_ahead
    FROM (SELECT reporter_iso3, partner_iso3, sum(value_usd) AS total FROM {{ ref('fct_trade_annual') }}
          WHERE year = 2018 AND reporter_iso3 IN ('ARG', 'BRA', 'CHL', 'PER', 'URY') GROUP BY ALL)
    GROUP BY reporter_iso3
), mideplan_jica AS (
    SELECT sum(amount_usd) / 1e6 AS usd_m FROM {{ ref('fct_dev_finance') }}
    WHERE source = 'mideplan-cooperation' AND donor_iso3 = 'JPN' AND instrument = 'loan' AND year BETWEEN 2013 AND 2017
), cptpp AS (  -- C12: goods exports + imports with the world of the 11 CPTPP members, as each reports them
    SELECT sum(value_usd) / 1e12 AS usd_tn, count(DISTINCT reporter_iso3) AS members
    FROM {{ ref('fct_trade_annual_by_aggregate') }}
    WHERE partner_aggregate = 'world' AND year = 2017
      AND reporter_iso3 IN ('AUS', 'BRN', 'CAN', 'CHL', 'JPN', 'MYS', 'MEX', 'NZL', 'PER', 'SGP', 'VNM')
), derived AS (
    SELECT f.claim_id, f.value AS jlac_number,
           CASE WHEN f.missing_years IS NOT NULL
                THEN coalesce(CAST(round(f.value, 3) AS VARCHAR) || ' (' || f.years || ' only)', 'not computable')
           END AS jlac_text,
           CASE f.claim_id
               WHEN 'C01' THEN 'figures.fig1_japan_lac_trade: mean of exports + imports, 2014-2018 (IMF DOTS, Japan '
                               || 'as reporter, CELAC)'
               ELSE 'figures.fig1_japan_lac_trade: CELAC trade / Japan world trade, summed over 2014-2018' END
           || CASE WHEN f.missing_years IS NULL THEN ''
                   WHEN f.years IS NULL THEN '; not computable: no year of 2014-2018 is complete in Figure 1'
                   ELSE '; ' || f.missing_years || ' incomplete or absent in Figure 1: left out, the value covers '
                        || f.years || ' only and is not compared with the report' END AS jlac_source
    FROM fig1 AS f
    UNION ALL SELECT 'C03', (SELECT usd_m FROM jp_lac_oda), NULL,
           'oecd-dac2a: Japan net ODA disbursements to CELAC states, 2017 (net of loan repayments, calendar year; '
           || 'JICA''s figure is gross program value by fiscal year)'
    UNION ALL SELECT 'C05', (SELECT aiddata_usd_m / 1000 FROM lending WHERE year = 2018), NULL,
           coalesce((SELECT 'figures.china_lac_lending: CDB + China Eximbank loans to CELAC, 2018, ' || aiddata_source
                            || ' (nominal); of which Venezuela US$' || round(venezuela_usd_m / 1000, 2) || ' bn'
                     FROM lending WHERE year = 2018),
                    'aiddata-gcdf2-projects ends in 2017 and GCDF 3.0 country-year sums have no lender split: 2018 '
                    || 'policy-bank loans need a GCDF 3.0 projects snapshot (aiddata-gcdf3-projects)')
    UNION ALL SELECT 'C06', (SELECT aiddata_usd_m / 1000 FROM lending WHERE year = 2017), NULL,
           'figures.china_lac_lending: CDB + China Eximbank loans to CELAC, 2017, '
           || coalesce((SELECT aiddata_source FROM lending WHERE year = 2017), 'AidData') || ' (nominal)'
    UNION ALL SELECT 'C09', (SELECT companies FROM companies WHERE country = 'Mexico' AND year = 2018 AND n_rows = 1),
           NULL, coalesce((SELECT 'seeds.japanese_companies_mexico: Mexico, 2018 (' || publisher || ')' FROM companies
                           WHERE country = 'Mexico' AND year = 2018 AND n_rows = 1),
                          'seeds.japanese_companies_mexico has no single 2018 count for Mexico')
    UNION ALL SELECT 'C24', (SELECT companies FROM companies WHERE country = 'LAC total' AND year = 2015 AND n_rows = 1),
           NULL, coalesce((SELECT 'seeds.japanese_companies_mexico: LAC total, 2015 (' || publisher || ')'
                           FROM companies WHERE country = 'LAC total' AND year = 2015 AND n_rows = 1),
                          'seeds.japanese_companies_mexico has no single 2015 count for LAC')
    UNION ALL SELECT 'C12', (SELECT usd_tn FROM cptpp WHERE members = 11), NULL,
           'marts.fct_trade_annual_by_aggregate: goods exports + imports with the world of the 11 CPTPP members, '
           || '2017, as each reports to the IMF (DOTS)'
    UNION ALL SELECT 'C21', (SELECT CASE WHEN count(*) = 5 THEN count(*) FILTER (WHERE china_ahead) END
                             FROM top_partner),
           (SELECT CAST(count(*) FILTER (WHERE china_ahead) AS VARCHAR) || ' (largest partners: '
                   || string_agg(reporter_iso3 || ':' || top, ', ' ORDER BY reporter_iso3) || ')'
            FROM top_partner HAVING count(*) = 5),
           'marts.fct_trade_annual: exports + imports in 2018 as each country reports them; jlac_number counts those '
           || 'where China''s trade exceeds both the United States'' and Japan''s (the report: at least 5); '
           || 'jlac_value adds each one''s largest partner'
    UNION ALL SELECT 'C22', NULL, (SELECT strftime(min(announced_date), '%Y-%m-%d') FROM {{ source('seeds', 'japan_lac_policy') }}
                                   WHERE year_announced = 2018),
           'seeds.japan_lac_policy (MOFA page of the 2018 initiative)'
    UNION ALL SELECT 'C23', NULL, (SELECT strftime(min(announced_date), '%Y-%m-%d') FROM {{ source('seeds', 'japan_lac_policy') }}
                                   WHERE year_announced = 2014),
           'seeds.japan_lac_policy (MOFA, 2014 Juntos speech)'
    UNION ALL SELECT 'C26', (SELECT usd_m FROM mideplan_jica), NULL,
           'mideplan-cooperation: JICA loans registered 2013-2017 (needs a MIDEPLAN-format snapshot)'
    UNION ALL SELECT 'C27', (SELECT usd_m FROM route32), NULL,
           'aiddata-gcdf2-projects 37364 (US$296m buyer''s credit) + 39847 (RMB 628m concessional loan), nominal US$'
), needs AS (  -- the sources a claim is derived from; none holding a row: not in this warehouse (built without it at
    -- --drop, or no snapshot), which is not "not derivable from open data" (a QA pass saw C03, C06, C27 say so)
    SELECT claim_id, string_agg(source, ' or ' ORDER BY source) AS sources, NOT bool_or(loaded) AS none_loaded
    FROM (
        SELECT 'C03' AS claim_id, 'oecd-dac2a' AS source,
               EXISTS (SELECT 1 FROM {{ ref('fct_dev_finance_coverage') }} WHERE source = 'oecd-dac2a') AS loaded
        -- GCDF 2.0 ends in 2017: C05 (2018) needs GCDF 3.0 projects whether 2.0 is loaded or not (it said "not
        -- derivable from open data" for an open dataset jlac reads; found by a QA pass)
        UNION ALL SELECT c.claim_id, 'aiddata-gcdf2-projects',
               EXISTS (SELECT 1 FROM {{ ref('fct_dev_finance_coverage') }} WHERE source = 'aiddata-gcdf2-projects')
        FROM (VALUES ('C06'), ('C27')) AS c(claim_id)
        UNION ALL SELECT c.claim_id, 'aiddata-gcdf3-projects',
               EXISTS (SELECT 1 FROM {{ ref('fct_dev_finance_coverage') }} WHERE source = 'aiddata-gcdf3-projects')
        FROM (VALUES ('C05'), ('C06')) AS c(claim_id)
        UNION ALL SELECT 'C26', 'mideplan-cooperation',
               EXISTS (SELECT 1 FROM {{ ref('fct_dev_finance_coverage') }} WHERE source = 'mideplan-cooperation')
    ) GROUP BY claim_id
), measures AS (  -- a claim whose open-data value measures something else: shown, never compared
    SELECT 'C03' AS claim_id  -- net ODA disbursements by calendar year vs JICA's gross program value by fiscal year
), cited AS (  -- claims whose jlac value is looked up in a reviewed seed (a cited source on every row), not derived
    -- from open statistics: their status says so ('matches cited source'), not 'reproduced' (C09, C22-C24 read as
    -- re-derived from open data)
    SELECT * FROM (VALUES ('C09'), ('C22'), ('C23'), ('C24')) AS t(claim_id)
), unstated AS (  -- claims whose report_value is not the report's statement but the curator's (the claims seed's
    -- report_states): 'no', a number or date the report's text does not give (C06, C20, C24-C27); 'not the day', a
    -- date whose year or month it gives (C14-C16, C22, C23). A comparison with those says nothing of the report: C06
    -- read 'differs' from a 9bn and C27 'reproduced' a 396m the text never states, C22-C24 'matches cited source',
    -- and C25's unstated 3,932,119 stood as the report's beside 'not derivable' (found by QA passes). 'no' is said
    -- whatever jlac has; 'not the day' only where jlac has a date to set beside it
    SELECT c.claim_id, c.report_states,
           CASE WHEN c.report_states = 'not the day' THEN 'looked up, not compared'
                ELSE 'context, not stated in the report' END AS status,
           CASE WHEN c.report_states = 'not the day'
                THEN '; the report does not state the day (period ' || c.ref_period || '): the date is the seed''s, '
                     || 'not compared'
                WHEN ci.claim_id IS NOT NULL
                THEN '; the number is the cited source''s, added as context: the report does not state it, not '
                     || 'compared'
                WHEN regexp_matches(c.claim_paraphrased, 'candidate\)')
                THEN '; the report''s text does not state the number (' || c.report_value || ', the claims seed''s, '
                     || 'from ' || coalesce(c.rederive_dataset, 'its curator') || ', a value expected in a chart of '
                     || 'the report): not compared'
                ELSE '; the report does not state the ' || CASE WHEN c.unit = 'date' THEN 'date' ELSE 'number' END
                     || ' (' || c.report_value || ', the claims seed''s, from '
                     || coalesce(c.rederive_dataset, 'its curator') || ', added as context): not compared' END AS why
    FROM {{ source('seeds', 'report_claims') }} AS c
    LEFT JOIN cited AS ci USING (claim_id)
    WHERE c.report_states = 'no' OR (c.report_states = 'not the day' AND c.unit = 'date')
), cited_urls AS (  -- the reviewed seed row a cited claim's value is looked up in: its URL goes with it (the claims
    -- named the publisher only, and the site gave no link: found by a QA pass)
    SELECT 'C09' AS claim_id, any_value(source_url) AS source_url FROM {{ source('seeds', 'japanese_companies_mexico') }}
    WHERE country = 'Mexico' AND year = 2018 HAVING count(*) = 1
    UNION ALL
    SELECT 'C24', any_value(source_url) FROM {{ source('seeds', 'japanese_companies_mexico') }}
    WHERE country = 'LAC total' AND year = 2015 HAVING count(*) = 1
    UNION ALL
    SELECT c.claim_id, arg_min(p.source_url, p.announced_date)
    FROM {{ source('seeds', 'japan_lac_policy') }} AS p
    JOIN (VALUES ('C22', 2018), ('C23', 2014)) AS c(claim_id, year) ON p.year_announced = c.year
    WHERE p.announced_date IS NOT NULL
    GROUP BY c.claim_id
), partial AS (  -- a claim whose span has years missing from Figure 1: shown with the years it covers, never compared
    SELECT claim_id FROM fig1 WHERE missing_years IS NOT NULL
), claims AS (
    SELECT c.*, TRY_CAST(regexp_extract(replace(c.report_value, ',', ''), '-?\d+(\.\d+)?') AS DOUBLE) AS report_number
    FROM {{ source('seeds', 'report_claims') }} c
)
-- comparable: the claims set against a jlac value (reproduced or differs, from open data or a cited source); not those
-- measured otherwise, over an incomplete span, or without a jlac value (they read TRUE: a QA pass), nor those whose
-- report value the report does not state (unstated)
SELECT claims_out.* REPLACE (
    CASE WHEN unstated.report_states = 'no' THEN unstated.status
         WHEN claims_out.status NOT IN ('reproduced', 'differs') THEN claims_out.status
         WHEN unstated.claim_id IS NOT NULL THEN unstated.status
         WHEN cited.claim_id IS NULL THEN claims_out.status
         WHEN claims_out.status = 'reproduced' THEN 'matches cited source'
         ELSE 'differs from cited source' END AS status,
    claims_out.status IN ('reproduced', 'differs') AND unstated.claim_id IS NULL AS comparable,
    CASE WHEN unstated.claim_id IS NULL THEN claims_out.difference END AS difference,
    CASE WHEN unstated.claim_id IS NULL THEN claims_out.difference_pct END AS difference_pct,
    claims_out.jlac_source || CASE WHEN unstated.report_states = 'no'
                                        OR (unstated.claim_id IS NOT NULL
                                            AND claims_out.status IN ('reproduced', 'differs'))
                                   THEN unstated.why ELSE '' END AS jlac_source),
    urls.source_url
FROM (
SELECT
    c.claim_id,
    c.topic,
    c.claim_paraphrased AS claim,
    c.report_value,
    c.unit,
    c.ref_period,
    c.report_states,
    CASE WHEN c.unit = 'date' THEN NULL ELSE c.report_number END AS report_number,
    -- a whole number without '.0' (a count of companies read '2508.0')
    coalesce(d.jlac_text, regexp_replace(CAST(round(d.jlac_number, 3) AS VARCHAR), '\.0$', '')) AS jlac_value,
    round(d.jlac_number, 3) AS jlac_number,
    NULL::BOOLEAN AS comparable,  -- from the status, below
    CASE WHEN c.unit <> 'date' AND m.claim_id IS NULL AND p.claim_id IS NULL
         THEN round(d.jlac_number - c.report_number, 3) END AS difference,
    CASE WHEN c.unit <> 'date' AND m.claim_id IS NULL AND p.claim_id IS NULL AND c.report_number <> 0
         THEN round(100 * (d.jlac_number - c.report_number) / c.report_number, 2) END AS difference_pct,
    CASE
        WHEN p.claim_id IS NOT NULL THEN 'incomplete span'
        WHEN m.claim_id IS NOT NULL AND d.jlac_number IS NOT NULL THEN 'other measure'
        WHEN c.unit = 'date' AND d.jlac_text IS NOT NULL
            THEN CASE WHEN d.jlac_text = c.report_value THEN 'reproduced' ELSE 'differs' END
        WHEN d.jlac_number IS NULL AND n.none_loaded THEN 'source not loaded'
        WHEN d.jlac_number IS NULL OR c.report_number IS NULL THEN 'not derivable from open data'
        WHEN abs(d.jlac_number - c.report_number) <= 0.05 * abs(c.report_number) THEN 'reproduced'
        ELSE 'differs'
    END AS status,
    coalesce(d.jlac_source, 'no source in the warehouse covers this claim (' || c.rederive_dataset || ')')
        || CASE WHEN d.jlac_number IS NULL AND n.none_loaded
                THEN '; ' || n.sources || ' not loaded in this warehouse (no snapshot, or built without it at --drop)'
                ELSE '' END AS jlac_source
FROM claims c
LEFT JOIN derived d USING (claim_id)
LEFT JOIN measures m USING (claim_id)
LEFT JOIN partial p USING (claim_id)
LEFT JOIN needs n USING (claim_id)
) AS claims_out
LEFT JOIN cited ON cited.claim_id = claims_out.claim_id
LEFT JOIN unstated ON unstated.claim_id = claims_out.claim_id
LEFT JOIN cited_urls AS urls ON urls.claim_id = claims_out.claim_id
ORDER BY claims_out.claim_id

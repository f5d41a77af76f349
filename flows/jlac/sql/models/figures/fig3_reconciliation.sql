WITH dac AS (  -- DAC2a's net ODA to Costa Rica: from each donor country, and from all official donors
    SELECT year, donor_iso3, sum(amount_usd) / 1e6 AS usd_m
    FROM {{ ref('fct_dev_finance') }} WHERE source = 'oecd-dac2a' AND recipient_iso3 = 'CRI' GROUP BY ALL
), dac_all AS (
    SELECT year, net_oda_usd / 1e6 AS usd_m
    FROM {{ ref('fct_net_oda_received') }} WHERE source = 'oecd-dac2a' AND recipient_iso3 = 'CRI'
), mideplan AS (
    SELECT donor_iso3, year, instrument, sum(amount_usd) / 1e6 AS usd_m
    FROM {{ ref('fct_dev_finance') }} WHERE source = 'mideplan-cooperation' AND recipient_iso3 = 'CRI' GROUP BY ALL
), cdb_exim AS (
    SELECT commitment_year AS year, sum(amount_usd_nominal) / 1e6 AS usd_m
    FROM {{ ref('fct_china_finance_projects') }}
    WHERE source = 'aiddata-gcdf2-projects' AND recipient_iso3 = 'CRI' AND is_policy_bank AND instrument = 'loan'
    GROUP BY ALL
), jpy AS (
    SELECT year, units_per_usd FROM {{ source('seeds', 'fx_rates') }} WHERE currency = 'JPY'
), statements AS (
    SELECT claim_id AS statement_id, subject, year AS period, value AS published_value, unit AS published_unit,
           source_url
    FROM {{ source('seeds', 'published_finance_statements') }}
    WHERE claim_id LIKE '%CR%' AND claim_id <> 'EDN2016_paper_structure'
    UNION ALL
    SELECT 'MIDEPLAN_TOTAL_' || year, donor || ': cooperation received by Costa Rica (' || modality || ')', year,
           amount_usd_millions, 'US$ million', source_url
    FROM {{ source('seeds', 'mideplan_costa_rica_cooperation_totals') }} AS t
    -- a total the statements above already quote (same years, same amount) is one statement, not two: four were
    -- listed twice under two ids (found by a QA pass)
    WHERE NOT EXISTS (
        SELECT 1 FROM {{ source('seeds', 'published_finance_statements') }} AS p
        WHERE p.claim_id LIKE '%CR%' AND replace(p.year, '_', '-') = replace(t.year, '_', '-')
          AND TRY_CAST(p.value AS DOUBLE) = TRY_CAST(t.amount_usd_millions AS DOUBLE))
), matched AS (
    SELECT s.*,
        CASE
            WHEN s.published_unit LIKE 'JPY billion%' THEN TRY_CAST(s.published_value AS DOUBLE) * 1000
                / (SELECT units_per_usd FROM jpy WHERE year = TRY_CAST(s.period AS INTEGER))
            WHEN s.published_unit LIKE 'US$ million%' THEN TRY_CAST(replace(s.published_value, '~', '') AS DOUBLE)
        END AS published_usd_m,
        CASE
            WHEN s.statement_id = 'MOFA_CR_top_donors_2017_JPN'
                THEN (SELECT usd_m FROM dac WHERE year = 2017 AND donor_iso3 = 'JPN')
            WHEN s.statement_id = 'MOFA_CR_top_donors_2017_KOR'
                THEN (SELECT usd_m FROM dac WHERE year = 2017 AND donor_iso3 = 'KOR')
            WHEN s.statement_id IN ('JICA_CR_2013_framework', 'JICA_CR_2014_PailasII', 'JICA_CR_2017_BorinquenI')
                THEN (SELECT sum(usd_m) FROM mideplan WHERE donor_iso3 = 'JPN' AND instrument = 'loan'
                      AND year = TRY_CAST(s.period AS INTEGER))
            WHEN s.statement_id = 'MOJ_CR_loans_total'
                THEN (SELECT sum(usd_m) FROM mideplan WHERE donor_iso3 = 'JPN' AND instrument = 'loan')
            -- AidData dates the Route 32 loans (the Dialogue's 2015 entry) to their 2013 signing
            WHEN s.statement_id = 'IAD_CR_2015' THEN (SELECT usd_m FROM cdb_exim WHERE year = 2013)
            WHEN s.statement_id LIKE 'MIDEPLAN%'  -- a year or a period 'YYYY-YYYY'
                THEN (SELECT sum(usd_m) FROM dac_all
                      WHERE year BETWEEN TRY_CAST(left(s.period, 4) AS INTEGER) AND TRY_CAST(right(s.period, 4) AS INTEGER)
                      HAVING count(*) = TRY_CAST(right(s.period, 4) AS INTEGER) - TRY_CAST(left(s.period, 4) AS INTEGER) + 1)
        END AS jlac_usd_m,
        CASE
            WHEN s.statement_id LIKE 'MOFA%' OR s.statement_id LIKE 'MIDEPLAN%' THEN 'net_disbursement'
            ELSE 'commitment'
        END AS jlac_measure,
        CASE
            WHEN s.statement_id LIKE 'MOFA%' THEN 'oecd-dac2a: donor country to Costa Rica'
            WHEN s.statement_id LIKE 'MIDEPLAN%' THEN 'oecd-dac2a: Official Donors, Total to Costa Rica'
            WHEN s.statement_id = 'IAD_CR_2015'
                THEN 'aiddata-gcdf2-projects: CDB/China Eximbank loans to Costa Rica committed in 2013 (nominal)'
            ELSE 'mideplan-cooperation: Japanese loans registered (needs a MIDEPLAN-format snapshot)'
        END AS jlac_source,
        s.statement_id LIKE 'MOFA%' AS comparable,
        CASE
            WHEN s.statement_id LIKE 'MOFA%' THEN 'Same measure: the statement quotes DAC net ODA disbursements.'
            WHEN s.statement_id LIKE 'JICA%' OR s.statement_id = 'MOJ_CR_loans_total'
                THEN 'A loan agreement (commitment) is recorded when signed; DAC2a shows only net disbursements, '
                     || 'spread over later years and net of repayments. Only MIDEPLAN-format records hold '
                     || 'commitments; blank when none are loaded.'
            WHEN s.statement_id = 'IAD_CR_2015'
                THEN 'AidData dates the Route 32 finance (US$296m buyer''s credit + RMB 628m concessional loan) '
                     || 'to 2013, the signing year; the Dialogue database dated it 2015.'
            ELSE 'MIDEPLAN registers grants (no reembolsable) and loans (reembolsable) as committed, from all '
                 || 'cooperants incl. multilaterals and China; DAC2a is net ODA disbursements of DAC-reporting '
                 || 'donors (China absent), so the two are not the same flow.'
        END AS explanation
    FROM statements s
)
SELECT statement_id, subject, period, published_value, published_unit, round(published_usd_m, 3) AS published_usd_m,
       round(jlac_usd_m, 3) AS jlac_usd_m, jlac_measure, jlac_source, comparable,
       CASE WHEN comparable THEN round(jlac_usd_m - published_usd_m, 3) END AS difference_usd_m,
       explanation, source_url
FROM matched
ORDER BY statement_id

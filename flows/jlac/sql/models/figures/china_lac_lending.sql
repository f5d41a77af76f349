WITH loans AS (
    -- loans without a stated amount are counted apart: they add nothing to usd_m, which the note must say
    SELECT p.commitment_year AS year, p.recipient_iso3, count(p.amount_usd_nominal) AS n_loans,
           count(*) - count(p.amount_usd_nominal) AS n_loans_without_amount, sum(p.amount_usd_nominal) / 1e6 AS usd_m
    FROM {{ ref('int_dev_finance_china_policy_bank_loans') }} p
    GROUP BY ALL

), by_year AS (
    SELECT year, 'LAC' AS recipient_iso3, CAST(sum(n_loans) AS BIGINT) AS n_loans,  -- not HUGEINT
           CAST(sum(n_loans_without_amount) AS BIGINT) AS n_loans_without_amount, sum(usd_m) AS usd_m
    FROM loans GROUP BY year
), statements AS (  -- Dialogue/BU annual totals (IAD<year>_total) and the Venezuela/Dominican Republic loans
    SELECT TRY_CAST(year AS INTEGER) AS year,
           CASE claim_id WHEN 'IAD2018_VEN' THEN 'VEN' WHEN 'IAD2018_DOM' THEN 'DOM' ELSE 'LAC' END AS recipient_iso3,
           TRY_CAST(value AS DOUBLE) * CASE WHEN unit LIKE 'US$ billion%' THEN 1000 ELSE 1 END AS usd_m,
           source_url
    FROM {{ source('seeds', 'published_finance_statements') }}
    WHERE regexp_matches(claim_id, '^IAD\d{4}_(total|VEN|DOM)$')
), coverage AS (  -- years each loaded AidData project dataset covers (GCDF 3.0 wins where both do)
    SELECT g3.first_year AS gcdf3_first, g3.last_year AS gcdf3_last, g2.last_year AS gcdf2_last,
           greatest(g3.last_year, g2.last_year) AS last_year,
           cy.last_year AS gcdf3_country_year_last  -- GCDF 3.0's own last year, from its country-year file
    FROM (SELECT min(commitment_year) AS first_year, max(commitment_year) AS last_year
          FROM {{ ref('fct_china_finance_projects') }} WHERE source = 'aiddata-gcdf3-projects') g3,
         (SELECT max(commitment_year) AS last_year FROM {{ ref('fct_china_finance_projects') }}
          WHERE source = 'aiddata-gcdf2-projects') g2,
         (SELECT max(year) AS last_year FROM {{ ref('fct_china_finance_country_year') }}) cy
), keys AS (
    SELECT year, recipient_iso3 FROM loans
    UNION SELECT year, recipient_iso3 FROM by_year
    UNION SELECT year, recipient_iso3 FROM statements
), amounts AS (  -- a year whose AidData loans all lack an amount is unknown (NULL), not zero, as in Figure 3 (it read
    -- 0.0 for Venezuela 2008's two loans of unknown size: found by a QA pass); no loan recorded in a covered year is 0
    SELECT k.year, k.recipient_iso3,
           CASE WHEN coalesce(l.n_loans, y.n_loans) = 0
                     AND coalesce(l.n_loans_without_amount, y.n_loans_without_amount) > 0 THEN NULL
                ELSE coalesce(l.usd_m, y.usd_m, CASE WHEN k.year <= c.last_year THEN 0 END) END AS usd_m,
           coalesce(l.n_loans, y.n_loans) = 0 AND coalesce(l.n_loans_without_amount, y.n_loans_without_amount) > 0
               AS none_stated
    FROM keys k
    CROSS JOIN coverage c
    LEFT JOIN loans l ON l.year = k.year AND l.recipient_iso3 = k.recipient_iso3
    LEFT JOIN by_year y ON y.year = k.year AND y.recipient_iso3 = k.recipient_iso3
)
SELECT
    k.year,
    k.recipient_iso3,
    coalesce(l.n_loans, y.n_loans) AS n_loans,
    coalesce(l.n_loans_without_amount, y.n_loans_without_amount) AS n_loans_without_amount,
    round(a.usd_m, 1) AS aiddata_usd_m,
    CASE WHEN k.year BETWEEN c.gcdf3_first AND c.gcdf3_last THEN 'aiddata-gcdf3-projects'
         WHEN k.year <= c.gcdf2_last THEN 'aiddata-gcdf2-projects' END AS aiddata_source,
    round(s.usd_m, 1) AS dialogue_bu_usd_m,
    round(a.usd_m - s.usd_m, 1) AS difference_usd_m,
    CASE
        -- neither project dataset in the build (jlac refresh --drop, a mirror without them): said as such; it read
        -- "AidData project data loaded end in (none loaded) ... not derivable for 2015" (found by a QA pass)
        WHEN c.last_year IS NULL
            THEN 'AidData''s project data (aiddata-gcdf2-projects, aiddata-gcdf3-projects) is not loaded in this '
             || 'build: no AidData policy-bank loans for ' || k.year
        -- a year after GCDF 3.0's own (its country-year file ends in 2021): its projects would not give it either
        -- (2022 read "not derivable without a GCDF 3.0 projects snapshot": found by a QA pass)
        WHEN k.year > c.last_year AND c.gcdf3_last IS NULL AND k.year > c.gcdf3_country_year_last
            THEN 'AidData project data loaded end in ' || c.last_year || ' (GCDF 2.0); GCDF 3.0 ends in '
             || c.gcdf3_country_year_last || ': no AidData dataset jlac reads covers ' || k.year
        WHEN k.year > c.last_year AND c.gcdf3_last IS NULL
            THEN 'AidData project data loaded end in ' || c.last_year
             || ' (GCDF 2.0); GCDF 3.0 country-year sums have no lender split, so policy-bank loans for '
             || k.year || ' are not derivable without a GCDF 3.0 projects snapshot (jlac fetch aiddata-gcdf3-projects)'
        WHEN k.year > c.last_year
            THEN 'AidData project data loaded end in ' || c.last_year || ': policy-bank loans for ' || k.year
             || ' are not derivable from them'
        WHEN a.none_stated
            THEN 'AidData records ' || coalesce(l.n_loans_without_amount, y.n_loans_without_amount)
             || CASE WHEN coalesce(l.n_loans_without_amount, y.n_loans_without_amount) = 1 THEN ' loan' ELSE ' loans' END
             || ' this year, none with a stated amount: the amount is unknown, not zero'
        WHEN s.usd_m IS NULL THEN NULL
        WHEN abs(coalesce(l.usd_m, y.usd_m, 0) - s.usd_m) <= 0.05 * s.usd_m THEN 'within 5% of the Dialogue/BU total'
        -- each reason below points one way: AidData above Dialogue/BU, or below it (a QA pass found the first
        -- reason given for years where AidData is the lower one)
        WHEN coalesce(l.usd_m, y.usd_m, 0) > s.usd_m
            THEN 'AidData counts co-financed loans whole, loans to private firms and export credits, dated at '
             || 'commitment; Dialogue/BU counts loans to governments and state firms, dated by its own rules'
        ELSE 'AidData is lower: '
             || CASE WHEN coalesce(l.n_loans_without_amount, y.n_loans_without_amount, 0) > 0
                     THEN coalesce(l.n_loans_without_amount, y.n_loans_without_amount)
                          || CASE WHEN coalesce(l.n_loans_without_amount, y.n_loans_without_amount) = 1
                                  THEN ' of its loans this year has no stated amount and adds nothing here; '
                                  ELSE ' of its loans this year have no stated amount and add nothing here; ' END
                     ELSE '' END
             || 'Dialogue/BU counts loans AidData does not record or records smaller (its own sources, revised '
             || 'between vintages)'
    END AS note,
    s.source_url AS statement_url
FROM keys k
CROSS JOIN coverage c
LEFT JOIN loans l ON l.year = k.year AND l.recipient_iso3 = k.recipient_iso3
LEFT JOIN by_year y ON y.year = k.year AND y.recipient_iso3 = k.recipient_iso3
LEFT JOIN statements s ON s.year = k.year AND s.recipient_iso3 = k.recipient_iso3
JOIN amounts a ON a.year = k.year AND a.recipient_iso3 = k.recipient_iso3
ORDER BY k.year, k.recipient_iso3 <> 'LAC', k.recipient_iso3

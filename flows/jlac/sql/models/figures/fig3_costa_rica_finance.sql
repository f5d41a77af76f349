WITH donors AS (
    SELECT * FROM (VALUES ('CHN', 'China'), ('JPN', 'Japan'), ('KOR', 'Korea')) AS d(donor_iso3, donor)
), series AS (  -- which source measures which donor, and the years each source covers (for any recipient)
    SELECT f.donor_iso3, f.measure, f.source, f.price_basis, min(f.year) AS first_year, max(f.year) AS last_year
    FROM {{ ref('fct_dev_finance') }} f JOIN donors USING (donor_iso3)
    GROUP BY ALL
), years AS (
    SELECT unnest(generate_series(2009, (SELECT max(year) FROM {{ ref('fct_dev_finance') }}))) AS year
), cells AS (
    SELECT * FROM {{ ref('fig3_finance_by_donor') }} WHERE recipient_iso3 = 'CRI'
), unvalued AS (  -- AidData projects with no stated amount (fct_dev_finance keeps valued ones, with its filters)
    SELECT source, commitment_year AS year, count(*) AS projects
    FROM {{ ref('fct_china_finance_projects') }}
    WHERE recipient_iso3 = 'CRI' AND amount_usd_nominal IS NULL AND recommended_for_aggregates
    GROUP BY ALL
    UNION ALL
    -- GCDF 3.0's country-year file has a row only for a year with projects (Costa Rica: 2007-2021, none before);
    -- a row whose sums are all 0 is a year whose projects state no amount (2016: GCDF 2.0's one project that year,
    -- AVIC's grant, has none), not a year without finance. 1 marks the year; no project count exists at this grain.
    -- The face amounts: a year AidData's adjustment brings to 0 (a swap renewal only) has an amount, and it is 0.
    SELECT 'aiddata-gcdf3-country-year', year, 1
    FROM {{ ref('fct_china_finance_country_year') }}
    WHERE recipient_iso3 = 'CRI'
    GROUP BY year
    HAVING sum(face_amount_usd_2021) = 0
), source_years AS (
    -- The years each source has at all (any donor, any recipient). A year inside a series' span that its source lacks
    -- (a DAC2a release without its 2012 file) is unknown, not 0: it was drawn as 0.0 'none recorded' (QA pass). A
    -- year the source has without a row for this donor and Costa Rica (an empty DAC2a cell) is 0, none recorded.
    -- MIDEPLAN's registry is Costa Rica's projects only: a year without any is none recorded, so it is not checked.
    SELECT DISTINCT source, year FROM {{ ref('fct_dev_finance') }}
    UNION
    SELECT source, year FROM unvalued
)
SELECT
    s.donor_iso3,
    d.donor,
    y.year,
    s.measure,
    s.source,
    s.price_basis,
    -- a year whose only records have no amount is unknown (NULL), not zero; so is a year the source lacks
    CASE WHEN y.year BETWEEN s.first_year AND s.last_year AND (c.amount_usd_m IS NOT NULL OR u.projects IS NULL)
              AND (sy.year IS NOT NULL OR s.source = 'mideplan-cooperation')
         THEN coalesce(c.amount_usd_m, 0) END AS amount_usd_m,
    -- a year with none recorded has no loans either (0, as its amount), where the source splits instruments: it was
    -- NULL there beside 0.000 loans in years with grants only (QA pass)
    CASE WHEN c.loans_usd_m IS NOT NULL THEN c.loans_usd_m
         WHEN {{ splits_instruments('s.source') }} AND c.amount_usd_m IS NULL
              AND u.projects IS NULL AND y.year BETWEEN s.first_year AND s.last_year
              AND (sy.year IS NOT NULL OR s.source = 'mideplan-cooperation') THEN 0 END AS loans_usd_m,
    CASE WHEN y.year BETWEEN s.first_year AND s.last_year AND (sy.year IS NOT NULL OR s.source = 'mideplan-cooperation')
         THEN CASE WHEN s.source IN ('aiddata-gcdf2-projects', 'aiddata-gcdf3-projects') THEN coalesce(u.projects, 0)
              END END AS projects_without_amount,
    CASE WHEN y.year NOT BETWEEN s.first_year AND s.last_year THEN 'outside source years'
         WHEN sy.year IS NULL AND s.source <> 'mideplan-cooperation' THEN 'year not in source'
         WHEN c.amount_usd_m IS NULL AND u.projects > 0 THEN 'projects recorded without an amount'
         WHEN c.amount_usd_m IS NULL THEN 'none recorded'
         WHEN u.projects > 0 THEN 'reported; more projects recorded without an amount'
         ELSE 'reported' END AS coverage
FROM series s
JOIN donors d USING (donor_iso3)
CROSS JOIN years y
LEFT JOIN cells c ON c.donor_iso3 = s.donor_iso3 AND c.year = y.year AND c.source = s.source
    AND c.measure = s.measure AND c.price_basis = s.price_basis
LEFT JOIN unvalued u ON s.donor_iso3 = 'CHN' AND u.source = s.source AND u.year = y.year
LEFT JOIN source_years sy ON sy.source = s.source AND sy.year = y.year
ORDER BY s.donor_iso3, s.source, y.year

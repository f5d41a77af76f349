-- Loans (incl. export buyer's and supplier's credits) that China Development Bank or the Export-Import Bank of
-- China committed to the 33 CELAC states, one row per AidData project with an amount. A project co-financed with
-- other banks is counted whole (AidData gives no split). Sources: AidData's project rows, GCDF 3.0
-- (aiddata-gcdf3-projects, 2000-2021, only projects AidData recommends for aggregates) and GCDF 2.0
-- (aiddata-gcdf2-projects, 2000-2017). Precedence, so that no loan is counted twice: for each commitment year
-- within the years GCDF 3.0 projects cover (its first to last commitment year) the rows come from GCDF 3.0 only;
-- GCDF 2.0 fills the years outside them (all years when no GCDF 3.0 snapshot is loaded).
-- @col project_id: AidData project id (GCDF 2.0 TUFF id or GCDF 3.0 Record ID)
-- @col commitment_year: Year of the commitment
-- @col recipient_iso3: ISO3 of the borrower's country
-- @col title: Project title
-- @col funding_agencies: Chinese funders, '|'-separated
-- @col flow_type: AidData flow type (Loan, Export Buyer's Credit, ...)
-- @col amount_usd_nominal: Commitment, US dollars, nominal
-- @col source: AidData dataset the row comes from (aiddata-gcdf3-projects or aiddata-gcdf2-projects)
-- @col vintage: Snapshot vintage
WITH gcdf3_years AS (
    SELECT min(commitment_year) AS first_year, max(commitment_year) AS last_year
    FROM staging.stg_aiddata_gcdf3_projects__projects
)
SELECT project_id, commitment_year, recipient_iso3, title, funding_agencies, flow_type, amount_usd_nominal,
       'aiddata-gcdf3-projects' AS source, vintage
FROM staging.stg_aiddata_gcdf3_projects__projects
WHERE is_policy_bank AND instrument = 'loan' AND amount_usd_nominal IS NOT NULL AND recommended_for_aggregates
  AND recipient_iso3 IN (SELECT iso3 FROM marts.dim_country WHERE is_celac)
UNION ALL
SELECT CAST(p.project_id AS VARCHAR), p.commitment_year, p.recipient_iso3, p.title, p.funding_agencies, p.flow_type,
       p.amount_usd_nominal, 'aiddata-gcdf2-projects', p.vintage
FROM staging.stg_aiddata_gcdf2_projects__projects p
CROSS JOIN gcdf3_years y
WHERE p.is_policy_bank AND p.instrument = 'loan' AND p.amount_usd_nominal IS NOT NULL
  AND p.recipient_iso3 IN (SELECT iso3 FROM marts.dim_country WHERE is_celac)
  AND (y.first_year IS NULL OR p.commitment_year NOT BETWEEN y.first_year AND y.last_year)

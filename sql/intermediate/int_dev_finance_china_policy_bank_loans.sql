-- Loans (incl. export buyer's and supplier's credits) that China Development Bank or the Export-Import Bank of
-- China committed to the 33 CELAC states, one row per AidData GCDF 2.0 project with an amount. A project
-- co-financed with other banks is counted whole (AidData gives no split).
-- @col project_id: AidData project id
-- @col commitment_year: Year of the commitment
-- @col recipient_iso3: ISO3 of the borrower's country
-- @col title: Project title
-- @col funding_agencies: Chinese funders, '|'-separated
-- @col flow_type: AidData flow type (Loan, Export Buyer's Credit, ...)
-- @col amount_usd_nominal: Commitment, US dollars, nominal
-- @col vintage: Snapshot vintage
SELECT project_id, commitment_year, recipient_iso3, title, funding_agencies, flow_type, amount_usd_nominal, vintage
FROM staging.stg_aiddata_gcdf2_projects__projects
WHERE is_policy_bank AND instrument = 'loan' AND amount_usd_nominal IS NOT NULL
  AND recipient_iso3 IN (SELECT iso3 FROM marts.dim_country WHERE is_celac)

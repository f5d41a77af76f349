-- AidData GCDF 3.0 Chinese official finance projects (commitments), with jlac's instrument code and the
-- policy-bank flag. Amounts in US dollars, nominal and constant 2021; some projects have no amount (NULL).
-- @col project_id: AidData Record ID
-- @col recommended_for_aggregates: True where AidData recommends summing the project (no double counting)
-- @col commitment_year: Year of the commitment
-- @col recipient_name: Recipient as AidData names it
-- @col recipient_iso3: ISO3 of the recipient; NULL for regional projects
-- @col recipient_region: AidData region (America, Africa, ...)
-- @col title: Project title
-- @col status: Project status
-- @col flow_type: AidData flow type as given
-- @col flow_class: ODA-like, OOF-like or Vague (Official Finance)
-- @col instrument: jlac instrument: loan (loans and export credits), grant, technical_cooperation, debt_relief, unspecified
-- @col funding_agencies: Chinese funding agencies, '|'-separated when several
-- @col is_policy_bank: True when China Development Bank or the Export-Import Bank of China is among the funders
-- @col amount_usd_nominal: Commitment, US dollars, nominal
-- @col amount_usd_constant_2021: Commitment, US dollars, constant 2021
-- @col vintage: Snapshot vintage
SELECT
    project_id,
    coalesce(recommended_for_aggregates = 'Yes', false) AS recommended_for_aggregates,
    commitment_year,
    recipient_name,
    CASE WHEN regexp_matches(recipient_iso3, '^[A-Z]{3}$') THEN recipient_iso3 END AS recipient_iso3,
    recipient_region,
    title,
    status,
    flow_type,
    flow_class,
    CASE
        -- GCDF 3.0 spells Supplier's Credit with a typographic apostrophe; match on the words
        WHEN flow_type = 'Loan' OR flow_type LIKE 'Export Buyer%s Credit' OR flow_type LIKE 'Supplier%s Credit%'
            THEN 'loan'
        WHEN flow_type = 'Grant' THEN 'grant'
        WHEN flow_type IN ('Free-standing technical assistance', 'Scholarships/training in the donor country')
            THEN 'technical_cooperation'
        WHEN flow_type IN ('Debt rescheduling', 'Debt forgiveness') THEN 'debt_relief'
        ELSE 'unspecified'
    END AS instrument,
    funding_agencies,
    coalesce(funding_agencies LIKE '%China Development Bank%' OR funding_agencies LIKE '%Export-Import Bank of China%',
             false) AS is_policy_bank,
    amount_usd_nominal,
    amount_usd_constant_2021,
    vintage
FROM raw.aiddata_gcdf3_projects

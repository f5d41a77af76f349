-- AidData GCDF 2.0 Chinese official finance projects (commitments), with jlac's instrument code. Amounts in US
-- dollars, nominal and constant 2017; many grants have no amount (NULL).
-- @col project_id: AidData project id (china.aiddata.org/projects/<id>)
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
-- @col amount_usd_constant_2017: Commitment, US dollars, constant 2017
-- @col vintage: Snapshot vintage
SELECT
    project_id,
    commitment_year,
    recipient_name,
    recipient_iso3,
    recipient_region,
    title,
    status,
    flow_type,
    flow_class,
    CASE
        WHEN flow_type IN ('Loan', 'Export Buyer''s Credit', 'Supplier''s Credit/Export Seller''s Credit') THEN 'loan'
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
    amount_usd_constant_2017,
    vintage
FROM raw.aiddata_gcdf2_projects

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
FROM {{ source('aiddata_gcdf2_projects', 'aiddata_gcdf2_projects') }}

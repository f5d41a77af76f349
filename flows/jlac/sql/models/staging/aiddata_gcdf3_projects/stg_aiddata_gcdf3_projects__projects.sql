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
FROM {{ source('aiddata_gcdf3_projects', 'aiddata_gcdf3_projects') }}

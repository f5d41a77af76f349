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
    -- a typographic apostrophe (U+2019, as a spreadsheet's autocorrect writes it) is the same flow type: read as
    -- another, 739 buyer's credits became 'unspecified' and left the loan figures (found by a QA pass)
    CASE replace(flow_type, chr(8217), chr(39))
        WHEN 'Loan' THEN 'loan' WHEN 'Export Buyer''s Credit' THEN 'loan'
        WHEN 'Supplier''s Credit/Export Seller''s Credit' THEN 'loan'
        WHEN 'Grant' THEN 'grant'
        WHEN 'Free-standing technical assistance' THEN 'technical_cooperation'
        WHEN 'Scholarships/training in the donor country' THEN 'technical_cooperation'
        WHEN 'Debt rescheduling' THEN 'debt_relief' WHEN 'Debt forgiveness' THEN 'debt_relief'
        ELSE 'unspecified'
    END AS instrument,
    funding_agencies,
    coalesce(funding_agencies LIKE '%China Development Bank%' OR funding_agencies LIKE '%Export-Import Bank of China%',
             false) AS is_policy_bank,
    amount_usd_nominal,
    amount_usd_constant_2017,
    vintage
FROM {{ source('aiddata_gcdf2_projects', 'aiddata_gcdf2_projects') }}
-- AidData's rule for sums: rows recommended for aggregates, and no umbrella agreement (its parts are projects of
-- their own); the excerpt holds only those, a row outside them was summed into the loans (found by a QA pass)
WHERE coalesce(recommended_for_aggregates, 'Yes') = 'Yes' AND coalesce(umbrella, 'No') <> 'Yes'

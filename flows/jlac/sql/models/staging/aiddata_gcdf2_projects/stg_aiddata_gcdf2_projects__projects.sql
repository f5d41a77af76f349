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
    -- and in any case ('Export buyer''s credit' left 739 loans out the same way: a QA pass); the suite refuses a
    -- flow type outside these and 'Vague TBD'
    CASE lower(replace(flow_type, chr(8217), chr(39)))
        WHEN 'loan' THEN 'loan' WHEN 'export buyer''s credit' THEN 'loan'
        WHEN 'supplier''s credit/export seller''s credit' THEN 'loan'
        WHEN 'grant' THEN 'grant'
        WHEN 'free-standing technical assistance' THEN 'technical_cooperation'
        WHEN 'scholarships/training in the donor country' THEN 'technical_cooperation'
        WHEN 'debt rescheduling' THEN 'debt_relief' WHEN 'debt forgiveness' THEN 'debt_relief'
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
WHERE lower(coalesce(recommended_for_aggregates, 'Yes')) = 'yes' AND lower(coalesce(umbrella, 'No')) <> 'yes'

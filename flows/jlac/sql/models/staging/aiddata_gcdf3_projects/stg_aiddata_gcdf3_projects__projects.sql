SELECT
    project_id,
    coalesce(lower(recommended_for_aggregates) = 'yes', false) AS recommended_for_aggregates,
    commitment_year,
    recipient_name,
    CASE WHEN regexp_matches(recipient_iso3, '^[A-Z]{3}$') THEN recipient_iso3 END AS recipient_iso3,
    recipient_region,
    title,
    status,
    flow_type,
    flow_class,
    CASE
        -- GCDF 3.0 spells Supplier's Credit with a typographic apostrophe; match on the words, in any case (a
        -- spelling in other case left loans out of the sums without a word: a QA pass)
        WHEN lower(flow_type) = 'loan' OR lower(flow_type) LIKE 'export buyer%s credit'
            OR lower(flow_type) LIKE 'supplier%s credit%' THEN 'loan'
        WHEN lower(flow_type) = 'grant' THEN 'grant'
        WHEN lower(flow_type) IN ('free-standing technical assistance', 'scholarships/training in the donor country')
            THEN 'technical_cooperation'
        WHEN lower(flow_type) IN ('debt rescheduling', 'debt forgiveness') THEN 'debt_relief'
        ELSE 'unspecified'
    END AS instrument,
    funding_agencies,
    coalesce(funding_agencies LIKE '%China Development Bank%' OR funding_agencies LIKE '%Export-Import Bank of China%',
             false) AS is_policy_bank,
    amount_usd_nominal,
    amount_usd_constant_2021,
    vintage
FROM {{ source('aiddata_gcdf3_projects', 'aiddata_gcdf3_projects') }}

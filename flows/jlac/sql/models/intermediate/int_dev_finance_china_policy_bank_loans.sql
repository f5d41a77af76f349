WITH gcdf3_years AS (
    SELECT min(commitment_year) AS first_year, max(commitment_year) AS last_year
    FROM {{ ref('stg_aiddata_gcdf3_projects__projects') }}
)
SELECT project_id, commitment_year, recipient_iso3, title, funding_agencies, flow_type, amount_usd_nominal,
       'aiddata-gcdf3-projects' AS source, vintage
FROM {{ ref('stg_aiddata_gcdf3_projects__projects') }}
WHERE is_policy_bank AND instrument = 'loan' AND recommended_for_aggregates
  AND recipient_iso3 IN (SELECT iso3 FROM {{ ref('int_countries') }} WHERE is_celac)
UNION ALL
SELECT CAST(p.project_id AS VARCHAR), p.commitment_year, p.recipient_iso3, p.title, p.funding_agencies, p.flow_type,
       p.amount_usd_nominal, 'aiddata-gcdf2-projects', p.vintage
FROM {{ ref('stg_aiddata_gcdf2_projects__projects') }} p
CROSS JOIN gcdf3_years y
WHERE p.is_policy_bank AND p.instrument = 'loan'
  AND p.recipient_iso3 IN (SELECT iso3 FROM {{ ref('int_countries') }} WHERE is_celac)
  AND (y.first_year IS NULL OR p.commitment_year NOT BETWEEN y.first_year AND y.last_year)

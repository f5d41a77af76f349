-- Every project of AidData's two project datasets, valued or not: fct_dev_finance sums the valued ones by agency and
-- instrument, while the figures also count the projects without a stated amount and look single projects up
SELECT 'aiddata-gcdf2-projects' AS source, CAST(project_id AS VARCHAR) AS project_id, commitment_year, recipient_iso3,
       title, funding_agencies, flow_type, instrument, is_policy_bank,
       true AS recommended_for_aggregates,  -- staging keeps only the rows AidData recommends for sums
       amount_usd_nominal, vintage
FROM {{ ref('stg_aiddata_gcdf2_projects__projects') }}
UNION ALL
SELECT 'aiddata-gcdf3-projects', project_id, commitment_year, recipient_iso3, title, funding_agencies, flow_type,
       instrument, is_policy_bank, recommended_for_aggregates, amount_usd_nominal, vintage
FROM {{ ref('stg_aiddata_gcdf3_projects__projects') }}
ORDER BY source, project_id

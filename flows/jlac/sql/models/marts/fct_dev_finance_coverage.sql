-- What each development-finance source holds, every record counted (any recipient, with an amount or not): whether a
-- source is loaded in this build at all and the years it spans are facts of the source, not of the amounts
-- fct_dev_finance keeps (a build without a source, `jlac refresh --drop`, must say so rather than show 0)
SELECT source, year, count(*) AS n_records
FROM (
    SELECT 'oecd-dac2a' AS source, year FROM {{ ref('stg_oecd_dac2a__net_oda') }}
    UNION ALL SELECT 'oecd-dac2a-api', year FROM {{ ref('stg_oecd_dac2a_api__net_oda') }}
    UNION ALL SELECT 'oecd-crs-api', year FROM {{ ref('stg_oecd_crs_api__activities') }}
    UNION ALL SELECT 'aiddata-gcdf2-projects', commitment_year FROM {{ ref('stg_aiddata_gcdf2_projects__projects') }}
    UNION ALL SELECT 'aiddata-gcdf3-projects', commitment_year FROM {{ ref('stg_aiddata_gcdf3_projects__projects') }}
    UNION ALL SELECT 'aiddata-gcdf3-country-year', year FROM {{ ref('stg_aiddata_gcdf3_country_year__commitments') }}
    UNION ALL SELECT 'aiddata-v2-donor-recipient-year', year
              FROM {{ ref('stg_aiddata_v2_donor_recipient_year__commitments') }}
    UNION ALL SELECT 'mideplan-cooperation', year(approval_date) FROM {{ ref('stg_mideplan_cooperation__projects') }}
)
GROUP BY ALL
ORDER BY source, year

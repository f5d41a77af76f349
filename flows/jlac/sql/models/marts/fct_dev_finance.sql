SELECT donor_iso3, donor_agency, recipient_iso3, year, instrument, measure, sum(amount_usd) AS amount_usd,
       price_basis, source, vintage, count(*) AS n_records
FROM (
    SELECT donor_iso3, 'all official agencies' AS donor_agency, recipient_iso3, year,
           'oda_all_instruments' AS instrument, 'net_disbursement' AS measure, net_oda_usd AS amount_usd,
           'current' AS price_basis, 'oecd-dac2a' AS source, vintage
    FROM {{ ref('stg_oecd_dac2a__net_oda') }}
    WHERE donor_iso3 IS NOT NULL AND recipient_iso3 IS NOT NULL
    UNION ALL
    SELECT a.donor_iso3, 'all official agencies', a.recipient_iso3, a.year, 'oda_all_instruments',
           'net_disbursement', a.net_oda_usd, 'current', 'oecd-dac2a-api', a.vintage
    FROM {{ ref('stg_oecd_dac2a_api__net_oda') }} a
    WHERE a.donor_iso3 IS NOT NULL AND a.recipient_iso3 IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM {{ ref('stg_oecd_dac2a__net_oda') }} m
                      WHERE m.donor_iso3 = a.donor_iso3 AND m.recipient_iso3 = a.recipient_iso3 AND m.year = a.year)
    UNION ALL
    SELECT donor_iso3, donor_agency, recipient_iso3, year, instrument, measure, amount_usd, 'current',
           'oecd-crs-api', vintage
    FROM {{ ref('stg_oecd_crs_api__activities') }}
    WHERE donor_iso3 IS NOT NULL AND recipient_iso3 IS NOT NULL
    UNION ALL
    SELECT 'CHN', coalesce(funding_agencies, 'unspecified Chinese institution'), recipient_iso3, commitment_year,
           instrument, 'commitment', amount_usd_nominal, 'current', 'aiddata-gcdf2-projects', vintage
    FROM {{ ref('stg_aiddata_gcdf2_projects__projects') }}
    WHERE recipient_iso3 IS NOT NULL AND amount_usd_nominal IS NOT NULL
    UNION ALL
    SELECT 'CHN', coalesce(funding_agencies, 'unspecified Chinese institution'), recipient_iso3, commitment_year,
           instrument, 'commitment', amount_usd_nominal, 'current', 'aiddata-gcdf3-projects', vintage
    FROM {{ ref('stg_aiddata_gcdf3_projects__projects') }}
    WHERE recipient_iso3 IS NOT NULL AND amount_usd_nominal IS NOT NULL AND recommended_for_aggregates
    UNION ALL
    SELECT 'CHN', 'all official agencies', recipient_iso3, year, flow_class, 'commitment', amount_usd_2021,
           'constant-2021', 'aiddata-gcdf3-country-year', vintage
    FROM {{ ref('stg_aiddata_gcdf3_country_year__commitments') }}
    WHERE recipient_iso3 IS NOT NULL AND amount_usd_2021 > 0
    UNION ALL
    SELECT donor_iso3, 'all official agencies', recipient_iso3, year, 'unspecified', 'commitment', amount_usd,
           'constant-2009', 'aiddata-v2-donor-recipient-year', vintage
    FROM {{ ref('stg_aiddata_v2_donor_recipient_year__commitments') }}
    UNION ALL
    SELECT cooperant_iso3, coalesce(cooperant_agency, 'unspecified'), 'CRI', year(approval_date), instrument,
           'commitment', amount_usd, 'current', 'mideplan-cooperation', vintage
    FROM {{ ref('stg_mideplan_cooperation__projects') }}
    WHERE cooperant_iso3 IS NOT NULL AND status IS DISTINCT FROM 'cancelled'
)
GROUP BY ALL
-- stored in the grain's order, as every other table of marts and figures: a parallel aggregate's order differed
-- from one refresh to the next, and so did every export of the same rows (found by a QA pass)
ORDER BY donor_iso3, donor_agency, recipient_iso3, year, instrument, measure, price_basis, source

SELECT
    year,
    donor_iso3,
    coalesce(donor_agency, donor_agency_code, 'unspecified agency') AS donor_agency,
    recipient_iso3,
    CASE flow_type WHEN 'C' THEN 'commitment' WHEN 'D' THEN 'gross_disbursement' END AS measure,
    CASE measure_code WHEN '100' THEN 'oda' WHEN '14' THEN 'oof' END AS flow_class,
    CASE left(finance_type_code, 1)
        WHEN '1' THEN 'grant' WHEN '4' THEN 'loan' WHEN '5' THEN 'equity' WHEN '6' THEN 'debt_relief'
        ELSE CASE measure_code WHEN '100' THEN 'oda_all_instruments' ELSE 'oof_all_instruments' END
    END AS instrument,
    sector_code,
    activity_id,
    project_title,
    value_usd AS amount_usd,
    file,
    row_number,
    vintage
FROM {{ source('oecd_crs_api', 'oecd_crs_api') }}

-- OECD Creditor Reporting System activities of Japan and Korea to CELAC states (Data Explorer API), one row per
-- observation, with jlac's measure and instrument. FLOW_TYPE C = commitment, D = gross disbursement (paid out,
-- repayments not deducted). US dollars, current prices.
-- @col year: Calendar year
-- @col donor_iso3: ISO3 of the donor country
-- @col donor_agency: Donor agency as the CRS names it (JICA, KOICA, ...); 'unspecified agency' where the response has none
-- @col recipient_iso3: ISO3 of the recipient; NULL for regional codes
-- @col measure: commitment or gross_disbursement
-- @col flow_class: oda (MEASURE 100) or oof (MEASURE 14, other official flows)
-- @col instrument: From FINANCETYPE_CODE: grant (1xx), loan (4xx), equity (5xx), debt_relief (6xx); without it, oda_all_instruments or oof_all_instruments
-- @col sector_code: CRS purpose/sector code
-- @col activity_id: The activity's microdata id (MD_ID)
-- @col project_title: Project title, where given
-- @col amount_usd: Amount, US dollars, current prices
-- @col file: File of the snapshot
-- @col row_number: Line in that file
-- @col vintage: Snapshot vintage
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
FROM raw.oecd_crs_api

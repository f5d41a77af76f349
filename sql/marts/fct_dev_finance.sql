-- Development finance from country donors to recipient countries, one row per donor, agency, recipient, year,
-- instrument, measure, price basis and source. Measures differ and are NEVER to be added together:
-- commitment (amount pledged or signed in the year), gross_disbursement (paid out in the year) and
-- net_disbursement (paid out minus repayments received, can be negative). Sources: OECD DAC2a (net ODA
-- disbursements, current US$), AidData GCDF 2.0 (Chinese commitments by project, nominal US$), AidData GCDF
-- 3.0 (Chinese commitments by flow class, constant 2021 US$), AidData 2.x (commitments, approx. constant 2009
-- US$) and MIDEPLAN-format records (commitments registered by Costa Rica, US$ at the approval year's rate;
-- cancelled projects left out). Multilateral donors are outside this table.
-- @col donor_iso3: ISO3 of the donor country
-- @col donor_agency: Donor agency or lender as the source names it; 'all official agencies' where the source does not split
-- @col recipient_iso3: ISO3 of the recipient country
-- @col year: Year of the commitment or disbursement
-- @col instrument: loan, grant, technical_cooperation, debt_relief, unspecified; for GCDF 3.0 the flow class (oda_like, oof_like, vague_official_finance); for DAC2a 'oda_all_instruments'
-- @col measure: commitment, gross_disbursement or net_disbursement
-- @col amount_usd: Amount, US dollars (not millions), in the price basis given
-- @col price_basis: current (prices of the year) or constant-YYYY
-- @col source: Snapshot source the amount comes from (oecd-dac2a, aiddata-gcdf2-projects, ...)
-- @col vintage: Vintage of that source's snapshot
-- @col n_records: Number of source records summed into the row (projects, cells)
SELECT donor_iso3, donor_agency, recipient_iso3, year, instrument, measure, sum(amount_usd) AS amount_usd,
       price_basis, source, vintage, count(*) AS n_records
FROM (
    SELECT donor_iso3, 'all official agencies' AS donor_agency, recipient_iso3, year,
           'oda_all_instruments' AS instrument, 'net_disbursement' AS measure, net_oda_usd AS amount_usd,
           'current' AS price_basis, 'oecd-dac2a' AS source, vintage
    FROM staging.stg_oecd_dac2a__net_oda
    WHERE donor_iso3 IS NOT NULL AND recipient_iso3 IS NOT NULL
    UNION ALL
    SELECT 'CHN', coalesce(funding_agencies, 'unspecified Chinese institution'), recipient_iso3, commitment_year,
           instrument, 'commitment', amount_usd_nominal, 'current', 'aiddata-gcdf2-projects', vintage
    FROM staging.stg_aiddata_gcdf2_projects__projects
    WHERE recipient_iso3 IS NOT NULL AND amount_usd_nominal IS NOT NULL
    UNION ALL
    SELECT 'CHN', 'all official agencies', recipient_iso3, year, flow_class, 'commitment', amount_usd_2021,
           'constant-2021', 'aiddata-gcdf3-country-year', vintage
    FROM staging.stg_aiddata_gcdf3_country_year__commitments
    WHERE recipient_iso3 IS NOT NULL AND amount_usd_2021 > 0
    UNION ALL
    SELECT donor_iso3, 'all official agencies', recipient_iso3, year, 'unspecified', 'commitment', amount_usd,
           'constant-2009', 'aiddata-v2-donor-recipient-year', vintage
    FROM staging.stg_aiddata_v2_donor_recipient_year__commitments
    UNION ALL
    SELECT cooperant_iso3, coalesce(cooperant_agency, 'unspecified'), 'CRI', year(approval_date), instrument,
           'commitment', amount_usd, 'current', 'mideplan-cooperation', vintage
    FROM staging.stg_mideplan_cooperation__projects
    WHERE cooperant_iso3 IS NOT NULL AND status IS DISTINCT FROM 'cancelled'
)
GROUP BY ALL

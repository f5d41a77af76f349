-- Development finance from country donors to recipient countries, one row per donor, agency, recipient, year,
-- instrument, measure, price basis and source. Measures differ and are NEVER to be added together:
-- commitment (amount pledged or signed in the year), gross_disbursement (paid out in the year) and
-- net_disbursement (paid out minus repayments received, can be negative). Sources: OECD DAC2a (net ODA
-- disbursements, current US$: the mirror's QWIDS files, oecd-dac2a, and the Data Explorer API, oecd-dac2a-api),
-- OECD CRS via the API (oecd-crs-api: commitments and gross disbursements of Japan and Korea by agency, current
-- US$), AidData GCDF 2.0 (Chinese commitments by project, nominal US$), AidData GCDF 3.0 projects (Chinese
-- commitments by project and lender, nominal US$, only rows AidData recommends for aggregates) and country-year
-- sums (by flow class, constant 2021 US$), AidData 2.x (commitments, approx. constant 2009 US$) and
-- MIDEPLAN-format records (commitments registered by Costa Rica, US$ at the approval year's rate; cancelled
-- projects left out). Multilateral donors are outside this table.
-- Overlap and precedence. Each row carries its source; consumers select or group by source and never add
-- sources together. The one flow two sources both hold row by row is DAC2a net ODA: the mirror (oecd-dac2a)
-- wins, and oecd-dac2a-api rows enter only for donor, recipient and year the mirror lacks (years after its
-- last file), so no flow appears twice under the same measure. Other sources overlap as different views of
-- the same money, kept as separate series: China's commitments in GCDF 2.0 projects, GCDF 3.0 projects and
-- GCDF 3.0 country-year sums (GCDF 3.0 revises 2.0; different price bases); Japan's and Korea's commitments
-- in CRS (donor-reported) and MIDEPLAN (recipient-registered); CRS gross and DAC2a net disbursements are
-- different measures.
-- @col donor_iso3: ISO3 of the donor country
-- @col donor_agency: Donor agency or lender as the source names it; 'all official agencies' where the source does not split
-- @col recipient_iso3: ISO3 of the recipient country
-- @col year: Year of the commitment or disbursement
-- @col instrument: loan, grant, technical_cooperation, debt_relief, equity, unspecified; for GCDF 3.0 country-year sums the flow class (oda_like, oof_like, vague_official_finance); for DAC2a 'oda_all_instruments'; for CRS rows without a finance type 'oda_all_instruments' or 'oof_all_instruments'
-- @col measure: commitment, gross_disbursement or net_disbursement
-- @col amount_usd: Amount, US dollars (not millions), in the price basis given
-- @col price_basis: current (prices of the year) or constant-YYYY
-- @col source: Snapshot source the amount comes from (oecd-dac2a, oecd-dac2a-api, oecd-crs-api, aiddata-gcdf2-projects, aiddata-gcdf3-projects, ...)
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
    SELECT a.donor_iso3, 'all official agencies', a.recipient_iso3, a.year, 'oda_all_instruments',
           'net_disbursement', a.net_oda_usd, 'current', 'oecd-dac2a-api', a.vintage
    FROM staging.stg_oecd_dac2a_api__net_oda a
    WHERE a.donor_iso3 IS NOT NULL AND a.recipient_iso3 IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM staging.stg_oecd_dac2a__net_oda m
                      WHERE m.donor_iso3 = a.donor_iso3 AND m.recipient_iso3 = a.recipient_iso3 AND m.year = a.year)
    UNION ALL
    SELECT donor_iso3, donor_agency, recipient_iso3, year, instrument, measure, amount_usd, 'current',
           'oecd-crs-api', vintage
    FROM staging.stg_oecd_crs_api__activities
    WHERE donor_iso3 IS NOT NULL AND recipient_iso3 IS NOT NULL
    UNION ALL
    SELECT 'CHN', coalesce(funding_agencies, 'unspecified Chinese institution'), recipient_iso3, commitment_year,
           instrument, 'commitment', amount_usd_nominal, 'current', 'aiddata-gcdf2-projects', vintage
    FROM staging.stg_aiddata_gcdf2_projects__projects
    WHERE recipient_iso3 IS NOT NULL AND amount_usd_nominal IS NOT NULL
    UNION ALL
    SELECT 'CHN', coalesce(funding_agencies, 'unspecified Chinese institution'), recipient_iso3, commitment_year,
           instrument, 'commitment', amount_usd_nominal, 'current', 'aiddata-gcdf3-projects', vintage
    FROM staging.stg_aiddata_gcdf3_projects__projects
    WHERE recipient_iso3 IS NOT NULL AND amount_usd_nominal IS NOT NULL AND recommended_for_aggregates
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

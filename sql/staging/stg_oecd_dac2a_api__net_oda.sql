-- OECD DAC Table 2a net ODA disbursements fetched from the Data Explorer API (Japan, Korea and all official
-- donors to the CELAC states), one row per recipient, donor and year, in US dollars, current prices. Same
-- measure as staging.stg_oecd_dac2a__net_oda (the mirror's QWIDS files); marts.fct_dev_finance uses these rows
-- only where the mirror has none, so a flow is never counted twice.
-- @col year: Calendar year of the disbursements
-- @col recipient_name: Recipient as the Data Explorer labels it
-- @col recipient_iso3: ISO3 of the recipient
-- @col donor_name: Donor as the Data Explorer labels it ('Official Donors, Total' for ALLD)
-- @col donor_iso3: ISO3 of a donor country; NULL for totals
-- @col net_oda_usd: Net ODA disbursements, US dollars, current prices
-- @col file: File of the snapshot the value comes from
-- @col row_number: Line of the observation in that file
-- @col vintage: Snapshot vintage
SELECT year, recipient_name, recipient_iso3, donor_name, donor_iso3, value_usd_m * 1e6 AS net_oda_usd, file,
       row_number, vintage
FROM raw.oecd_dac2a_api

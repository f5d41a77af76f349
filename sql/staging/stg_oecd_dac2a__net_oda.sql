-- OECD DAC Table 2a net ODA disbursements, one row per recipient, donor and year, in US dollars (the file's
-- US$ millions times 10^6), current prices. Net = gross disbursements minus repayments, so it can be negative.
-- Donors include countries (donor_iso3 set), multilaterals and totals ('Official Donors, Total', ...).
-- @col year: Calendar year of the disbursements
-- @col recipient_name: Recipient as OECD names it
-- @col recipient_iso3: ISO3 of the recipient; NULL for regional and income-group totals
-- @col donor_name: Donor as OECD names it
-- @col donor_iso3: ISO3 of a donor country; NULL for multilaterals, private donors and totals
-- @col net_oda_usd: Net ODA disbursements, US dollars, current prices
-- @col file: File of the snapshot the value comes from
-- @col row_number: Line of the recipient in that file
-- @col vintage: Snapshot vintage
SELECT
    year,
    recipient_name,
    recipient_iso3,
    donor_name,
    donor_iso3,
    value_usd_m * 1e6 AS net_oda_usd,
    file,
    row_number,
    vintage
FROM raw.oecd_dac2a

-- AidData 2.x aid commitments by donor country, recipient country and year (1947-2009 usable), US dollars with an
-- undocumented price basis (AidData 2.x mostly constant 2009 US$; jlac labels it constant-2009, approximately).
-- Multilateral donors and non-country recipients are left out.
-- @col donor_iso3: ISO3 of the donor country
-- @col recipient_iso3: ISO3 of the recipient country
-- @col year: Commitment year
-- @col amount_usd: Commitments, US dollars (approximately constant 2009)
-- @col vintage: Snapshot vintage
SELECT donor AS donor_iso3, recipient AS recipient_iso3, year, amount_usd, vintage
FROM raw.aiddata_v2_donor_recipient_year
WHERE donor_is_country AND regexp_matches(recipient, '^[A-Z]{3}$')

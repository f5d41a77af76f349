-- Figure 3 for any recipient: development finance by donor country and year, one row per series (measure,
-- source and price basis) so that different measures stand side by side and are never summed. US$ millions.
-- @col recipient_iso3: ISO3 of the recipient
-- @col donor_iso3: ISO3 of the donor
-- @col year: Year
-- @col measure: commitment, gross_disbursement or net_disbursement
-- @col source: Source of the series
-- @col price_basis: current or constant-YYYY
-- @col amount_usd_m: Amount, US$ millions (sum over agencies and instruments within the series)
-- @col loans_usd_m: Part of amount_usd_m recorded as loans (NULL where the source has no instrument split)
-- @col n_records: Source records summed
SELECT
    recipient_iso3,
    donor_iso3,
    year,
    measure,
    source,
    price_basis,
    round(sum(amount_usd) / 1e6, 3) AS amount_usd_m,
    CASE WHEN source IN ('aiddata-gcdf2-projects', 'mideplan-cooperation')
         THEN round(sum(amount_usd) FILTER (WHERE instrument = 'loan') / 1e6, 3) END AS loans_usd_m,
    sum(n_records) AS n_records
FROM marts.fct_dev_finance
GROUP BY recipient_iso3, donor_iso3, year, measure, source, price_basis
ORDER BY recipient_iso3, donor_iso3, year, source

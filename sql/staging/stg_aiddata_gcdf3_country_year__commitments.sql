-- AidData GCDF 3.0 Chinese official finance commitments by recipient, year and flow class (long format), US
-- dollars at constant 2021 prices. No lender or instrument breakdown exists at this grain.
-- @col recipient_iso3: ISO3 of the recipient (NULL where jlac's COW code table has no entry)
-- @col cow_code: Correlates of War code of the recipient
-- @col year: Commitment year
-- @col flow_class: oda_like, oof_like or vague_official_finance (AidData's flow classes)
-- @col amount_usd_2021: Sum of commitments (AidData 'Amount'), US dollars, constant 2021
-- @col vintage: Snapshot vintage
SELECT recipient_iso3, cow_code, year, flow_class, amount_usd_2021, vintage
FROM (
    SELECT recipient_iso3, cow_code, year, 'oda_like' AS flow_class, oda_usd_2021 AS amount_usd_2021, vintage
    FROM raw.aiddata_gcdf3_country_year
    UNION ALL
    SELECT recipient_iso3, cow_code, year, 'oof_like', oof_usd_2021, vintage FROM raw.aiddata_gcdf3_country_year
    UNION ALL
    SELECT recipient_iso3, cow_code, year, 'vague_official_finance', vof_usd_2021, vintage
    FROM raw.aiddata_gcdf3_country_year
)

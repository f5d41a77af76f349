-- Every row of GCDF 3.0's country-year sums: fct_dev_finance keeps the adjusted sums above 0 of recipients with an
-- ISO3, while a row whose unadjusted sums are all 0 tells Figure 3 that a year's projects state no amount
SELECT recipient_iso3, cow_code, year, flow_class, amount_usd_2021, face_amount_usd_2021,
       'aiddata-gcdf3-country-year' AS source, vintage
FROM {{ ref('stg_aiddata_gcdf3_country_year__commitments') }}
ORDER BY cow_code, year, flow_class

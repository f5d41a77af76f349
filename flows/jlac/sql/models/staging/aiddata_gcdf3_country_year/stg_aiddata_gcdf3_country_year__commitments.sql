-- AidData's Adjusted Amount, not its Amount: the Amount counts a central bank currency swap line again at each yearly
-- renewal and in full whether drawn or not (Argentina 2019: 22,467 m OOF-like against 1,197 m adjusted; Suriname,
-- Pakistan, Egypt, Mongolia alike), which made sums across years count the same line many times (found by a QA
-- pass). The Amount is kept beside it. Costa Rica's rows (Figure 3) have both equal.
SELECT recipient_iso3, cow_code, year, flow_class, amount_usd_2021, face_amount_usd_2021, vintage
FROM (
    SELECT recipient_iso3, cow_code, year, 'oda_like' AS flow_class, oda_adj_usd_2021 AS amount_usd_2021,
           oda_usd_2021 AS face_amount_usd_2021, vintage
    FROM {{ source('aiddata_gcdf3_country_year', 'aiddata_gcdf3_country_year') }}
    UNION ALL
    SELECT recipient_iso3, cow_code, year, 'oof_like', oof_adj_usd_2021, oof_usd_2021, vintage
    FROM {{ source('aiddata_gcdf3_country_year', 'aiddata_gcdf3_country_year') }}
    UNION ALL
    SELECT recipient_iso3, cow_code, year, 'vague_official_finance', vof_adj_usd_2021, vof_usd_2021, vintage
    FROM {{ source('aiddata_gcdf3_country_year', 'aiddata_gcdf3_country_year') }}
)

SELECT recipient_iso3, cow_code, year, flow_class, amount_usd_2021, vintage
FROM (
    SELECT recipient_iso3, cow_code, year, 'oda_like' AS flow_class, oda_usd_2021 AS amount_usd_2021, vintage
    FROM {{ source('aiddata_gcdf3_country_year', 'aiddata_gcdf3_country_year') }}
    UNION ALL
    SELECT recipient_iso3, cow_code, year, 'oof_like', oof_usd_2021, vintage FROM {{ source('aiddata_gcdf3_country_year', 'aiddata_gcdf3_country_year') }}
    UNION ALL
    SELECT recipient_iso3, cow_code, year, 'vague_official_finance', vof_usd_2021, vintage
    FROM {{ source('aiddata_gcdf3_country_year', 'aiddata_gcdf3_country_year') }}
)

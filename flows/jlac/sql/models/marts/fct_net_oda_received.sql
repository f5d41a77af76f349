-- The net ODA a country receives from all official donors, DAC2a's own total row: fct_dev_finance holds country
-- donors only, and its donors do not add up to this (multilaterals and non-DAC reporters are in the total)
SELECT recipient_iso3, year, sum(net_oda_usd) AS net_oda_usd, 'oecd-dac2a' AS source, vintage,
       count(*) AS n_records
FROM {{ ref('stg_oecd_dac2a__net_oda') }}
WHERE donor_name = 'Official Donors, Total' AND recipient_iso3 IS NOT NULL
GROUP BY ALL
ORDER BY recipient_iso3, year, source

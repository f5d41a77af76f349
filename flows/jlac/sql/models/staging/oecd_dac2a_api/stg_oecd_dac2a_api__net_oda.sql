SELECT year, recipient_name, recipient_iso3, donor_name, donor_iso3, value_usd_m * 1e6 AS net_oda_usd, file,
       row_number, vintage
FROM {{ source('oecd_dac2a_api', 'oecd_dac2a_api') }}

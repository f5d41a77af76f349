SELECT donor AS donor_iso3, recipient AS recipient_iso3, year, amount_usd, vintage
FROM {{ source('aiddata_v2_donor_recipient_year', 'aiddata_v2_donor_recipient_year') }}
WHERE donor_is_country AND regexp_matches(recipient, '^[A-Z]{3}$')

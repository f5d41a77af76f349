SELECT project_id, title, cooperant_iso3, cooperant_country, cooperant_agency, modality, instrument, sector,
       approval_date, amount, currency, units_per_usd, amount_usd, executing_institution, status, file, row_number,
       vintage
FROM {{ source('mideplan_cooperation', 'mideplan_cooperation') }}
WHERE problem IS NULL

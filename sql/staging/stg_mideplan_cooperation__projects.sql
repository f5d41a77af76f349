-- Costa Rica's cooperation projects as MIDEPLAN registers them (jlac's input format), valid rows only: rows
-- with a problem fail validation and are kept out. Amounts in US dollars at the approval year's average rate.
-- @col project_id: MIDEPLAN project id
-- @col title: Project title
-- @col cooperant_iso3: ISO3 of the cooperant country (NULL for EU institutions and multilaterals)
-- @col cooperant_country: Cooperant as written
-- @col cooperant_agency: Cooperant agency (JICA, China Eximbank, KOICA, ...)
-- @col modality: non_reimbursable or reimbursable
-- @col instrument: grant, technical_cooperation or loan
-- @col sector: Sector
-- @col approval_date: Approval date
-- @col amount: Amount in the original currency
-- @col currency: ISO 4217 code of the original currency
-- @col units_per_usd: Rate used, currency units per US$ (annual average of the approval year)
-- @col amount_usd: Amount, US dollars
-- @col executing_institution: Costa Rican executing institution
-- @col status: approved, in_execution, completed or cancelled
-- @col file: File of the snapshot
-- @col row_number: Row in that file
-- @col vintage: Snapshot vintage
SELECT project_id, title, cooperant_iso3, cooperant_country, cooperant_agency, modality, instrument, sector,
       approval_date, amount, currency, units_per_usd, amount_usd, executing_institution, status, file, row_number,
       vintage
FROM raw.mideplan_cooperation
WHERE problem IS NULL

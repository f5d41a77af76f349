-- Japan MOF customs monthly trade (flat CSVs of customs.go.jp), newest vintage, with the partner mapped to ISO3
-- and the value converted to US dollars. Conversion: each MONTH's thousand yen x 1000 divided by that month's
-- average yen per US dollar (FRED EXJPUS, staging.stg_fred_exjpus__rates); value_usd is NULL where FRED has
-- no rate for the month yet. Summing converted months is how monthly trade in a floating currency adds up to
-- a dollar year (IMF's practice for monthly reporters), closer than one annual average rate. The world is
-- the Total columns of d41ma.csv only (a region file's Total is its region); a partner found in two files
-- is taken once, from the first file.
-- @col file: CSV file the row comes from
-- @col month: First day of the month
-- @col year: Calendar year of the month
-- @col flow: export or import, as Japan reports it (exports FOB, imports CIF)
-- @col partner_code: Total (the world) or MOF's 3-digit country code
-- @col partner_iso3: ISO3 of the partner; NULL for the world total and for areas without a country
-- @col partner_aggregate: 'world' for the Total columns of d41ma.csv, else NULL
-- @col value_jpy: Value in yen (thousand yen x 1000)
-- @col jpy_per_usd: Yen per US dollar, average of the month (FRED EXJPUS)
-- @col value_usd: value_jpy / jpy_per_usd, US dollars; NULL without a rate
-- @col vintage: Snapshot vintage
SELECT
    r.file,
    r.month,
    year(r.month) AS year,
    r.flow,
    r.partner_code,
    c.iso3 AS partner_iso3,
    CASE WHEN r.partner_code = 'Total' AND r.file = 'd41ma.csv' THEN 'world' END AS partner_aggregate,
    r.value_jpy_thousand * 1000 AS value_jpy,
    fx.jpy_per_usd,
    r.value_jpy_thousand * 1000 / fx.jpy_per_usd AS value_usd,
    r.vintage
FROM raw.mof_customs AS r
LEFT JOIN staging.stg_japan_customs_country_codes__countries AS c ON c.code = r.partner_code
LEFT JOIN staging.stg_fred_exjpus__rates AS fx ON fx.month = r.month
WHERE r.vintage = (SELECT max(vintage) FROM raw.mof_customs)
  AND (r.partner_code <> 'Total' OR r.file = 'd41ma.csv')
QUALIFY row_number() OVER (PARTITION BY r.month, r.flow, r.partner_code ORDER BY r.file) = 1

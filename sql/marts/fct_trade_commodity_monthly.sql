-- Japan's trade by HS 9-digit line, partner and month, as MOF reports it (exports FOB, imports CIF): the long
-- monthly fact of MOF's commodity-by-country table. Yen are converted to US dollars with the month's average
-- rate (FRED EXJPUS); value_usd is NULL where FRED has no rate for the month yet. Quantities keep MOF's units.
-- Rows from a synthetic (benchmark) snapshot carry is_synthetic = true and are never used by a figure.
-- A view over Parquet partitions (millions of rows): filter on year, flow, partner or hs9 to read less.
-- @materialized: view
-- @col reporter_iso3: Reporting country: JPN
-- @col partner_iso3: Partner ISO3; NULL for MOF codes without a country (e.g. unknown destinations)
-- @col partner_code: MOF 3-digit partner code
-- @col flow: export (FOB) or import (CIF)
-- @col hs9: HS 9-digit statistical code (Japan's tariff schedule)
-- @col year: Calendar year
-- @col month: Month, 1-12
-- @col value_jpy: Value in yen (MOF's thousand yen x 1000)
-- @col value_usd: value_jpy divided by the month's yen per US dollar; NULL without a rate
-- @col jpy_per_usd: Yen per US dollar, monthly average (FRED EXJPUS)
-- @col quantity1: Quantity in unit1
-- @col unit1: Unit of quantity1 (MOF codes such as NO, KG, DZ), NULL when none
-- @col quantity2: Quantity in unit2
-- @col unit2: Unit of quantity2, NULL when none
-- @col is_synthetic: True for benchmark data from a snapshot marked synthetic
-- @col source: mof-hs9-country
-- @col vintage: Snapshot vintage
SELECT 'JPN' AS reporter_iso3, c.iso3 AS partner_iso3, m.country_code AS partner_code, m.flow, m.hs9, m.year,
       m.month, m.value_jpy_thousand * 1000 AS value_jpy,
       m.value_jpy_thousand * 1000 / fx.jpy_per_usd AS value_usd, fx.jpy_per_usd,
       m.quantity1, m.unit1, m.quantity2, m.unit2, m.is_synthetic, 'mof-hs9-country' AS source, m.vintage
FROM staging.stg_mof_hs9_country__monthly AS m
LEFT JOIN staging.stg_japan_customs_country_codes__countries AS c ON c.code = m.country_code
LEFT JOIN staging.stg_fred_exjpus__rates AS fx ON fx.month = make_date(m.year, m.month, 1)

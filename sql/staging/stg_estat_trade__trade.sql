-- Japan's annual trade by partner country from MOF's tables on the e-Stat API, newest vintage, in US dollars.
-- Area codes are '50' + MOF's 3-digit country code, mapped to ISO3 through
-- staging.stg_japan_customs_country_codes__countries; MOF codes sharing one ISO3 (e.g. Spain, Canary Islands,
-- Ceuta and Melilla) are summed. Conversion: the year's thousand yen x 1000 divided by the ANNUAL average yen
-- per US dollar (marts.fct_fx_annual, the mean of FRED's twelve monthly EXJPUS averages): the tables give one
-- value per year, so no monthly rate can be applied; years without twelve FRED months are left out. The flow
-- comes from the table's title (輸出 exports / 輸入 imports); marks such as '-' (no trade) are left out.
-- @col reporter_iso3: Always JPN
-- @col partner_iso3: Partner ISO3
-- @col flow: export (FOB) or import (CIF), as Japan reports it
-- @col year: Calendar year
-- @col value_jpy: Value in yen (thousand yen x 1000)
-- @col jpy_per_usd: Annual average yen per US dollar used
-- @col value_usd: value_jpy / jpy_per_usd, US dollars
-- @col mof_codes: MOF country codes summed into the row, comma-separated
-- @col source: Always 'estat-trade'
-- @col vintage: Snapshot vintage
SELECT
    'JPN' AS reporter_iso3,
    c.iso3 AS partner_iso3,
    r.flow,
    r.year,
    sum(r.value_jpy_thousand) * 1000 AS value_jpy,
    fx.jpy_per_usd,
    sum(r.value_jpy_thousand) * 1000 / fx.jpy_per_usd AS value_usd,
    string_agg(DISTINCT r.mof_country_code, ',' ORDER BY r.mof_country_code) AS mof_codes,
    'estat-trade' AS source,
    r.vintage
FROM raw.estat_trade AS r
JOIN staging.stg_japan_customs_country_codes__countries AS c ON c.estat_area_code = r.area_code
JOIN marts.fct_fx_annual AS fx ON fx.year = r.year
WHERE r.vintage = (SELECT max(vintage) FROM raw.estat_trade)
  AND r.time_code LIKE '____000000'  -- annual time codes (YYYY000000)
  AND r.value_jpy_thousand IS NOT NULL
  AND c.iso3 IS NOT NULL
GROUP BY c.iso3, r.flow, r.year, fx.jpy_per_usd, r.vintage

-- Japan's yearly trade with its 30 largest partners from MOF's by-country files (newest vintage), in yen and,
-- where FRED gives a full-year rate, in US dollars. Conversion: thousand yen x 1000 divided by the ANNUAL
-- average yen per dollar of marts.fct_fx_annual (the mean of FRED's twelve monthly EXJPUS averages, as for the
-- e-Stat tables). A year without all twelve FRED months keeps value_usd NULL and says why in value_usd_note;
-- it fills in, with nothing else changing, once a FRED vintage covering the year is fetched.
-- @col reporter_iso3: Always JPN
-- @col partner_iso3: Partner ISO3 (staging.country_name_map, names tagged mof)
-- @col flow: export (FOB) or import (CIF), as Japan reports it
-- @col year: Calendar year
-- @col value_jpy: Value in yen (thousand yen x 1000)
-- @col jpy_per_usd: Annual average yen per US dollar used; NULL when FRED has fewer than 12 months of the year
-- @col value_usd: value_jpy / jpy_per_usd, US dollars; NULL without a full-year rate
-- @col value_usd_note: Why value_usd is NULL (FRED months available for the year); NULL when converted
-- @col is_provisional: True when MOF's final figures for the year were not out at the snapshot's vintage
-- @col source: Always 'mof-trade-by-country-top30'
-- @col vintage: Snapshot vintage
WITH fred AS (
    SELECT year(month) AS year, count(*) AS months, max(vintage) AS vintage, max(month) AS last_month
    FROM staging.stg_fred_exjpus__rates
    GROUP BY year(month)
), fred_latest AS (
    SELECT max(vintage) AS vintage, max(month) AS last_month FROM staging.stg_fred_exjpus__rates
)
SELECT
    'JPN' AS reporter_iso3,
    m.iso3 AS partner_iso3,
    r.flow,
    r.year,
    r.value_jpy_thousand * 1000 AS value_jpy,
    fx.jpy_per_usd,
    r.value_jpy_thousand * 1000 / fx.jpy_per_usd AS value_usd,
    CASE WHEN fx.jpy_per_usd IS NULL THEN
        'no full-year yen/dollar rate for ' || r.year || ': FRED EXJPUS has ' || coalesce(f.months, 0)
        || ' of 12 months (fred-exjpus vintage ' || coalesce(l.vintage, 'none') || ', last month '
        || coalesce(strftime(l.last_month, '%Y-%m'), 'none') || '); kept in yen until a FRED release covers the year'
    END AS value_usd_note,
    r.is_provisional,
    'mof-trade-by-country-top30' AS source,
    r.vintage
FROM raw.mof_trade_by_country_top30 AS r
JOIN staging.country_name_map AS m ON m.source = 'mof' AND m.name = r.partner_name
LEFT JOIN marts.fct_fx_annual AS fx ON fx.year = r.year
LEFT JOIN fred AS f ON f.year = r.year
CROSS JOIN fred_latest AS l
WHERE r.vintage = (SELECT max(vintage) FROM raw.mof_trade_by_country_top30)
  AND m.iso3 IS NOT NULL
ORDER BY partner_iso3, flow, year

WITH fred AS (
    SELECT year(month) AS year, count(*) AS months, max(vintage) AS vintage, max(month) AS last_month
    FROM {{ ref('stg_fred_exjpus__rates') }}
    GROUP BY year(month)
), fred_latest AS (
    SELECT max(vintage) AS vintage, max(month) AS last_month FROM {{ ref('stg_fred_exjpus__rates') }}
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
FROM {{ source('mof_trade_by_country_top30', 'mof_trade_by_country_top30') }} AS r
JOIN {{ source('staging', 'country_name_map') }} AS m ON m.source = 'mof' AND m.name = r.partner_name
LEFT JOIN {{ ref('stg_fred_exjpus__annual') }} AS fx ON fx.year = r.year
LEFT JOIN fred AS f ON f.year = r.year
CROSS JOIN fred_latest AS l
WHERE m.iso3 IS NOT NULL
ORDER BY partner_iso3, flow, year

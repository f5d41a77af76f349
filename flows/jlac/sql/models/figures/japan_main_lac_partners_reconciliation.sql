WITH other AS (
    SELECT u.year, u.partner_iso3, u.flow, u.source, u.vintage, u.value_usd,
           coalesce(u.value_jpy, u.value_usd * fx.jpy_per_usd) AS value_jpy
    FROM {{ ref('int_trade_annual_unioned') }} AS u
    LEFT JOIN {{ ref('fct_fx_annual') }} AS fx ON fx.year = u.year
    WHERE u.reporter_iso3 = 'JPN' AND u.partner_iso3 IN ('MEX', 'BRA', 'CHL') AND u.year >= 1995
)
SELECT
    f.year, f.partner_iso3, f.flow,
    f.source AS shown_source, f.vintage AS shown_vintage, f.value_usd_bn AS shown_value_usd_bn,
    f.value_jpy_bn AS shown_value_jpy_bn,
    o.source AS other_source, o.vintage AS other_vintage,
    round(o.value_usd / 1e9, 3) AS other_value_usd_bn,
    round(o.value_jpy / 1e9, 3) AS other_value_jpy_bn,
    round(CASE WHEN o.value_usd IS NOT NULL AND f.value_usd_bn IS NOT NULL
               THEN 100 * (o.value_usd / 1e9 - f.value_usd_bn) / nullif(f.value_usd_bn, 0)
               ELSE 100 * (o.value_jpy / 1e9 - f.value_jpy_bn) / nullif(f.value_jpy_bn, 0) END, 2) AS difference_pct
FROM {{ ref('japan_main_lac_partners') }} AS f
JOIN other AS o ON o.year = f.year AND o.partner_iso3 = f.partner_iso3 AND o.flow = f.flow
    AND NOT (o.source = f.source AND o.vintage = f.vintage)
ORDER BY f.partner_iso3, f.flow, f.year, o.source, o.vintage

WITH chosen AS (
    SELECT *, row_number() OVER (
        PARTITION BY partner_iso3, flow, year
        -- the IMF series to 2020 and MOF's from 2021, each in the warehouse's precedence order; as there, a final
        -- figure before another source's estimate (an IMF estimate of a year MOF has final figures for is not shown)
        ORDER BY coalesce(is_estimate, false), CASE WHEN (year <= 2020) = (source IN ('imf-imts', 'imf-dots')) THEN 0 ELSE 1 END, source_rank
    ) AS pick
    FROM {{ ref('int_trade_annual_unioned') }}
    WHERE reporter_iso3 = 'JPN' AND partner_iso3 IN ('MEX', 'BRA', 'CHL') AND year >= 1995
)
SELECT
    c.year,
    c.partner_iso3,
    c.flow,
    round(coalesce(c.value_jpy, c.value_usd * fx.jpy_per_usd) / 1e9, 3) AS value_jpy_bn,
    round(c.value_usd / 1e9, 3) AS value_usd_bn,
    c.source,
    c.is_provisional,
    c.vintage,
    -- 3 decimals as the other value columns and docs/report-site.md (109.773); the CSV read 109.77299999999998
    -- (found by a QA pass). The conversions above use the unrounded average
    round(fx.jpy_per_usd, 3) AS jpy_per_usd,
    c.value_usd_note
FROM chosen AS c
LEFT JOIN {{ ref('fct_fx_annual') }} AS fx ON fx.year = c.year
WHERE c.pick = 1
ORDER BY c.partner_iso3, c.flow, c.year

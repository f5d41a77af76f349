WITH chained AS (
    SELECT
        source, reporter_iso3, partner_iso3, partner_aggregate, flow, year,
        lag(vintage) OVER w AS old_vintage,
        lag(value_usd) OVER w AS old_value,
        vintage AS new_vintage,
        value_usd AS new_value
    FROM {{ ref('stg_imf_imts__trade_vintages') }}
    WINDOW w AS (PARTITION BY source, reporter_iso3, partner_iso3, partner_aggregate, flow, year ORDER BY vintage)
)
SELECT
    source, reporter_iso3, partner_iso3, partner_aggregate, flow, year,
    old_vintage, old_value, new_vintage, new_value,
    round(100 * (new_value - old_value) / nullif(old_value, 0), 4) AS change_pct,
    source AS old_source, source AS new_source, 'USD' AS unit, 'vintages' AS recorded_by,
    NULL::VARCHAR AS published_run, NULL::TIMESTAMPTZ AS published_at
FROM chained
WHERE old_vintage IS NOT NULL AND new_value IS DISTINCT FROM old_value
ORDER BY new_vintage DESC, reporter_iso3, partner_iso3, partner_aggregate, flow, year

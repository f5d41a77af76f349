SELECT
    *,
    row_number() OVER (
        PARTITION BY reporter_iso3, coalesce(partner_iso3, partner_aggregate), flow, year
        ORDER BY
            -- a final figure beats another source's estimate (IMF marks its estimates): Japan's customs value for a
            -- year is not replaced by an IMF estimate of it; among finals (or among estimates), the sources' order
            coalesce(is_estimate, false),
            CASE source
                WHEN 'imf-imts' THEN 1 WHEN 'imf-dots' THEN 2 WHEN 'estat-trade' THEN 3
                WHEN 'mof-customs' THEN 4
                WHEN 'mof-trade-by-country-top30' THEN 5 WHEN 'comtrade-v1' THEN 6 ELSE 9
            END,
            vintage DESC
    ) AS source_rank
FROM (
    SELECT reporter_iso3, partner_iso3, partner_aggregate, flow, year, value_usd, is_estimate, source, vintage,
           NULL::DOUBLE AS value_jpy, false AS is_provisional, NULL::VARCHAR AS value_usd_note
    FROM {{ ref('stg_imf_dots__trade') }}
    WHERE reporter_iso3 IS NOT NULL
    UNION ALL
    -- The live IMTS releases: each value from the newest fetched vintage that has it (stg_imf_imts__trade; older
    -- vintages feed marts.trade_revisions).
    SELECT reporter_iso3, partner_iso3, partner_aggregate, flow, year, value_usd, is_estimate, source, vintage,
           NULL, false, NULL
    FROM {{ ref('stg_imf_imts__trade') }}
    WHERE reporter_iso3 IS NOT NULL
    UNION ALL
    -- Japan's tables on e-Stat: Japan as reporter, country partners only.
    SELECT reporter_iso3, partner_iso3, NULL::VARCHAR, flow, year, value_usd, false, source, vintage,
           value_jpy, false, NULL
    FROM {{ ref('stg_estat_trade__trade') }}
    UNION ALL
    -- MOF's monthly CSVs summed to complete years (twelve months, each with a FRED rate), countries and world.
    SELECT 'JPN', partner_iso3, partner_aggregate, flow, year, sum(value_usd), false, 'mof-customs', max(vintage),
           sum(value_jpy), false, NULL
    FROM {{ ref('stg_mof_customs__monthly') }}
    WHERE partner_iso3 IS NOT NULL OR partner_aggregate IS NOT NULL
    GROUP BY partner_iso3, partner_aggregate, flow, year
    HAVING count(DISTINCT month) = 12 AND count(value_usd) = count(*)
    UNION ALL
    -- MOF's yearly files for Japan's 30 largest partners (yen; USD only for years with a full-year FRED rate).
    SELECT reporter_iso3, partner_iso3, NULL::VARCHAR, flow, year, value_usd, false, source, vintage,
           value_jpy, is_provisional, value_usd_note
    FROM {{ ref('stg_mof_trade_by_country_top30__trade') }}
    UNION ALL
    SELECT reporter_iso3, partner_iso3, partner_aggregate, flow, year, value_usd, is_estimate, source, vintage,
           NULL, false, NULL
    FROM {{ ref('stg_comtrade_v1__trade') }}
)

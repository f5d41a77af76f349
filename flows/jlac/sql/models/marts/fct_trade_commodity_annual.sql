SELECT reporter_iso3, partner_iso3, flow, year, hs_chapter, value_usd, net_weight_kg,
       'comtrade-classic-hs27-hs44' AS source, vintage
FROM {{ ref('stg_comtrade_classic_hs27_hs44__trade') }}
WHERE flow IN ('import', 'export') AND reporter_iso3 IS NOT NULL AND partner_iso3 IS NOT NULL
ORDER BY reporter_iso3, partner_iso3, flow, year, hs_chapter

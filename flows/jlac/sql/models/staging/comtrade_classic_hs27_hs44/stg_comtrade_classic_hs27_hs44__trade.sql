SELECT
    reporter_iso3,
    reporter_name,
    partner_iso3,
    partner_name,
    CASE trade_flow_code WHEN 1 THEN 'import' WHEN 2 THEN 'export' WHEN 3 THEN 're_export' WHEN 4 THEN 're_import'
    END AS flow,
    year,
    commodity_code AS hs_chapter,
    classification AS hs_classification,
    trade_value_usd AS value_usd,
    nullif(netweight_kg, 0) AS net_weight_kg,
    coalesce(flag <> '0', false) AS is_estimate,
    file,
    vintage
FROM {{ source('comtrade_classic_hs27_hs44', 'comtrade_classic_hs27_hs44') }}
